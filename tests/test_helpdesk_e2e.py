"""End to end: a question the FAQ cannot answer goes to the coordinators as a ticket, and
their answer comes back into the cadre's chat."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import time
from dataclasses import replace

from bot.config import HelpdeskConfig, MatchingConfig
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, bot_process, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
CADRE, OTHER_CADRE, COORDINATOR, SECOND = 501, 502, 900, 901
MATCHING = MatchingConfig(answer_threshold=60, suggest_threshold=25, margin=6)
UNKNOWN = "Xã tôi muốn làm sân bóng cho thanh niên thì xin kinh phí ở đâu?"


def _config(api: FakeBotApi, tmp_path, coordinators=(COORDINATOR,)):
    return config_for(api, tmp_path, matching=MATCHING, coordinators=frozenset(coordinators))


def _buttons(message) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def _send_ticket(api: FakeBotApi, question: str = UNKNOWN, cadre: int = CADRE):
    """A cadre asks what the FAQ cannot answer and sends it on; returns the acknowledgement."""
    api.push_message(cadre, question)
    no_answer = await api.wait_for_reply(cadre)
    api.push_callback(cadre, _buttons(no_answer)["🙋 Hỏi điều phối viên"], no_answer)
    confirm = await api.wait_for_reply(cadre)
    api.push_callback(cadre, _buttons(confirm)["✅ Gửi"], confirm)
    return await api.wait_for_reply(cadre)


def _rows(config, sql: str) -> list[tuple]:
    return sqlite3.connect(config.database).execute(sql).fetchall()


async def test_no_answer_becomes_a_ticket_and_the_answer_reaches_the_cadre(
    fake_api: FakeBotApi, tmp_path
):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, UNKNOWN)
        no_answer = await fake_api.wait_for_reply(CADRE)
        assert "🙋 Hỏi điều phối viên" in _buttons(no_answer)
        fake_api.push_callback(CADRE, _buttons(no_answer)["🙋 Hỏi điều phối viên"], no_answer)
        confirm = await fake_api.wait_for_reply(CADRE)
        assert UNKNOWN in to_plain(confirm.text)
        # The cadre adds a line, sees the question again, and sends it.
        fake_api.push_callback(CADRE, _buttons(confirm)["✏️ Thêm một dòng"], confirm)
        await fake_api.wait_for_reply(CADRE)
        fake_api.push_message(CADRE, "Xã Tân Nhựt, tôi là công chức văn hóa - xã hội")
        confirm = await fake_api.wait_for_reply(CADRE)
        assert "Ghi thêm: «Xã Tân Nhựt, tôi là công chức văn hóa - xã hội»" in to_plain(
            confirm.text
        )
        fake_api.push_callback(CADRE, _buttons(confirm)["✅ Gửi"], confirm)
        ack = await fake_api.wait_for_reply(CADRE)
        number = re.search(r"số (\d+)", to_plain(ack.text)).group(1)
        # The coordinators get the card: the question, never the asker's phone or name.
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        assert f"Câu hỏi số {number}" in to_plain(card.text)
        assert UNKNOWN in to_plain(card.text)
        assert "Test User" not in card.text
        assert set(_buttons(card)) == {"✍️ Trả lời", "📚 Đã có trong FAQ", "🚫 Ngoài phạm vi"}
        fake_api.push_callback(COORDINATOR, _buttons(card)["✍️ Trả lời"], card)
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_message(COORDINATOR, "Anh chị lập dự án gửi Sở Văn hóa để được hỗ trợ.")
        done = await fake_api.wait_for_reply(COORDINATOR)
        assert "Đã gửi câu trả lời" in done.text
        answer = await fake_api.wait_for_reply(CADRE, timeout=10)
        assert f"Trả lời câu hỏi số {number} của bạn" in to_plain(answer.text)
        assert "Anh chị lập dự án gửi Sở Văn hóa để được hỗ trợ." in answer.text
        assert "— Văn phòng điều phối nông thôn mới" in to_plain(answer.text)
        fake_api.push_callback(CADRE, _buttons(answer)["👍 Đã rõ"], answer)
        await fake_api.wait_for_reply(CADRE)
        fake_api.push_message(CADRE, "/cauhoicuatoi")
        mine = await fake_api.wait_for_reply(CADRE)
    assert f"Số {number}" in to_plain(mine.text) and "đã trả lời" in to_plain(mine.text)
    assert _rows(config, "SELECT state, resolution, helped, note FROM tickets") == [
        ("answered", "reply", 1, "Xã Tân Nhựt, tôi là công chức văn hóa - xã hội")
    ]
    # Each message went out once: one card, one answer.
    assert _rows(config, "SELECT chat_id, status FROM outbox ORDER BY id") == [
        (COORDINATOR, "sent"),
        (CADRE, "sent"),
    ]


async def test_an_faq_entry_or_out_of_scope_closes_the_ticket(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        await _send_ticket(fake_api, "mẫu số mấy thì đúng quy định ạ")
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        fake_api.push_callback(COORDINATOR, _buttons(card)["📚 Đã có trong FAQ"], card)
        choices = await fake_api.wait_for_reply(COORDINATOR)
        pick = next(d for t, d in _buttons(choices).items() if t.startswith("Tiêu chí mẫu"))
        fake_api.push_callback(COORDINATOR, pick, choices)
        await fake_api.wait_for_reply(COORDINATOR)
        entry = await fake_api.wait_for_reply(CADRE, timeout=10)
        assert "bằng một mục có sẵn" in to_plain(entry.text)
        assert "Tiêu chí mẫu" in to_plain(entry.text)
        await _send_ticket(fake_api, "Thời tiết tuần này có mưa không?")
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        fake_api.push_callback(COORDINATOR, _buttons(card)["🚫 Ngoài phạm vi"], card)
        await fake_api.wait_for_reply(COORDINATOR)
        closing = await fake_api.wait_for_reply(CADRE, timeout=10)
    assert "ngoài phạm vi" in to_plain(closing.text)
    assert _rows(config, "SELECT resolution, faq_entry FROM tickets ORDER BY id") == [
        ("faq", "tieu-chi-mau"),
        ("out_of_scope", None),
    ]


async def test_two_coordinators_cannot_answer_one_ticket(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path, coordinators=(COORDINATOR, SECOND))
    async with running_bot(config, MINI):
        await _send_ticket(fake_api)
        first = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        second = await fake_api.wait_for_reply(SECOND, timeout=10)
        fake_api.push_callback(COORDINATOR, _buttons(first)["✍️ Trả lời"], first)
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(SECOND, _buttons(second)["✍️ Trả lời"], second)
        told = await fake_api.wait_for_reply(SECOND)
        assert "đang do Test User trả lời" in to_plain(told.text)
        # Nor close it meanwhile, nor answer it by replying to the card.
        fake_api.push_callback(SECOND, _buttons(second)["🚫 Ngoài phạm vi"], second)
        assert "đang do Test User trả lời" in to_plain((await fake_api.wait_for_reply(SECOND)).text)
        fake_api.push_message(SECOND, "Tôi trả lời luôn nhé", reply_to_message=second.message)
        assert "đang do Test User trả lời" in to_plain((await fake_api.wait_for_reply(SECOND)).text)
        fake_api.push_message(COORDINATOR, "Câu trả lời của người nhận trước.")
        await fake_api.wait_for_reply(COORDINATOR)
        answer = await fake_api.wait_for_reply(CADRE, timeout=10)
    assert "Câu trả lời của người nhận trước." in answer.text
    assert _rows(config, "SELECT state, answered_by FROM tickets") == [("answered", COORDINATOR)]


async def test_a_reply_to_the_card_is_the_answer(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        await _send_ticket(fake_api)
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        fake_api.push_message(COORDINATOR, "Trả lời thẳng vào thẻ.", reply_to_message=card.message)
        await fake_api.wait_for_reply(COORDINATOR)
        answer = await fake_api.wait_for_reply(CADRE, timeout=10)
    assert "Trả lời thẳng vào thẻ." in answer.text


async def test_nobody_else_can_use_a_tickets_buttons(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, UNKNOWN)
        no_answer = await fake_api.wait_for_reply(CADRE)
        ask = _buttons(no_answer)["🙋 Hỏi điều phối viên"]
        ticket = ask.rsplit(":", 1)[1]
        # Another cadre forges the asker's buttons and the coordinators' ones.
        fake_api.push_message(OTHER_CADRE, "/start")
        start = await fake_api.wait_for_reply(OTHER_CADRE)
        for forged in (ask, f"hd:send:{ticket}", f"hd:claim:{ticket}", f"hd:oos:{ticket}"):
            fake_api.push_callback(OTHER_CADRE, forged, start)
            assert "không còn hiệu lực" in (await fake_api.wait_for_reply(OTHER_CADRE)).text
        # The asker cannot act as a coordinator either.
        fake_api.push_callback(CADRE, f"hd:claim:{ticket}", no_answer)
        assert "không còn hiệu lực" in (await fake_api.wait_for_reply(CADRE)).text
        fake_api.push_message(OTHER_CADRE, "/cauhoicuatoi")
        assert "chưa gửi câu hỏi nào" in (await fake_api.wait_for_reply(OTHER_CADRE)).text
    assert _rows(config, "SELECT state, claimed_by FROM tickets") == [("draft", None)]


async def test_a_thumbs_down_keeps_its_question_and_can_go_to_a_coordinator(
    fake_api: FakeBotApi, tmp_path
):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, "tieu chi mau so 7")
        answer = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, "fb:tieu-chi-mau:0", answer)
        offer = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, _buttons(offer)["🙋 Hỏi điều phối viên"], offer)
        confirm = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, _buttons(confirm)["✅ Gửi"], confirm)
        await fake_api.wait_for_reply(CADRE)
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
    assert "tieu chi mau so 7" in card.text
    assert "người hỏi báo chưa đúng" in to_plain(card.text)
    assert _rows(config, "SELECT entry_id, vote, question FROM feedback") == [
        ("tieu-chi-mau", 0, "tieu chi mau so 7")
    ]


async def test_tickets_and_a_claim_survive_a_restart_and_telegram_being_down(
    fake_api: FakeBotApi, tmp_path
):
    config = _config(fake_api, tmp_path)
    # Telegram refuses every message to the coordinator while the ticket is sent.
    fake_api.fail(
        "sendMessage", status=502, description="Bad Gateway", count=None, chat_id=COORDINATOR
    )
    async with running_bot(config, MINI):
        ack = await _send_ticket(fake_api)
        assert "Đã gửi câu hỏi" in ack.text
    fake_api.clear_faults()
    assert _rows(config, "SELECT state FROM tickets") == [("open",)]
    async with running_bot(config, MINI):  # a new process: the card goes out, once
        card = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        fake_api.push_callback(COORDINATOR, _buttons(card)["✍️ Trả lời"], card)
        await fake_api.wait_for_reply(COORDINATOR)
    async with running_bot(config, MINI):  # the claim is remembered: the next text answers
        fake_api.push_message(COORDINATOR, "Trả lời sau khi khởi động lại.")
        await fake_api.wait_for_reply(COORDINATOR)
        answer = await fake_api.wait_for_reply(CADRE, timeout=10)
    assert "Trả lời sau khi khởi động lại." in answer.text
    cards = [m for m in fake_api.sent_messages(COORDINATOR) if "Câu hỏi số" in (m.text or "")]
    assert len(cards) == 1
    assert _rows(config, "SELECT status FROM outbox ORDER BY id") == [("sent",), ("sent",)]


async def test_a_ticket_left_waiting_is_announced_again(fake_api: FakeBotApi, tmp_path):
    config = replace(
        _config(fake_api, tmp_path), helpdesk=HelpdeskConfig(reannounce_working_days=2)
    )
    async with running_bot(config, MINI):
        await _send_ticket(fake_api)
        await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        # Announced a week ago: more than two working days.
        db = sqlite3.connect(config.database)
        with db:
            db.execute("UPDATE tickets SET announced_at = '2026-11-24T02:00:00+00:00'")
        again = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        assert "Câu hỏi số 1" in to_plain(again.text)
        # Answered tickets are not announced again.
        fake_api.push_message(COORDINATOR, "Trả lời.", reply_to_message=again.message)
        await fake_api.wait_for_reply(COORDINATOR)
        with db:
            db.execute("UPDATE tickets SET announced_at = '2026-11-24T02:00:00+00:00'")
        await fake_api.wait_for_reply(CADRE, timeout=10)
        await asyncio.sleep(1.5)  # the worker looks every second
    assert len(_cards(fake_api)) == 2


def test_killed_at_each_step_a_ticket_loses_nothing_and_sends_nothing_twice(
    fake_api: FakeBotApi, tmp_path
):
    """SIGKILL the real `ntm-bot run` after each step of a ticket, then start it again."""
    database = tmp_path / "ntm.sqlite3"
    settings = {"coordinators": [COORDINATOR], "matching": {"margin": 6}}

    def step(then, until):
        """Start the bot, do `then`, wait for `until`, and kill it without a goodbye."""
        with bot_process(fake_api, tmp_path, MINI, database, settings, rate_limiter=False) as bot:
            then()
            _wait(until)
            os.kill(bot.process.pid, signal.SIGKILL)
            bot.process.wait(timeout=10)

    def state(sql):
        return lambda: sqlite3.connect(database).execute(sql).fetchall()

    # 1. The cadre's question makes a draft; killed right after the reply.
    step(lambda: fake_api.push_message(CADRE, UNKNOWN), lambda: fake_api.sent_messages(CADRE))
    no_answer = fake_api.sent_messages(CADRE)[-1]
    # 2. Sent while Telegram refuses the coordinator's chat: killed before the card is out.
    fake_api.fail("sendMessage", 502, count=None, chat_id=COORDINATOR)
    step(
        lambda: fake_api.push_callback(
            CADRE, _buttons(no_answer)["🙋 Hỏi điều phối viên"], no_answer
        ),
        lambda: len(fake_api.sent_messages(CADRE)) >= 2,
    )
    confirm = fake_api.sent_messages(CADRE)[-1]
    step(
        lambda: fake_api.push_callback(CADRE, _buttons(confirm)["✅ Gửi"], confirm),
        state("SELECT 1 FROM outbox WHERE attempts > 0"),
    )
    fake_api.clear_faults()
    # 3. The card goes out after the restart; killed once it is marked sent.
    step(lambda: None, state("SELECT 1 FROM outbox WHERE status = 'sent'"))
    card = _cards(fake_api)[0]
    # 4. Claimed, killed; answered after the restart, killed once the answer is out.
    step(
        lambda: fake_api.push_callback(COORDINATOR, _buttons(card)["✍️ Trả lời"], card),
        state("SELECT 1 FROM tickets WHERE state = 'claimed'"),
    )
    step(
        lambda: fake_api.push_message(COORDINATOR, "Trả lời qua nhiều lần khởi động lại."),
        state(f"SELECT 1 FROM outbox WHERE chat_id = {CADRE} AND status = 'sent'"),
    )
    # 5. One more start, running a while: nothing is left to send.
    step(lambda: None, lambda: time.sleep(2) or True)
    answers = [m for m in fake_api.sent_messages(CADRE) if "Trả lời câu hỏi số" in (m.text or "")]
    assert len(_cards(fake_api)) == 1 and len(answers) == 1
    assert "Trả lời qua nhiều lần khởi động lại." in answers[0].text
    assert state("SELECT state FROM tickets")() == [("answered",)]


def _cards(api: FakeBotApi) -> list:
    return [m for m in api.sent_messages(COORDINATOR) if "Câu hỏi số" in (m.text or "")]


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
