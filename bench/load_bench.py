"""Load: the real `ntm-bot run` under many concurrent users, beside a bare PTB echo bot.

Run: python bench/load_bench.py [--users N] [--messages M] [--quick] [--rounds R]
                                [--only ours|echo]

Both systems run as subprocesses against one fake Bot API server (tests/fake_botapi.py,
real long polling, in a thread of this process), one after the other, under the same
load; with several rounds (default 3, --quick 1) they alternate (echo, ours, ours,
echo, …) and the summary takes each system's median round, since a shared machine's
other work moves single runs by 10-20%.

- **Trợ lý NTM**: `python -m bot run --config …` (what `ntm-bot run` runs) with
  `telegram.rate_limiter: false` (the client-side limiter would cap it at Telegram's
  ~30 messages/s and measure nothing of ours), the bundled knowledge and a fresh
  database in a temporary folder.
- **echo**: a bare python-telegram-bot application, a MessageHandler answering every
  text with `reply_text(text)`, default (sequential) update processing,
  `run_polling(poll_interval=0)`. It is the floor the framework and the fake server set.

The load: N users (default 200) send M updates in all (default 3,000): the knowledge's
own phrasings (a fifth as written, the rest folded without diacritics, half of those with
a typo), 75% of the load; out-of-scope questions, 12%; /start, /chude, /khoahoc, 4% each;
/help, 1%. Updates are pushed in bursts,
one update per user per burst, and the next burst is pushed as soon as no more than one
burst is outstanding, so the bot always has a backlog of between N and 2N updates.

Measured, per system:

- updates/s: updates completely answered / wall time from the first push to the last
  reply message;
- median and p99 latency per update: push → arrival at the fake server of the last
  sendMessage of that update's reply (replies are matched to updates per chat, in order;
  how many messages each text's reply takes is learnt in a warm-up run that sends every
  distinct text once, from users not used afterwards);
- peak memory: VmHWM of the bot process (/proc/PID/status) at the end of the run;
- CPU: user+system seconds the bot process spent during the load, per update.

The aim (issue): at least half the echo bot's throughput, peak memory under 150 MB.

Read the echo figure with the environment in mind: when `sniffio` is not installed,
httpcore 1.0 retries `import sniffio` (a failing sys.path scan) several times per
request. Both bots pay it, but it costs the echo bot about a quarter of its rate; the
report says when that is the case.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SEED = 20261126

START_TIMEOUT = 60.0  # s, from spawning the bot to its first getUpdates
WARMUP_TIMEOUT = 120.0  # s, for the warm-up run (every distinct text once)
QUIET = 1.0  # s without a new message that ends the warm-up
STOP_TIMEOUT = 20.0  # s, from SIGINT to exit
MIN_RATE = 20.0  # updates/s: below this the load phase times out

ECHO_BOT = """
import os
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.message.reply_text(update.message.text)

app = (
    ApplicationBuilder()
    .token(os.environ["ECHO_TOKEN"])
    .base_url(os.environ["ECHO_BASE_URL"])
    .base_file_url(os.environ["ECHO_BASE_FILE_URL"])
    .build()
)
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0)
"""

OUT_OF_SCOPE = (
    "giá vàng hôm nay bao nhiêu",
    "thời tiết hà nội ngày mai thế nào",
    "cách nấu phở bò ngon",
    "kết quả bóng đá việt nam tối qua",
    "làm sao để đăng ký xe máy mới",
    "thủ tục cấp hộ chiếu online",
    "lãi suất tiết kiệm ngân hàng nào cao nhất",
    "tỷ giá đô la hôm nay",
    "mua bảo hiểm xe máy ở đâu",
    "cách trồng lúa năng suất cao vụ đông xuân",
    "lịch cắt điện tuần này",
    "đổi bằng lái xe hết hạn cần giấy tờ gì",
    "cách tính thuế thu nhập cá nhân",
    "học phí đại học năm nay tăng không",
    "giá phân bón urê mới nhất",
    "xem phim gì hay cuối tuần",
    "cách chữa cảm cúm cho trẻ nhỏ",
    "số điện thoại tổng đài điện lực",
    "có nên mua đất nền ở bình dương",
    "hướng dẫn cài zalo trên máy tính",
    "lương giáo viên mầm non bao nhiêu",
    "cách làm căn cước cho trẻ em",
    "vé máy bay tết đi đà nẵng",
    "ai vô địch world cup 2022",
    "bài hát nào đang hot nhất",
    "thủ tục ly hôn đơn phương",
    "cách nuôi gà thả vườn mau lớn",
    "giá xăng kỳ điều chỉnh tới",
    "admin ơi cho xin wifi",
    "mấy giờ rồi",
)
COMMANDS = {"/start": 4, "/chude": 4, "/khoahoc": 4, "/help": 1}  # % of the load
OUT_OF_SCOPE_SHARE = 12  # %; the rest are the knowledge's own questions
IN_SCOPE_DISTINCT = 240


# --- the load ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics, as people type on a phone without a Vietnamese IME."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def typo(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(3)
    if kind == 0:  # two letters swapped
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # a letter dropped
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice("aeiounhtcg") + text[i + 1 :]  # a letter mistyped


def knowledge_phrasings() -> list[str]:
    phrasings = []
    for path in sorted(KNOWLEDGE.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            continue
        for entry in data.get("entries") or []:
            phrasings.append(entry["question"])
            phrasings.extend(entry.get("alternates") or [])
    return [p.strip() for p in phrasings if p and p.strip()]


@dataclass
class Load:
    pool: dict[str, list[str]]  # kind → distinct texts
    weights: dict[str, int]  # kind → % of the load

    @property
    def distinct(self) -> list[str]:
        return sorted({t for texts in self.pool.values() for t in texts})

    def schedule(self, users: int, messages: int, rng: random.Random) -> list[list[str]]:
        """Bursts: each a list of one text per user (the last burst may be short)."""
        kinds, weights = list(self.weights), list(self.weights.values())
        texts = [rng.choice(self.pool[kind]) for kind in rng.choices(kinds, weights, k=messages)]
        return [texts[i : i + users] for i in range(0, messages, users)]


def make_load(rng: random.Random) -> Load:
    phrasings = knowledge_phrasings()
    if not phrasings:
        raise SystemExit(f"No questions found in {KNOWLEDGE}.")
    chosen = rng.sample(phrasings, min(IN_SCOPE_DISTINCT, len(phrasings)))
    in_scope = []
    for text in chosen:
        roll = rng.random()
        if roll < 0.2:
            in_scope.append(text)  # as written, with diacritics
        elif roll < 0.6:
            in_scope.append(fold(text))
        else:
            in_scope.append(typo(fold(text), rng))
    out = [fold(t) if rng.random() < 0.6 else t for t in OUT_OF_SCOPE]
    pool = {"question": in_scope, "out-of-scope": out} | {c: [c] for c in COMMANDS}
    in_share = 100 - OUT_OF_SCOPE_SHARE - sum(COMMANDS.values())
    weights = {"question": in_share, "out-of-scope": OUT_OF_SCOPE_SHARE} | COMMANDS
    return Load(pool, weights)


# --- the fake server's calls, read incrementally ---------------------------------------------


def fake_api_class() -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.fake_botapi import FakeBotApi

    return FakeBotApi


class Messages:
    """New successful sendMessage calls, as (chat id, arrival time), read once each."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.cursor = fake.mark()
        self.failed = 0  # sendMessage calls the fake server answered with an error

    def new(self) -> list[tuple[int, float]]:
        calls = self.fake.find_calls(since=self.cursor)
        out = []
        for call in calls:
            if call.method.lower() == "sendmessage":
                if call.result is None and call.error is None:
                    break  # being answered right now: read it next time
                if call.error is not None:
                    self.failed += 1
                else:
                    out.append((int(call.result["chat"]["id"]), call.time))
            self.cursor += 1
        return out


def calls_since(fake: Any, since: int, method: str) -> int:
    return len(fake.find_calls(method, since=since))


# --- the process under test ------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def status(self) -> dict[str, int]:
        """VmRSS, VmHWM… of the process, in kB."""
        out = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key.startswith("Vm") and value.strip().endswith("kB"):
                    out[key] = int(value.split()[0])
        return out

    def cpu_seconds(self) -> float:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return float("nan")

    def tail(self, lines: int = 25) -> str:
        with contextlib.suppress(OSError):
            text = self.log.read_text(encoding="utf-8", errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def check_alive(self, phase: str) -> None:
        if self.popen.poll() is not None:
            raise BenchError(
                f"{self.name}: the bot process exited (code {self.popen.returncode}) "
                f"during {phase}. Last lines of its log:\n{self.tail()}"
            )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"  {self.name}: no exit {STOP_TIMEOUT:.0f} s after SIGINT, killed")
                self.popen.kill()
                self.popen.wait(10)


class BenchError(Exception):
    """A phase failed or timed out; the message says which and why."""


def child_env(fake: Any) -> dict[str, str]:
    loopback = "127.0.0.1,localhost"
    return {
        **os.environ,
        "NO_PROXY": loopback,
        "no_proxy": loopback,
        "NTM_BOT_TOKEN": fake.token,
        "ECHO_TOKEN": fake.token,
        "ECHO_BASE_URL": fake.base_url,
        "ECHO_BASE_FILE_URL": fake.base_file_url,
        "PYTHONUNBUFFERED": "1",
    }


def spawn(system: str, fake: Any, workdir: Path) -> Process:
    log = workdir / f"{system}.log"
    if system == "ours":
        config = workdir / "config.yaml"
        settings = {
            "telegram": {
                "base_url": fake.base_url,
                "base_file_url": fake.base_file_url,
                "rate_limiter": False,
            },
            "knowledge_dir": str(KNOWLEDGE),
            "database": str(workdir / "ntm.sqlite3"),
        }
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        init = [sys.executable, "-m", "bot", "init", "--config", str(config)]
        subprocess.run(init, cwd=ROOT, check=True, capture_output=True)
        argv = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    else:
        argv = [sys.executable, "-c", ECHO_BOT]
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the bot
        popen = subprocess.Popen(
            argv, cwd=ROOT, env=child_env(fake), stdout=out, stderr=subprocess.STDOUT
        )
    return Process(SYSTEMS[system], popen, log)


SYSTEMS = {"ours": "Trợ lý NTM", "echo": "PTB echo bot"}


def wait_ready(process: Process, fake: Any, since: int) -> float:
    started = time.monotonic()
    deadline = started + START_TIMEOUT
    while not calls_since(fake, since, "getUpdates"):
        process.check_alive("start-up")
        if time.monotonic() > deadline:
            raise BenchError(
                f"{process.name}: no getUpdates within {START_TIMEOUT:.0f} s of start. "
                f"Last lines of its log:\n{process.tail()}"
            )
        time.sleep(0.05)
    return time.monotonic() - started


# --- the phases ------------------------------------------------------------------------------


def warm_up(process: Process, fake: Any, texts: list[str], first_user: int) -> dict[str, int]:
    """Send each text once from its own user; learn how many messages each reply takes."""
    messages = Messages(fake)
    chats = {first_user + i: text for i, text in enumerate(texts)}
    for chat, text in chats.items():
        fake.push_message(user_id=chat, text=text)
    counts = dict.fromkeys(chats, 0)
    stray = 0
    deadline = time.monotonic() + WARMUP_TIMEOUT
    last = time.monotonic()
    while True:
        for chat, _ in messages.new():
            if chat in counts:
                counts[chat] += 1
            else:
                stray += 1
            last = time.monotonic()
        now = time.monotonic()
        if all(counts.values()) and now - last >= QUIET:
            break
        if now > deadline:
            missing = sum(1 for c in counts.values() if not c)
            raise BenchError(
                f"{process.name}: warm-up timed out after {WARMUP_TIMEOUT:.0f} s, "
                f"{missing} of {len(texts)} texts without a reply. Log:\n{process.tail()}"
            )
        process.check_alive("warm-up")
        time.sleep(0.02)
    if messages.failed or stray:
        print(f"  warm-up: {messages.failed} failed sendMessage, {stray} stray messages")
    return {chats[chat]: count for chat, count in counts.items()}


@dataclass
class Pending:
    pushed: float
    expected: int
    received: int = 0


@dataclass
class Result:
    system: str
    updates: int
    messages: int
    wall: float
    latencies: list[float]  # s, push → last message of the reply
    first_latencies: list[float]  # s, push → first message of the reply
    peak_rss_kb: int
    rss_kb: int
    cpu: float  # s of bot CPU during the load
    driver_cpu: float  # s of CPU of this process (fake server + load driver) meanwhile
    start_up: float
    failed_sends: int
    stray: int
    errors_logged: int
    backlog_max: int
    loadavg: str = ""

    @property
    def rate(self) -> float:
        return self.updates / self.wall

    def latency(self, q: float, first: bool = False) -> float:
        samples = sorted(self.first_latencies if first else self.latencies)
        if not samples:
            return float("nan")
        if q == 0.5:
            return statistics.median(samples) * 1000
        return samples[min(len(samples) - 1, round(q * (len(samples) - 1)))] * 1000


def load(
    process: Process,
    fake: Any,
    bursts: list[list[str]],
    replies: dict[str, int],
    first_user: int,
) -> Result:
    messages = Messages(fake)
    total = sum(len(b) for b in bursts)
    timeout = 60.0 + total / MIN_RATE
    queues: dict[int, deque[Pending]] = {}
    latencies: list[float] = []
    first_latencies: list[float] = []
    received = stray = backlog_max = 0
    burst_size = len(bursts[0])
    pushed = done = 0
    cpu_before = process.cpu_seconds()
    driver_before = time.process_time()
    start = time.monotonic()
    deadline = start + timeout
    last_reply = start
    next_burst = 0
    while done < total:
        outstanding = pushed - done
        if next_burst < len(bursts) and outstanding <= burst_size:
            for index, text in enumerate(bursts[next_burst]):
                chat = first_user + index
                now = time.monotonic()
                fake.push_message(user_id=chat, text=text)
                queues.setdefault(chat, deque()).append(Pending(now, replies[text]))
            pushed += len(bursts[next_burst])
            next_burst += 1
            backlog_max = max(backlog_max, pushed - done)
        for chat, arrived in messages.new():
            queue = queues.get(chat)
            if not queue:
                stray += 1
                continue
            received += 1
            head = queue[0]
            head.received += 1
            if head.received == 1:
                first_latencies.append(arrived - head.pushed)
            if head.received == head.expected:
                latencies.append(arrived - head.pushed)
                queue.popleft()
                done += 1
                last_reply = arrived
        if done >= total:
            break
        if time.monotonic() > deadline:
            raise BenchError(
                f"{process.name}: load timed out after {timeout:.0f} s: {done} of {total} "
                f"updates answered ({pushed} pushed, {received} messages received, "
                f"{messages.failed} failed sends). Last lines of its log:\n{process.tail()}"
            )
        process.check_alive("the load")
        # Polled every 20 ms, not busily: this thread shares the GIL with the fake server's.
        time.sleep(0.02)
    cpu = process.cpu_seconds() - cpu_before
    driver_cpu = time.process_time() - driver_before
    time.sleep(0.3)  # anything more arriving now is a reply we did not expect
    stray += len(messages.new())
    status = process.status()
    log = process.log.read_text(encoding="utf-8", errors="replace")
    return Result(
        system=process.name,
        updates=done,
        messages=received,
        wall=last_reply - start,
        latencies=latencies,
        first_latencies=first_latencies,
        peak_rss_kb=status.get("VmHWM", 0),
        rss_kb=status.get("VmRSS", 0),
        cpu=cpu,
        driver_cpu=driver_cpu,
        start_up=0.0,
        failed_sends=messages.failed,
        stray=stray,
        errors_logged=log.count(" ERROR "),
        backlog_max=backlog_max,
    )


def run_system(system: str, fake: Any, load_spec: Load, users: int, messages: int) -> Result:
    name = SYSTEMS[system]
    rng = random.Random(SEED)  # the same load for both systems
    bursts = load_spec.schedule(users, messages, rng)
    base = 10_000_000 if system == "ours" else 20_000_000
    with tempfile.TemporaryDirectory(prefix=f"load-bench-{system}-") as tmp:
        since = fake.mark()
        print(f"{name}: starting …", flush=True)
        process = spawn(system, fake, Path(tmp))
        try:
            start_up = wait_ready(process, fake, since)
            distinct = load_spec.distinct
            print(f"  ready in {start_up:.1f} s; warm-up: {len(distinct)} distinct texts once")
            replies = warm_up(process, fake, distinct, base + 500_000)
            before = loadavg()
            multi = sum(1 for n in replies.values() if n > 1)
            print(
                f"  warm-up done ({multi} texts answered in more than one message); "
                f"load: {users} users, {messages} updates in {len(bursts)} bursts",
                flush=True,
            )
            result = load(process, fake, bursts, replies, base)
            result.start_up = start_up
            result.loadavg = before
            return result
        finally:
            process.stop()


# --- report ------------------------------------------------------------------------------


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def row(label: str, r: Result) -> str:
    return (
        f"{label:<22} | {r.rate:9.1f} | {r.latency(0.5):9.1f} | {r.latency(0.99):8.1f} | "
        f"{r.peak_rss_kb / 1024:11.1f} | {r.cpu / r.updates * 1000:10.2f} | "
        f"{r.cpu / r.wall * 100:5.0f}"
    )


def median_result(results: list[Result]) -> Result:
    """The round with the median throughput, with the highest peak memory of all rounds."""
    chosen = sorted(results, key=lambda r: r.rate)[(len(results) - 1) // 2]
    peak = max(r.peak_rss_kb for r in results)
    return Result(**{**chosen.__dict__, "peak_rss_kb": peak})


def report(results: dict[str, list[Result]], users: int, messages: int) -> None:
    rounds = max(len(r) for r in results.values())
    print()
    print(
        f"Load: {users} users, {messages} updates per run, bursts of {users} "
        f"(backlog {users}-{2 * users}); {rounds} round(s); load average now {loadavg()}"
    )
    header = (
        f"{'system':<22} | {'updates/s':>9} | {'median ms':>9} | {'p99 ms':>8} | "
        f"{'peak RSS MB':>11} | {'CPU ms/upd':>10} | {'CPU %':>5}"
    )
    print(header)
    print("-" * len(header))
    summary = {}
    for system, runs in results.items():
        for number, r in enumerate(runs, 1):
            label = r.system if rounds == 1 else f"{r.system} #{number}"
            print(row(label, r))
        summary[system] = median_result(runs)
        if rounds > 1:
            print(row(f"{SYSTEMS[system]} (median)", summary[system]))
    print()
    for runs in results.values():
        for number, r in enumerate(runs, 1):
            problems = []
            if r.failed_sends:
                problems.append(f"{r.failed_sends} sendMessage answered with an error")
            if r.stray:
                problems.append(f"{r.stray} unexpected messages")
            if r.errors_logged:
                problems.append(f"{r.errors_logged} ERROR lines in its log")
            print(
                f"  {r.system}{f' #{number}' if rounds > 1 else ''}: {r.updates} updates, "
                f"{r.messages} messages in {r.wall:.2f} s; first message median "
                f"{r.latency(0.5, True):.1f} ms; RSS at end {r.rss_kb / 1024:.1f} MB; "
                f"max backlog {r.backlog_max}; start-up {r.start_up:.1f} s; "
                f"fake server + driver CPU {r.driver_cpu / r.wall * 100:.0f}%; "
                f"load average before {r.loadavg}"
                + (f"; {', '.join(problems)}" if problems else "")
            )
    if importlib.util.find_spec("sniffio") is None:
        print(
            "\nnote: sniffio is not importable here, so httpcore retries `import sniffio` "
            "(a failing sys.path scan) on every request: ~0.3 ms of CPU per message for both "
            "bots, about a quarter of the echo bot's rate (see the module docstring)"
        )
    ours, echo = summary.get("ours"), summary.get("echo")
    if ours and echo:
        print()
        per_round = [
            f"{o.rate / e.rate:.2f}" for o, e in zip(results["ours"], results["echo"], strict=True)
        ]
        print(
            f"ours/echo: throughput {ours.rate / echo.rate:.2f}x"
            + (f" (per round: {', '.join(per_round)})" if rounds > 1 else "")
            + f", median latency {ours.latency(0.5) / echo.latency(0.5):.2f}x, "
            f"p99 {ours.latency(0.99) / echo.latency(0.99):.2f}x, "
            f"peak RSS {ours.peak_rss_kb / echo.peak_rss_kb:.2f}x, "
            f"CPU per update {ours.cpu / ours.updates / (echo.cpu / echo.updates):.2f}x"
        )
    if ours:
        memory_ok = ours.peak_rss_kb / 1024 < 150
        speed = "n/a (echo not run)"
        if echo:
            speed = "met" if ours.rate / echo.rate >= 0.5 else "NOT met"
        print(
            f"aim: throughput >= 0.5x echo: {speed}; "
            f"peak memory < 150 MB: {'met' if memory_ok else 'NOT met'}"
        )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, help="concurrent users (default 200, quick 50)")
    parser.add_argument("--messages", type=int, help="updates per run (default 3000, quick 600)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--rounds",
        type=int,
        help="runs of each system, alternating echo/ours (default 3, quick 1); the summary "
        "takes the median round, which tames the noise of a shared machine",
    )
    parser.add_argument("--only", choices=tuple(SYSTEMS), help="run only one of the systems")
    args = parser.parse_args()
    users = args.users or (50 if args.quick else 200)
    messages = args.messages or (600 if args.quick else 3000)
    rounds = args.rounds or (1 if args.quick else 3)
    if users < 1 or messages < users or rounds < 1:
        parser.error("need --users >= 1, --messages >= --users and --rounds >= 1")
    if not sys.platform.startswith("linux"):
        parser.error("reads /proc: Linux only")

    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the bots and temp dirs go too.
    signal.signal(signal.SIGTERM, _interrupt)
    load_spec = make_load(random.Random(SEED))
    systems = [args.only] if args.only else ["echo", "ours"]
    results: dict[str, list[Result]] = {s: [] for s in systems}
    try:
        for number in range(rounds):
            for system in systems if number % 2 == 0 else systems[::-1]:
                if rounds > 1:
                    print(f"[round {number + 1}/{rounds}] ", end="")
                # A fresh server per run: one that kept every earlier call would slow down
                # the later runs, and unevenly.
                fake = fake_api_class()()
                fake.start()
                try:
                    results[system].append(run_system(system, fake, load_spec, users, messages))
                finally:
                    fake.stop()
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        if all(results.values()):
            report(results, users, messages)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        raise SystemExit(130) from None
    report(results, users, messages)


if __name__ == "__main__":
    main()
