"""End to end: announcements chosen, confirmed, delivered once each, despite faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import replace

import pytest

from bot import broadcasts, demo
from bot.broadcasts import Audience
from bot.clock import VIETNAM, utc_now, vietnam_today
from bot.config import BroadcastConfig
from bot.db import Database
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, bot_process, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
COORDINATOR, STRANGER = 900, 5555
CHAT_BASE = 20_000  # linked cadres get Telegram ids CHAT_BASE + cadre id
COURSE = "LLCT-TC-2026"  # a demo course that starts in 12 days


def _prepare(path, today: dt.date | None = None) -> list[int]:
    """Demo data with every demo cadre linked; returns their chat ids."""
    database = Database(path)
    database.call(demo.seed_demo, today or dt.date.today())
    database.call(lambda db: db.execute("UPDATE cadres SET telegram_user_id = ? + id", [CHAT_BASE]))
    database.call(lambda db: db.conn.commit())
    chats = database.call(
        lambda db: [c for (c,) in db.execute("SELECT telegram_user_id FROM cadres ORDER BY id")]
    )
    database.close()
    return chats


@pytest.fixture
def config(fake_api: FakeBotApi, tmp_path):
    config = config_for(fake_api, tmp_path, coordinators=frozenset({COORDINATOR}))
    return replace(
        config,
        broadcast=BroadcastConfig(rate_per_second=200, poll_seconds=0.05, retry_first_seconds=0.01),
    )


def _received(api: FakeBotApi, chats: list[int]) -> Counter:
    """How many announcements each chat received (successful sendMessage calls)."""
    wanted = set(chats)
    return Counter(
        m.chat_id
        for m in api.sent_messages()
        if m.method == "sendMessage" and m.chat_id in wanted and "Thông báo" in (m.text or "")
    )


def _query(config, sql: str, params=()) -> list[tuple]:
    return sqlite3.connect(config.database).execute(sql, params).fetchall()


async def test_coordinator_chooses_audience_confirms_and_gets_a_report(fake_api, config):
    chats = _prepare(config.database)
    # Slow enough for the preview message to show progress before the report.
    config = replace(config, broadcast=BroadcastConfig(25, poll_seconds=0.05, progress_seconds=0.3))
    not_standard = {
        c for (c,) in _query(config, "SELECT telegram_user_id FROM cadres WHERE meets_standard = 0")
    }
    async with running_bot(config, MINI):
        fake_api.push_message(COORDINATOR, "/thongbao")
        step1 = await fake_api.wait_for_reply(COORDINATOR)
        datas = [b["callback_data"] for row in step1.reply_markup["inline_keyboard"] for b in row]
        assert f"tb:c:{COURSE}" in datas and "tb:t" in datas
        fake_api.push_callback(COORDINATOR, f"tb:c:{COURSE}", step1)
        step2 = await fake_api.wait_for_reply(COORDINATOR)
        labels = [b["text"] for row in step2.reply_markup["inline_keyboard"] for b in row]
        assert f"Cán bộ chưa đạt chuẩn ({len(not_standard)})" in labels
        fake_api.push_callback(COORDINATOR, "tb:a:ns", step2)
        step3 = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "tb:now", step3)
        preview = await fake_api.wait_for_reply(COORDINATOR)
        text = to_plain(preview.text)
        assert "Xem trước thông báo" in text and "Trung cấp lý luận chính trị" in text
        assert f"cán bộ chưa đạt chuẩn: {len(not_standard)} người" in text
        assert fake_api.sent_messages(chats[0]) == []  # nothing sent before confirming
        fake_api.push_callback(COORDINATOR, "tb:ok", preview)
        queued = await fake_api.wait_for_reply(COORDINATOR)
        assert f"tới {len(not_standard)} người" in queued.text
        report = await fake_api.wait_for(
            predicate=lambda c: c.method == "editMessageText" and "Đã gửi xong" in c.params["text"],
            timeout=15,
        )
    assert report.params["message_id"] == preview.message_id
    edits = [c.params["text"] for c in fake_api.find_calls("editMessageText")]
    assert any(e.startswith("📤 <b>Đang gửi thông báo") and "còn lại" in e for e in edits), edits
    assert f"gửi được {len(not_standard)}" in report.params["text"]
    received = _received(fake_api, chats)
    assert set(received) == not_standard and set(received.values()) == {1}
    announcement = fake_api.sent_messages(sorted(not_standard)[0])[0]
    buttons = [
        b["callback_data"] for row in announcement.reply_markup["inline_keyboard"] for b in row
    ]
    assert buttons == [f"reg:{COURSE}", "unsub"]


async def test_free_text_to_a_list_of_communes_at_a_scheduled_time(fake_api, config):
    chats = _prepare(config.database)
    in_binh_loi = {
        c
        for (c,) in _query(config, "SELECT telegram_user_id FROM cadres WHERE commune_code = 27610")
    }
    async with running_bot(config, MINI):
        fake_api.push_message(COORDINATOR, "/thongbao")
        step1 = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "tb:t", step1)
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_message(COORDINATOR, "Họp giao ban <ngày mai> & chuẩn bị hồ sơ")
        step2 = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "tb:a:communes", step2)
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_message(COORDINATOR, "Bình Lợi")
        step3 = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "tb:at", step3)
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_message(COORDINATOR, "25:99 01/01")
        bad_time = await fake_api.wait_for_reply(COORDINATOR)
        assert "Chưa hiểu giờ gửi" in bad_time.text
        soon = (utc_now() + dt.timedelta(minutes=2)).astimezone(VIETNAM)
        fake_api.push_message(COORDINATOR, f"{soon:%H:%M %d/%m/%Y}")
        preview = await fake_api.wait_for_reply(COORDINATOR)
        assert "&lt;ngày mai&gt; &amp; chuẩn bị" in preview.text  # the typed text is escaped
        assert f"{len(in_binh_loi)} người" in to_plain(preview.text)
        fake_api.push_callback(COORDINATOR, "tb:ok", preview)
        queued = await fake_api.wait_for_reply(COORDINATOR)
        assert "sẽ gửi lúc" in queued.text
        # Not due yet: nothing was sent, and the broadcast waits in the database.
        assert _received(fake_api, chats) == Counter()
        assert _query(config, "SELECT status FROM broadcasts") == [("scheduled",)]
        # A cadre cannot cancel it, even with the button's data; the coordinator can.
        fake_api.push_message(chats[0], "/huythongbao")
        refused = await fake_api.wait_for_reply(chats[0])
        fake_api.push_callback(chats[0], "bc:1", refused)
        forged = await fake_api.wait_for_reply(chats[0])
        fake_api.push_message(COORDINATOR, "/huythongbao")
        listing = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "bc:1", listing)
        cancelled = await fake_api.wait_for_reply(COORDINATOR)
    assert refused.text == "Lệnh này chỉ dành cho điều phối viên."
    assert "hết hiệu lực" in forged.text
    assert f"{len(in_binh_loi)} người: 📢 Thông báo" in to_plain(listing.text)
    assert cancelled.text.startswith("Đã hủy thông báo #1")
    assert _query(config, "SELECT status FROM broadcasts") == [("cancelled",)]


async def test_non_coordinators_cannot_announce(fake_api, config):
    _prepare(config.database)
    async with running_bot(config, MINI):
        fake_api.push_message(STRANGER, "/thongbao")
        refused = await fake_api.wait_for_reply(STRANGER)
        for forged in ("tb:ok", f"tb:c:{COURSE}", "tb:a:all"):
            fake_api.push_callback(STRANGER, forged, refused)
            stale = await fake_api.wait_for_reply(STRANGER)
            assert "hết hiệu lực" in stale.text
        fake_api.push_message(STRANGER, f"/dangkykhoahoc {COURSE}")
        listing = await fake_api.wait_for_reply(STRANGER)
    assert refused.text == "Lệnh này chỉ dành cho điều phối viên."
    assert listing.text == "Lệnh này chỉ dành cho điều phối viên."
    assert _query(config, "SELECT count(*) FROM broadcasts") == [(0,)]


async def test_faults_every_reachable_cadre_gets_exactly_one_message(fake_api, config):
    chats = _prepare(config.database)
    blocked = chats[::20]  # 5% have blocked the bot
    for chat in blocked:
        fake_api.fail(
            "sendMessage",
            403,
            description="Forbidden: bot was blocked by the user",
            chat_id=chat,
            count=None,
        )
    fake_api.fail("sendMessage", 502, count=3)
    fake_api.fail("sendMessage", 429, retry_after=1)
    database = Database(config.database)
    broadcast_id, total = database.call(
        broadcasts.create_broadcast, "📢 <b>Thông báo</b> thử", Audience("all"), utc_now()
    )
    database.close()
    started = time.monotonic()
    async with running_bot(config, MINI):
        await _until_done(config, broadcast_id, timeout=30)
    elapsed = time.monotonic() - started
    received = _received(fake_api, chats)
    assert total == len(chats)
    assert set(received) == set(chats) - set(blocked) and set(received.values()) == {1}
    counts = dict(_query(config, "SELECT status, count(*) FROM deliveries GROUP BY status"))
    assert counts == {"sent": len(chats) - len(blocked), "blocked": len(blocked)}
    unsubscribed = {
        c for (c,) in _query(config, "SELECT telegram_user_id FROM cadres WHERE subscribed = 0")
    }
    assert unsubscribed == set(blocked)
    assert elapsed >= 1  # the 429 paused the broadcast for the second it asked


async def test_registration_buttons_and_unsubscribe(fake_api, config):
    chats = _prepare(config.database)
    cadre = chats[0]
    full, closed = "FULL-1", "CLOSED-1"
    today = dt.date.today()
    with sqlite3.connect(config.database) as conn:
        conn.execute(
            "INSERT INTO courses (code, title, start_date, capacity)"
            " VALUES (?, 'Khóa đã đủ chỗ', ?, 1)",
            [full, (today + dt.timedelta(days=9)).isoformat()],
        )
        conn.execute(
            "INSERT INTO training_records (cadre_id, course_code, status)"
            " VALUES (?, ?, 'registered')",
            [chats[1] - CHAT_BASE, full],
        )
        conn.execute(
            "INSERT INTO courses (code, title, start_date, registration_deadline)"
            " VALUES (?, 'Khóa hết hạn', ?, ?)",
            [
                closed,
                (today + dt.timedelta(days=3)).isoformat(),
                (today - dt.timedelta(days=1)).isoformat(),
            ],
        )
        conn.execute(
            "DELETE FROM training_records WHERE cadre_id = ? AND course_code = ?",
            [cadre - CHAT_BASE, COURSE],
        )
    async with running_bot(config, MINI):
        fake_api.push_message(cadre, "/khoahoc")
        message = await fake_api.wait_for_reply(cadre)
        replies = []
        for data in (f"reg:{COURSE}", f"reg:{COURSE}", f"reg:{full}", f"reg:{closed}", "unsub"):
            fake_api.push_callback(cadre, data, message)
            replies.append(to_plain((await fake_api.wait_for_reply(cadre)).text))
        fake_api.push_message(STRANGER, "/khoahoc")
        own = await fake_api.wait_for_reply(STRANGER)
        fake_api.push_callback(STRANGER, f"reg:{COURSE}", own)
        stranger = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
    registered, again, is_full, is_closed, unsubscribed = replies
    assert registered.startswith("✅ Đã đăng ký cho bạn khóa học") and COURSE in registered
    assert again.startswith("Bạn đã đăng ký khóa này rồi")
    assert is_full.startswith("Khóa học đã hết chỗ")
    assert is_closed.startswith("Khóa học đã hết hạn đăng ký")
    assert unsubscribed.startswith("Đã tắt thông báo khóa học")
    assert "chưa liên kết" in stranger
    status = _query(
        config,
        "SELECT status FROM training_records WHERE cadre_id = ? AND course_code = ?",
        [cadre - CHAT_BASE, COURSE],
    )
    assert status == [("registered",)]
    assert _query(config, "SELECT subscribed FROM cadres WHERE telegram_user_id = ?", [cadre]) == [
        (0,)
    ]
    assert cadre not in {chat for _, chat in _recipients(config, Audience("all"))}


async def test_an_outage_of_telegram_costs_nobody_their_message(fake_api, config):
    """Ten 5xx in a row (an outage): the broadcast waits it out; nobody is marked failed."""
    chats = _prepare(config.database)
    fake_api.fail("sendMessage", 502, count=10)
    database = Database(config.database)
    broadcast_id, _ = database.call(
        broadcasts.create_broadcast, "📢 <b>Thông báo</b> thử", Audience("all"), utc_now()
    )
    database.close()
    async with running_bot(config, MINI):
        await _until_done(config, broadcast_id, timeout=30)
    received = _received(fake_api, chats)
    assert set(received) == set(chats) and set(received.values()) == {1}
    counts = dict(_query(config, "SELECT status, count(*) FROM deliveries GROUP BY status"))
    assert counts == {"sent": len(chats)}


def test_killed_mid_broadcast_resumes_without_loss_and_at_most_one_duplicate(fake_api, tmp_path):
    """SIGKILL the real `ntm-bot run` mid-broadcast, start it again, count deliveries."""
    database = tmp_path / "ntm.sqlite3"
    chats = _prepare(database)
    db = Database(database)
    broadcast_id, total = db.call(
        broadcasts.create_broadcast, "📢 <b>Thông báo</b> thử", Audience("all"), utc_now()
    )
    db.close()
    settings = {"rate_limiter": False}
    with bot_process(fake_api, tmp_path, MINI, database, **settings) as first:
        fake_api.wait_for_sync(
            predicate=lambda c: c.method == "sendMessage" and _count(fake_api) >= 20, timeout=30
        )
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    before = _count(fake_api)
    assert 20 <= before < total, "the kill must land in the middle of the broadcast"
    with bot_process(fake_api, tmp_path, MINI, database, **settings):
        _wait_done(database, broadcast_id, timeout=60)
    received = _received(fake_api, chats)
    assert set(received) == set(chats)  # nobody missed
    assert sum(n - 1 for n in received.values()) <= 1  # at most the one in flight, twice


# --- helpers ------------------------------------------------------------------------------


def _count(api: FakeBotApi) -> int:
    return sum(1 for m in api.sent_messages() if m.method == "sendMessage")


def _query_path(path, sql: str, params=()) -> list[tuple]:
    return sqlite3.connect(path).execute(sql, params).fetchall()


def _recipients(config, audience: Audience) -> list[tuple[int, int]]:
    database = Database(config.database)
    try:
        return database.call(broadcasts.recipients, audience)
    finally:
        database.close()


def _wait_done(database, broadcast_id: int, timeout: float) -> None:
    """For a bot in another process: wait until the broadcast is marked done."""
    deadline = time.monotonic() + timeout
    sql = "SELECT status FROM broadcasts WHERE id = ?"
    while _query_path(database, sql, [broadcast_id]) != [("done",)]:
        assert time.monotonic() < deadline, "the broadcast did not finish"
        time.sleep(0.2)


async def _until_done(config, broadcast_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _query(config, "SELECT status FROM broadcasts WHERE id = ?", [broadcast_id]) != [
        ("done",)
    ]:
        assert time.monotonic() < deadline, "the broadcast did not finish"
        await asyncio.sleep(0.1)


async def test_registered_cadres_get_one_reminder_the_day_before(fake_api, config):
    chats = _prepare(config.database)
    tomorrow = (vietnam_today() + dt.timedelta(days=1)).isoformat()  # the worker's calendar
    with sqlite3.connect(config.database) as conn:
        conn.execute(
            "INSERT INTO courses (code, title, start_date)"
            " VALUES ('MAI-1', 'Khóa học ngày mai', ?)",
            [tomorrow],
        )
        for chat in chats[:3]:
            conn.execute(
                "INSERT INTO training_records (cadre_id, course_code, status)"
                " VALUES (?, 'MAI-1', 'registered')",
                [chat - CHAT_BASE],
            )
        conn.execute("UPDATE cadres SET subscribed = 0 WHERE id = ?", [chats[0] - CHAT_BASE])
    for _run in range(2):  # a restart the same day makes no second reminder
        async with running_bot(config, MINI):
            await fake_api.wait_for(
                predicate=lambda c: c.method == "sendMessage" and "Nhắc lịch" in c.params["text"],
                timeout=10,
            )
            await _until_done(config, 1, timeout=3)
    reminded = Counter(m.chat_id for m in fake_api.sent_messages() if "Nhắc lịch" in (m.text or ""))
    # One each, even for the cadre who turned announcements off: it is their own course.
    assert reminded == Counter({chat: 1 for chat in chats[:3]})
    assert _query(config, "SELECT kind, course_code FROM broadcasts") == [("reminder", "MAI-1")]


def test_a_scheduled_broadcast_survives_a_restart(fake_api, tmp_path):
    database = tmp_path / "ntm.sqlite3"
    chats = _prepare(database)
    db = Database(database)
    due = utc_now() + dt.timedelta(seconds=4)
    broadcast_id, _ = db.call(
        broadcasts.create_broadcast, "📢 <b>Thông báo</b> hẹn giờ", Audience("all"), utc_now(), due
    )
    db.close()
    settings = {"rate_limiter": False}
    with bot_process(fake_api, tmp_path, MINI, database, **settings) as first:
        fake_api.wait_for_sync("setMyCommands", timeout=20)
        os.kill(first.process.pid, signal.SIGKILL)  # killed before it was due
        first.process.wait(timeout=10)
    assert _received(fake_api, chats) == Counter()
    with bot_process(fake_api, tmp_path, MINI, database, **settings):
        _wait_done(database, broadcast_id, timeout=30)
    received = _received(fake_api, chats)
    assert set(received) == set(chats) and set(received.values()) == {1}
