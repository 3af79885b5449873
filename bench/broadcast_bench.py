"""Broadcast benchmark: pacing, interactive latency, faults, SIGKILL and resume.

Run: python bench/broadcast_bench.py [--recipients N] [--quick] [--phases rate,faults,kill]

Every run uses the real `ntm-bot run` in a subprocess (``python -m bot run --config``)
against the fake Bot API server of tests/fake_botapi.py, on a fresh temporary SQLite
database seeded with the real communes and N linked cadres of TP. Hồ Chí Minh
(Telegram ids 100000 + i, subscribed), and one broadcast to everybody created with
`broadcasts.create_broadcast` before the bot starts.

1. rate: N recipients (default 10,000) at the default 25 messages/s. While the
   broadcast runs, a user who is not a recipient asks a question every 0.5 s; the
   latency is the time from pushing the update to the bot's first sendMessage to that
   chat arriving at the server. Achieved rate = recipients / (last announcement -
   first announcement), as the server saw them.
2. faults: 2,000 recipients at 200/s (kept short on purpose): 5% have blocked the bot
   (403 forever), 20 recipients get one to three 502s each before their message goes
   through, and one 429 with retry_after=2 is injected a quarter of the way in.
3. kill: 2,000 recipients at 100/s, three runs; each SIGKILLs the bot at a seeded random
   point between 10% and 90% of the messages, starts a new bot on the same database
   and waits for the broadcast to be `done`; then counts duplicates and misses.

`--quick` makes every run 500 recipients (a smoke run of about a minute); `--recipients`
sets the size of the rate run and caps the others. Every wait is bounded: a run that
stalls stops with a message saying what it was waiting for.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import itertools
import math
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.fake_botapi when run as a script
# Loopback must never go through a proxy the machine may have configured.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from bot import broadcasts  # noqa: E402
from bot.broadcasts import Audience  # noqa: E402
from bot.db import Database  # noqa: E402
from tests.fake_botapi import ApiCall, FakeBotApi  # noqa: E402

SEED = 20261126
KNOWLEDGE = ROOT / "knowledge"
HCMC = 79
CHAT_BASE = 100_000  # recipient i has Telegram id CHAT_BASE + i
ASKER_BASE = 5_000_000  # question askers: never recipients
ASKERS = 20
MARKER = "Thông báo bench"
TEXT = (
    f"📢 <b>{MARKER}</b>: lớp bồi dưỡng kiến thức xây dựng nông thôn mới 2026-2030 "
    "khai giảng ngày 15/12/2026 tại Trường Chính trị TP. Hồ Chí Minh."
)
QUESTIONS = (
    "tiêu chí 18 là gì",
    "tieu chi 18 la gi",
    "hồ sơ đề nghị công nhận xã nông thôn mới",
    "xã nông thôn mới nâng cao cần những gì",
    "tiêu chuẩn công chức xã",
    "thời gian đào tạo lý luận chính trị",
    "tc 18 gồm những chỉ tiêu nào",
    "xa ntm kieu mau can gi",
)


class BenchTimeout(Exception):
    pass


# --- setup ----------------------------------------------------------------------------


def prepare(path: Path, n: int) -> tuple[int, list[int]]:
    """A fresh database with n linked cadres and one broadcast to all; (id, chat ids)."""
    database = Database(path)
    try:
        codes = database.call(
            lambda db: [
                c
                for (c,) in db.execute(
                    "SELECT code FROM communes WHERE province_code = ? ORDER BY code", [HCMC]
                )
            ]
        )
        rows = [
            {
                "phone": f"+849{i:08d}",
                "full_name": f"Cán bộ thử {i}",
                "position": "Công chức Văn hóa - Xã hội",
                "commune_code": codes[i % len(codes)],
                "meets_standard": i % 2,
                "telegram_user_id": CHAT_BASE + i,
                "subscribed": 1,
            }
            for i in range(n)
        ]

        def insert(db) -> None:
            with db.conn:
                db["cadres"].insert_all(rows, batch_size=1000)

        database.call(insert)
        broadcast_id, total = database.call(
            broadcasts.create_broadcast, TEXT, Audience("all"), dt.datetime.now(dt.UTC)
        )
    finally:
        database.close()
    if total != n:
        raise RuntimeError(f"the broadcast has {total} recipients, expected {n}")
    return broadcast_id, [CHAT_BASE + i for i in range(n)]


@dataclass
class BotRun:
    process: subprocess.Popen
    log: Path
    started: float


class Bots:
    """Starts `ntm-bot run` processes and makes sure every one of them is stopped."""

    def __init__(self, api: FakeBotApi, tmp: Path, database: Path, rate: float) -> None:
        self.config = tmp / "config.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "telegram": {
                        "base_url": api.base_url,
                        "base_file_url": api.base_file_url,
                        "rate_limiter": False,
                    },
                    "database": str(database),
                    "knowledge_dir": str(KNOWLEDGE),
                    "broadcast": {"rate_per_second": rate, "poll_seconds": 0.2},
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
        self.token = api.token
        self.tmp = tmp
        self.runs: list[BotRun] = []

    def start(self) -> BotRun:
        log = self.tmp / f"bot-{len(self.runs) + 1}.log"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                env={**os.environ, "NTM_BOT_TOKEN": self.token},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
        run = BotRun(process, log, time.monotonic())
        self.runs.append(run)
        return run

    def check_alive(self, run: BotRun) -> None:
        if run.process.poll() is not None:
            raise RuntimeError(
                f"ntm-bot run exited with code {run.process.returncode}:\n{tail(run.log)}"
            )

    def stop_all(self) -> None:
        for run in self.runs:
            if run.process.poll() is None:
                run.process.send_signal(signal.SIGINT)
                try:
                    run.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    run.process.kill()
                    run.process.wait(timeout=10)

    def problems(self) -> list[str]:
        """ERROR/Traceback lines the bots logged (SIGKILLed runs included)."""
        found = []
        for run in self.runs:
            for line in run.log.read_text(encoding="utf-8", errors="replace").splitlines():
                if " ERROR " in line or line.startswith("Traceback"):
                    found.append(f"{run.log.name}: {line[:200]}")
        return found


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def environment(n: int, rate: float) -> Iterator[tuple[FakeBotApi, Bots, Path, int, list[int]]]:
    """Temp dir, database with n recipients and a broadcast, fake server, bot launcher."""
    with tempfile.TemporaryDirectory(prefix="ntm-broadcast-bench-") as name:
        tmp = Path(name)
        database = tmp / "ntm.sqlite3"
        broadcast_id, chats = prepare(database, n)
        with FakeBotApi() as api:
            bots = Bots(api, tmp, database, rate)
            try:
                yield api, bots, database, broadcast_id, chats
            except BaseException:
                for run in bots.runs:
                    print(f"--- last lines of {run.log.name}:\n{tail(run.log)}", file=sys.stderr)
                raise
            finally:
                bots.stop_all()


# --- observing ------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step=0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchTimeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def chat_of(call: ApiCall) -> int | None:
    try:
        return int(call.params.get("chat_id"))
    except (TypeError, ValueError):
        return None


def announcements(api: FakeBotApi, wanted: set[int]) -> list[ApiCall]:
    """Successful announcement sendMessage calls, in arrival order."""
    return api.find_calls(
        "sendMessage",
        lambda c: c.result is not None and chat_of(c) in wanted and MARKER in c.params["text"],
    )


def status(database: Path, broadcast_id: int) -> str | None:
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        row = conn.execute("SELECT status FROM broadcasts WHERE id = ?", [broadcast_id]).fetchone()
    return row[0] if row else None


def query(database: Path, sql: str, params=()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        return conn.execute(sql, params).fetchall()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def sending_budget(n: int, rate: float) -> float:
    return n / rate * 1.5 + 60


# --- 1. rate and interactive latency --------------------------------------------------


@dataclass
class RateResult:
    recipients: int
    configured: float
    achieved: float
    span: float
    total: float
    max_gap: float
    questions: int
    answered: int
    median_ms: float
    p99_ms: float
    max_ms: float
    duplicates: int
    missed: int
    problems: list[str] = field(default_factory=list)

    @property
    def deviation(self) -> float:
        return (self.achieved - self.configured) / self.configured * 100


def rate_run(n: int, rate: float = 25.0, every: float = 0.5) -> RateResult:
    print(f"\n[1] rate and interactive latency: {n} recipients at {rate:g}/s", flush=True)
    with environment(n, rate) as (api, bots, database, broadcast_id, chats):
        wanted = set(chats)
        run = bots.start()
        wait_until(
            lambda: bots.check_alive(run) or bool(announcements(api, wanted)),
            60,
            "the first announcement",
        )
        asked: list[tuple[int, int, float]] = []  # (chat, call index before the push, time)
        deadline = time.monotonic() + sending_budget(n, rate)
        next_at = time.monotonic()
        report_at = next_at + 30
        while status(database, broadcast_id) != "done":
            bots.check_alive(run)
            now = time.monotonic()
            if now > deadline:
                raise BenchTimeout(
                    f"the broadcast was not done after {deadline - run.started:.0f} s"
                )
            if now >= report_at:
                print(f"    {len(announcements(api, wanted))}/{n} sent", flush=True)
                report_at += 30
            k = len(asked)
            chat = ASKER_BASE + k % ASKERS
            since = api.mark()
            pushed = time.monotonic()
            api.push_message(chat, QUESTIONS[k % len(QUESTIONS)])
            asked.append((chat, since, pushed))
            next_at += every
            time.sleep(max(0.0, next_at - time.monotonic()))
        done = time.monotonic()
        time.sleep(3)  # let the last questions be answered
        bots.stop_all()
        sent = announcements(api, wanted)
        latencies = reply_latencies(api, asked)
        problems = bots.problems()
    received = Counter(chat_of(c) for c in sent)
    times = [c.time for c in sent]
    span = times[-1] - times[0]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    answered = [x for x in latencies if x is not None]
    result = RateResult(
        recipients=n,
        configured=rate,
        achieved=n / span,
        span=span,
        total=done - run.started,
        max_gap=max(gaps, default=0.0),
        questions=len(asked),
        answered=len(answered),
        median_ms=statistics.median(answered) * 1000 if answered else float("nan"),
        p99_ms=percentile(answered, 99) * 1000 if answered else float("nan"),
        max_ms=max(answered) * 1000 if answered else float("nan"),
        duplicates=sum(v - 1 for v in received.values()),
        missed=len(wanted - set(received)),
        problems=problems,
    )
    print(
        f"    sent {len(sent)} announcements in {span:.1f} s (first to last):"
        f" {result.achieved:.2f}/s vs {rate:g}/s configured ({result.deviation:+.2f}%);"
        f" longest gap {result.max_gap * 1000:.0f} ms"
    )
    print(
        f"    total {result.total:.1f} s from starting the bot to status 'done';"
        f" duplicates {result.duplicates}, missed {result.missed}"
    )
    print(
        f"    {len(asked)} questions during the broadcast, {len(answered)} answered:"
        f" median {result.median_ms:.0f} ms, p99 {result.p99_ms:.0f} ms,"
        f" max {result.max_ms:.0f} ms"
    )
    report_problems(problems)
    return result


def reply_latencies(api: FakeBotApi, asked: list[tuple[int, int, float]]) -> list[float | None]:
    """For each question: seconds from the push to the first reply to that chat."""
    askers = {chat for chat, _, _ in asked}
    replies: dict[int, list[tuple[int, float]]] = {chat: [] for chat in askers}
    for index, call in enumerate(api.find_calls()):
        if call.method.lower() == "sendmessage" and call.result is not None:
            chat = chat_of(call)
            if chat in replies:
                replies[chat].append((index, call.time))
    latencies: list[float | None] = []
    for chat, since, pushed in asked:
        found = replies[chat]
        at = bisect.bisect_left(found, (since, 0.0))
        latencies.append(found[at][1] - pushed if at < len(found) else None)
    return latencies


def report_problems(problems: list[str]) -> None:
    if problems:
        print(f"    the bot logged {len(problems)} error line(s), first ones:")
        for line in problems[:5]:
            print(f"      {line}")


# --- 2. faults ------------------------------------------------------------------------


@dataclass
class FaultResult:
    recipients: int
    rate: float
    blocked: int
    server_errors: int
    exactly_once: bool
    wrong_counts: int
    blocked_received: int
    unsubscribed_ok: bool
    counts: dict[str, int]
    pause: float | None
    elapsed: float
    problems: list[str] = field(default_factory=list)

    @property
    def counts_add_up(self) -> bool:
        c = self.counts
        return c.get("sent", 0) + c.get("blocked", 0) + c.get("failed", 0) == self.recipients


def fault_run(n: int, rate: float = 200.0) -> FaultResult:
    print(
        f"\n[2] faults: {n} recipients at {rate:g}/s (a faster rate than production,"
        " to keep the run short)",
        flush=True,
    )
    rng = random.Random(SEED)
    with environment(n, rate) as (api, bots, database, broadcast_id, chats):
        blocked = set(rng.sample(chats, n // 20))
        for chat in sorted(blocked):
            api.fail(
                "sendMessage",
                403,
                description="Forbidden: bot was blocked by the user",
                chat_id=chat,
                count=None,
            )
        flaky = rng.sample(sorted(set(chats) - blocked), 20)
        for i, chat in enumerate(flaky):  # 1, 2 or 3 errors before the message goes through
            api.fail("sendMessage", 502, chat_id=chat, count=1 + i % 3)
        wanted = set(chats)
        run = bots.start()
        budget = sending_budget(n, rate) + 30
        wait_until(
            lambda: bots.check_alive(run) or len(announcements(api, wanted)) >= n // 4,
            budget,
            f"a quarter of the {n} announcements",
        )
        api.fail("sendMessage", 429, retry_after=2, count=1)
        print(f"    429 (retry_after=2) injected after {len(announcements(api, wanted))} sent")
        wait_until(
            lambda: bots.check_alive(run) or status(database, broadcast_id) == "done",
            budget,
            "status 'done'",
            step=0.1,
        )
        elapsed = time.monotonic() - run.started
        bots.stop_all()
        received = Counter(chat_of(c) for c in announcements(api, wanted))
        calls = api.find_calls("sendMessage")
        pause = None
        for index, call in enumerate(calls):
            if call.fault == "error 429" and index + 1 < len(calls):
                pause = calls[index + 1].time - call.time
        server_errors = sum(1 for c in calls if c.fault == "error 502")
        counts = dict(
            query(
                database,
                "SELECT status, count(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status",
                [broadcast_id],
            )
        )
        unsubscribed = {
            chat
            for (chat,) in query(
                database, "SELECT telegram_user_id FROM cadres WHERE subscribed = 0"
            )
        }
        problems = bots.problems()
    reachable = wanted - blocked
    wrong = [c for c in reachable if received.get(c, 0) != 1]
    result = FaultResult(
        recipients=n,
        rate=rate,
        blocked=len(blocked),
        server_errors=server_errors,
        exactly_once=not wrong,
        wrong_counts=len(wrong),
        blocked_received=sum(received.get(c, 0) for c in blocked),
        unsubscribed_ok=unsubscribed == blocked,
        counts=counts,
        pause=pause,
        elapsed=elapsed,
        problems=problems,
    )
    print(
        f"    {len(blocked)} blocked (403), {server_errors} 502 answers over {len(flaky)}"
        f" recipients, one 429; done {elapsed:.1f} s after starting the bot"
    )
    print(
        f"    every non-blocked recipient got the announcement exactly once:"
        f" {yes(result.exactly_once)}"
        + (f" ({len(wrong)} did not)" if wrong else "")
        + f"; messages to blocked chats that went through: {result.blocked_received}"
    )
    print(
        f"    blocked cadres unsubscribed (subscribed=0), and no one else: "
        f"{yes(result.unsubscribed_ok)} ({len(unsubscribed)} unsubscribed)"
    )
    print(f"    deliveries: {counts}; sent + blocked + failed = {n}: {yes(result.counts_add_up)}")
    print(
        "    pause after the 429: "
        + (f"{pause:.2f} s (asked: 2 s)" if pause is not None else "no 429 was answered")
    )
    report_problems(problems)
    return result


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


# --- 3. SIGKILL and resume ------------------------------------------------------------


@dataclass
class KillResult:
    run: int
    recipients: int
    target: int
    before: int
    duplicate_chats: int
    extra: int
    missed: int
    resumed: float
    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)


def kill_run(number: int, n: int, fraction: float, rate: float = 100.0) -> KillResult:
    target = max(1, int(n * fraction))
    print(
        f"\n[3.{number}] SIGKILL at {fraction:.0%} ({target} of {n} at {rate:g}/s), restart",
        flush=True,
    )
    with environment(n, rate) as (api, bots, database, broadcast_id, chats):
        wanted = set(chats)
        first = bots.start()
        wait_until(
            lambda: bots.check_alive(first) or len(announcements(api, wanted)) >= target,
            sending_budget(target, rate),
            f"{target} announcements",
            step=0.002,
        )
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        before = len(announcements(api, wanted))
        second = bots.start()
        wait_until(
            lambda: bots.check_alive(second) or status(database, broadcast_id) == "done",
            sending_budget(n - before, rate),
            "status 'done' after the restart",
            step=0.1,
        )
        resumed = time.monotonic() - second.started
        bots.stop_all()
        received = Counter(chat_of(c) for c in announcements(api, wanted))
        counts = dict(
            query(
                database,
                "SELECT status, count(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status",
                [broadcast_id],
            )
        )
        problems = bots.problems()
    result = KillResult(
        run=number,
        recipients=n,
        target=target,
        before=before,
        duplicate_chats=sum(1 for v in received.values() if v > 1),
        extra=sum(v - 1 for v in received.values()),
        missed=len(wanted - set(received)),
        resumed=resumed,
        counts=counts,
        problems=problems,
    )
    print(
        f"    {before} sent before the kill; the new bot finished {resumed:.1f} s after"
        f" starting; deliveries {counts}"
    )
    print(
        f"    duplicates: {result.duplicate_chats} chat(s), {result.extra} extra message(s);"
        f" missed: {result.missed}"
    )
    # A SIGKILLed bot logs nothing; errors come from the restarted one.
    report_problems(problems)
    return result


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, help="size of the rate run (default 10000)")
    parser.add_argument("--quick", action="store_true", help="500 recipients in every run")
    parser.add_argument("--phases", default="rate,faults,kill", help="which runs, comma-separated")
    args = parser.parse_args()
    size = args.recipients or (500 if args.quick else 10_000)
    small = min(size, 500 if args.quick else 2_000)
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    unknown = phases - {"rate", "faults", "kill"}
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")

    print(f"broadcast benchmark, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    started = time.monotonic()
    rate = fault = None
    kills: list[KillResult] = []
    try:
        if "rate" in phases:
            rate = rate_run(size)
        if "faults" in phases:
            fault = fault_run(small)
        if "kill" in phases:
            rng = random.Random(SEED)
            for number in (1, 2, 3):
                kills.append(kill_run(number, small, rng.uniform(0.1, 0.9)))
    except BenchTimeout as exc:
        print(f"\nBENCHMARK STOPPED: {exc}", file=sys.stderr)
        return 2
    print(f"\nall runs: {time.monotonic() - started:.0f} s\n")
    print(summary(rate, fault, kills))
    return 0


def summary(rate: RateResult | None, fault: FaultResult | None, kills: list[KillResult]) -> str:
    lines = ["| run | measured | target |", "| --- | --- | --- |"]
    if rate is not None:
        lines += [
            f"| pacing, {rate.recipients:,} recipients at {rate.configured:g}/s"
            f" | {rate.achieved:.2f}/s ({rate.deviation:+.1f}%), {rate.span:.0f} s first to last,"
            f" {rate.total:.0f} s in all; {rate.duplicates} duplicates, {rate.missed} missed"
            " | within 5% |",
            f"| questions during it (1 every 0.5 s) | {rate.answered}/{rate.questions} answered;"
            f" median {rate.median_ms:.0f} ms, p99 {rate.p99_ms:.0f} ms,"
            f" max {rate.max_ms:.0f} ms | p99 < 1 s |",
        ]
    if fault is not None:
        c = fault.counts
        pause = f"{fault.pause:.2f} s" if fault.pause is not None else "not seen"
        lines.append(
            f"| faults, {fault.recipients:,} at {fault.rate:g}/s: {fault.blocked} blocked,"
            f" {fault.server_errors}× 502, one 429 (retry_after 2 s)"
            f" | exactly once to the others: {yes(fault.exactly_once)};"
            f" blocked unsubscribed: {yes(fault.unsubscribed_ok)};"
            f" sent {c.get('sent', 0)} + blocked {c.get('blocked', 0)}"
            f" + failed {c.get('failed', 0)} = {fault.recipients}: {yes(fault.counts_add_up)};"
            f" 429 pause {pause} | all yes, pause ≈ 2 s |"
        )
    for k in kills:
        lines.append(
            f"| SIGKILL {k.run}: {k.recipients:,} at 100/s, killed after {k.before}"
            f" ({k.before / k.recipients:.0%}) | {k.extra} duplicate(s), {k.missed} missed"
            " | ≤ 1 duplicate, 0 missed |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
