"""Faults around the database and the process: locks, a full disk, backups, and
SIGKILL at random points under load. Nothing acknowledged is lost; the file stays whole."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from bot import demo
from bot.db import Database
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, bot_process, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
USER = 8001
COURSE = "LLCT-TC-2026"  # demo course, starts in 12 days


def _integrity(path) -> str:
    return sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60
    )


async def test_database_locked_for_a_moment(fake_api: FakeBotApi, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    config = config_for(fake_api, tmp_path)
    async with running_bot(config, MINI):
        holder = sqlite3.connect(config.database, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        released = threading.Timer(1.5, holder.execute, ["COMMIT"])
        released.start()
        started = time.monotonic()
        fake_api.push_message(USER, "giá lúa hôm nay bao nhiêu")
        reply = await fake_api.wait_for_reply(USER, timeout=10)
        waited = time.monotonic() - started
        released.join()
    stored = sqlite3.connect(config.database).execute("SELECT count FROM unanswered").fetchall()
    assert "chưa có câu trả lời" in reply.text
    assert waited >= 1.4  # it waited for the lock (busy timeout) instead of failing
    assert stored == [(1,)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "sqlite" in r.name]


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB filesystem of its own, to fill up for real."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mountpoint)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr!r}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


async def test_disk_full_gives_an_error_and_no_corrupt_data(fake_api: FakeBotApi, small_disk):
    config = config_for(fake_api, small_disk)
    database = Database(config.database)
    database.call(demo.seed_demo, dt.date.today())
    database.close()
    filler = small_disk / "filler"
    async with running_bot(config, MINI):
        # Fill the disk to the last byte (unbuffered: nothing left to flush at close).
        with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as out:
            while True:
                out.write(b"\0" * 4096)
        fake_api.push_contact(USER, "0900000002")  # linking must write
        failed = await fake_api.wait_for_reply(USER)
        fake_api.push_message(USER, "giá lúa hôm nay")  # storing it fails; the reply does not
        unanswered = await fake_api.wait_for_reply(USER)
        filler.unlink()
        fake_api.push_contact(USER, "0900000002")
        linked = await fake_api.wait_for_reply(USER)
    assert "đã có lỗi" in failed.text
    assert "chưa có câu trả lời" in unanswered.text
    assert to_plain(linked.text).startswith("Đã liên kết")
    assert _integrity(config.database) == "ok"
    rows = (
        sqlite3.connect(config.database)
        .execute("SELECT count(*) FROM cadres WHERE telegram_user_id = ?", [USER])
        .fetchone()
    )
    assert rows == (1,)


def test_backup_while_the_bot_writes_and_restore(fake_api: FakeBotApi, tmp_path):
    database, copy = tmp_path / "ntm.sqlite3", tmp_path / "sao-luu.sqlite3"
    config = tmp_path / "config.yaml"
    with bot_process(fake_api, tmp_path, MINI, database) as bot:
        fake_api.wait_for_sync("setMyCommands", timeout=20)
        for n in range(40):  # every one of these is written to the database
            fake_api.push_message(10_000 + n, f"câu hỏi lạ số {n} về giá phân bón")
        fake_api.wait_for_sync(predicate=lambda c: c.method == "sendMessage", timeout=10)
        made = _cli("backup", "--config", str(config), str(copy))
        fake_api.wait_for_sync(
            predicate=lambda c: c.method == "sendMessage" and c.params["chat_id"] == 10_039,
            timeout=20,
        )
    assert bot.returncode == 0, bot.output
    assert made.returncode == 0, made.stderr
    assert "đã kiểm tra toàn vẹn" in made.stdout
    assert _integrity(copy) == "ok"
    in_backup = sqlite3.connect(copy).execute("SELECT count(*) FROM unanswered").fetchone()[0]
    assert 1 <= in_backup <= 40

    with sqlite3.connect(database) as live:
        live.execute("DELETE FROM unanswered")  # the mistake a backup is for
    restored = _cli("restore", "--config", str(config), "--yes", str(copy))
    assert restored.returncode == 0, restored.stderr
    after = sqlite3.connect(database).execute("SELECT count(*) FROM unanswered").fetchone()[0]
    assert after == in_backup and _integrity(database) == "ok"


def test_sigkill_under_load_loses_no_acknowledged_link_or_registration(
    fake_api: FakeBotApi, tmp_path
):
    """Cadres link and register while the process is killed at random points."""
    database = tmp_path / "ntm.sqlite3"
    setup = Database(database)
    setup.call(demo.seed_demo, dt.date.today())
    phones = setup.call(lambda d: [p for (p,) in d.execute("SELECT phone FROM cadres LIMIT 40")])
    setup.close()
    users = {30_000 + n: phone for n, phone in enumerate(phones)}
    rng = random.Random(7)
    linked_acks: set[int] = set()
    registered_acks: set[int] = set()
    for run in range(3):
        start = fake_api.mark()
        with bot_process(fake_api, tmp_path, MINI, database, rate_limiter=False) as bot:
            fake_api.wait_for_sync("setMyCommands", since=start, timeout=20)
            for user, phone in users.items():
                if user not in linked_acks:
                    fake_api.push_contact(user, "84" + phone[3:])
            time.sleep(rng.uniform(0.05, 0.4))
            _press_register(fake_api, users, linked_acks, registered_acks, start)
            time.sleep(rng.uniform(0.05, 0.3))
            os.kill(bot.process.pid, signal.SIGKILL)
            bot.process.wait(timeout=10)
        _collect_acks(fake_api, linked_acks, registered_acks, start)
        assert _integrity(database) == "ok", f"after kill {run + 1}"
        _check_acknowledged(database, users, linked_acks, registered_acks)
    assert linked_acks and registered_acks, "the kills came before any work: nothing proved"
    print(f"SIGKILL x3: {len(linked_acks)} links, {len(registered_acks)} registrations kept")


def _press_register(api, users, linked_acks, registered_acks, since) -> None:
    _collect_acks(api, linked_acks, registered_acks, since)
    for sent in api.sent_messages(since=since):
        linked = sent.text and sent.text.startswith("Đã liên kết")
        if linked and sent.chat_id in users and sent.chat_id not in registered_acks:
            api.push_callback(sent.chat_id, f"reg:{COURSE}", sent)


def _collect_acks(api, linked_acks, registered_acks, since) -> None:
    for sent in api.sent_messages(since=since):
        text = sent.text or ""
        if text.startswith("Đã liên kết"):
            linked_acks.add(int(sent.chat_id))
        if text.startswith("✅ Đã đăng ký") or text.startswith("Bạn đã đăng ký khóa này rồi"):
            registered_acks.add(int(sent.chat_id))


def _check_acknowledged(database, users, linked_acks, registered_acks) -> None:
    conn = sqlite3.connect(database)
    linked = {
        u
        for (u,) in conn.execute(
            "SELECT telegram_user_id FROM cadres WHERE telegram_user_id IS NOT NULL"
        )
    }
    registered = {
        u
        for (u,) in conn.execute(
            "SELECT k.telegram_user_id FROM training_records r JOIN cadres k ON k.id = r.cadre_id"
            " WHERE r.course_code = ? AND r.status = 'registered'",
            [COURSE],
        )
    }
    assert linked_acks <= linked
    assert registered_acks <= registered


async def test_one_slow_chat_does_not_hold_up_the_others(fake_api: FakeBotApi, tmp_path):
    """One chat's reply held 12 s by Telegram; 30 other chats are answered meanwhile."""
    held = 8100
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.delay("sendMessage", 12, chat_id=held)
        fake_api.push_message(held, "tieu chi mau 7")
        await asyncio.sleep(0.3)  # the held reply is on its way
        latencies = []
        for user in range(8200, 8230):
            start = time.monotonic()
            fake_api.push_message(user, "van ban mau quy dinh gi")
            await fake_api.wait_for_reply(user, timeout=10)
            latencies.append(time.monotonic() - start)
        # The held chat keeps its order: its next message is answered after the first.
        fake_api.push_message(held, "/chude")
        first = await fake_api.wait_for_reply(held, timeout=20)
        second = await fake_api.wait_for_reply(held, timeout=20)
    latencies.sort()
    assert latencies[int(0.99 * (len(latencies) - 1))] < 0.5, latencies
    assert to_plain(first.text).startswith("Tiêu chí mẫu số 7")  # once, no apology after it
    assert "Chọn chủ đề" in second.text
    assert len(fake_api.sent_messages(held)) == 2
