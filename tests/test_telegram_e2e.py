"""End to end: the real PTB application against the local fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml

from bot.telegram_html import MESSAGE_LIMIT, to_plain
from tests.conftest import FIXTURES, bot_process, config_for, running_bot, webhook_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
USER = 4242


async def test_start_shows_keyboard_and_registers_commands(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "/start", first_name="Lan")
        reply = await fake_api.wait_for_reply(USER)
    assert "Xin chào Lan" in reply.text
    keyboard = reply.reply_markup["keyboard"]
    labels = [
        button["text"] if isinstance(button, dict) else button for row in keyboard for button in row
    ]
    assert labels == ["📚 Chủ đề", "🏘 Xã của tôi", "🎓 Đào tạo của tôi", "ℹ️ Hướng dẫn"]
    names = [c["command"] for c in fake_api.commands()]
    assert {"start", "help", "chude", "xa", "daotao", "lienket", "huylienket"} <= set(names)


async def test_question_gets_answer_with_period_and_sources(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "cho em hoi tieu chi mau so 7 la gi a")
        reply = await fake_api.wait_for_reply(USER)
        buttons = [b for row in reply.reply_markup["inline_keyboard"] for b in row]
        fake_api.push_callback(USER, buttons[0]["callback_data"], reply)
        details = to_plain((await fake_api.wait_for_reply(USER)).text)
    assert to_plain(reply.text).startswith("Tiêu chí mẫu số 7")
    assert "Giai đoạn áp dụng: 2026-2030" in reply.text
    # The short legal basis: number and date; the full title is behind a button.
    assert "Căn cứ:</b> QĐ 1/2026/QĐ-TEST (01/01/2026)" in reply.text
    assert "Văn bản dùng cho kiểm thử" not in reply.text
    assert buttons[0]["text"] == "📄 Chi tiết, căn cứ đầy đủ"
    assert buttons[1]["callback_data"] == "a:van-ban-mau"
    assert "Căn cứ đầy đủ:" in details
    assert "Quyết định 1/2026/QĐ-TEST ngày 01/01/2026: Văn bản dùng cho kiểm thử" in details


async def test_related_button_and_topic_browsing(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "/chude")
        topics = await fake_api.wait_for_reply(USER)
        assert topics.reply_markup["inline_keyboard"][0][0]["callback_data"] == "c:mau"
        fake_api.push_callback(USER, "c:mau", topics)
        questions = await fake_api.wait_for_reply(USER)
        datas = [row[0]["callback_data"] for row in questions.reply_markup["inline_keyboard"]]
        assert datas == ["a:tieu-chi-mau", "a:van-ban-mau", "cats"]
        fake_api.push_callback(USER, "a:van-ban-mau", questions)
        answer = await fake_api.wait_for_reply(USER)
        assert to_plain(answer.text).startswith("Văn bản mẫu quy định")
        # A forged or stale button gets a polite answer, not an error.
        fake_api.push_callback(USER, "a:khong-co-muc-nay", questions)
        stale = await fake_api.wait_for_reply(USER)
    assert "không còn hiệu lực" in stale.text
    assert len(fake_api.find_calls("answerCallbackQuery")) == 3


async def test_unknown_question_says_so(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "giá lúa hôm nay bao nhiêu một ký")
        reply = await fake_api.wait_for_reply(USER)
    assert "chưa có câu trả lời" in reply.text


async def test_long_answer_arrives_split_on_paragraphs(fake_api: FakeBotApi, tmp_path):
    knowledge = _knowledge_with_long_answer(tmp_path)
    async with running_bot(config_for(fake_api, tmp_path), knowledge):
        fake_api.push_message(USER, "cau hoi rat dai")
        first = await fake_api.wait_for_reply(USER)
        second = await fake_api.wait_for_reply(USER)
    assert len(first.text) <= MESSAGE_LIMIT and len(second.text) <= MESSAGE_LIMIT
    assert first.reply_markup is None  # the buttons go with the last part
    whole = first.text + "\n\n" + second.text
    assert whole.count("<b>Đoạn") == 40 and whole.count("</b>") >= 40
    assert "Căn cứ:" in second.text
    # Every part is balanced HTML on its own, so Telegram accepts each one.
    assert to_plain(first.text).startswith("Đoạn 1:")


async def test_error_in_handler_is_logged_and_bot_keeps_answering(
    fake_api: FakeBotApi, tmp_path, caplog
):
    caplog.set_level(logging.ERROR)
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.fail("sendMessage", 400, description="Bad Request: can't parse entities")
        fake_api.push_message(USER, "tieu chi mau 7")
        apology = await fake_api.wait_for_reply(USER)
        assert "đã có lỗi" in apology.text
        fake_api.push_message(USER, "van ban mau quy dinh gi")
        reply = await fake_api.wait_for_reply(USER)
    assert to_plain(reply.text).startswith("Văn bản mẫu quy định")
    assert any("Error while handling an update" in r.message for r in caplog.records)


async def test_survives_5xx_429_and_dropped_connections_while_polling(
    fake_api: FakeBotApi, tmp_path
):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.fail("getUpdates", 502, count=2)
        fake_api.fail("getUpdates", 429, retry_after=1)
        fake_api.drop("getUpdates")
        fake_api.push_message(USER, "/help")
        reply = await fake_api.wait_for_reply(USER, timeout=15)
    assert "Cách dùng Trợ lý NTM" in to_plain(reply.text)
    faults = [c.fault for c in fake_api.find_calls("getUpdates") if c.fault]
    assert len(faults) == 4


async def test_group_messages_are_ignored(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "tieu chi mau 7", chat_id=-100, chat_type="group")
        fake_api.push_message(USER, "/help")
        reply = await fake_api.wait_for_reply(USER)
    assert "Cách dùng" in reply.text
    assert fake_api.sent_messages(chat_id=-100) == []


def test_ntm_bot_run_works_against_any_bot_api_server(fake_api: FakeBotApi, tmp_path):
    """`ntm-bot run` as a subprocess, pointed at the server through the config alone."""
    with bot_process(fake_api, tmp_path, MINI) as bot:
        fake_api.wait_for_sync("setMyCommands", timeout=20)
        mark = fake_api.mark()
        fake_api.push_message(USER, "tc mau so 7")
        fake_api.wait_for_sync("sendMessage", since=mark, timeout=10)
        reply = fake_api.sent_messages(USER, since=mark)[0]
        assert to_plain(reply.text).startswith("Tiêu chí mẫu số 7")
    assert bot.returncode == 0, bot.output
    assert fake_api.token not in bot.output  # the token never reaches the log


def _knowledge_with_long_answer(tmp_path: Path) -> Path:
    directory = tmp_path / "knowledge"
    directory.mkdir()
    # Markup-heavy paragraphs: over the limit in raw HTML, well under it once rendered.
    ideas = " ".join(f"<i>ý {j}</i>" for j in range(8))
    paragraphs = [f"<b>Đoạn {i}:</b> {ideas}" for i in range(1, 41)]
    entry = {
        "id": "cau-tra-loi-dai",
        "question": "Câu hỏi có câu trả lời rất dài?",
        "alternates": [f"cau hoi rat dai kieu {i}" for i in range(6)],
        "answer": "\n\n".join(paragraphs),
        "period": "2026-2030 (hiện hành)",
        "sources": [{"doc": "Văn bản thử", "date": "2026", "title": "Dùng cho kiểm thử"}],
        "updated": "2026-11-26",
        "status": "current",
    }
    text = yaml.safe_dump(
        {"category": "dai", "title": "Dài", "entries": [entry]}, allow_unicode=True
    ).replace("updated: '2026-11-26'", "updated: 2026-11-26")
    (directory / "dai.yaml").write_text(text, encoding="utf-8")
    return directory


def test_ntm_bot_run_with_a_webhook(fake_api: FakeBotApi, tmp_path):
    """Webhook mode: Telegram's calls carry the secret token; others are refused."""
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1764000000,
            "chat": {"id": USER, "type": "private", "first_name": "Lan"},
            "from": {"id": USER, "is_bot": False, "first_name": "Lan"},
            "text": "tc mau so 7",
        },
    }
    with webhook_bot(fake_api, tmp_path, MINI) as bot:
        registered = fake_api.wait_for_sync("setWebhook", timeout=20)
        assert registered.params["url"] == "https://bot.example.invalid/ntm-hook"
        assert registered.params["secret_token"] == "bi-mat-cua-van-phong-123"
        assert bot.post(update, secret="sai-bi-mat") == 403
        assert bot.post(update, secret="") == 403
        mark = fake_api.mark()
        assert bot.post(update) == 200
        fake_api.wait_for_sync("sendMessage", since=mark, timeout=10)
        reply = fake_api.sent_messages(USER, since=mark)[0]
        assert to_plain(reply.text).startswith("Tiêu chí mẫu số 7")
    assert bot.running.returncode == 0, bot.running.output


async def test_slow_replies_and_slow_polling(fake_api: FakeBotApi, tmp_path):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.delay("sendMessage", 1.5)
        fake_api.push_message(USER, "/help")
        slow = await fake_api.wait_for_reply(USER, timeout=10)
        fake_api.delay("getUpdates", 3)
        fake_api.push_message(USER, "tc mau so 7")
        after = await fake_api.wait_for_reply(USER, timeout=15)
    assert "Cách dùng Trợ lý NTM" in to_plain(slow.text)
    assert to_plain(after.text).startswith("Tiêu chí mẫu số 7")


@pytest.mark.parametrize("errors", [1, 2, 3])
async def test_an_answer_survives_transient_errors_and_is_sent_once(
    fake_api: FakeBotApi, tmp_path, errors
):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        faults = [
            lambda: fake_api.fail("sendMessage", 500),
            lambda: fake_api.fail("sendMessage", 502),
            lambda: fake_api.drop("sendMessage"),
        ]
        for add in faults[:errors]:
            add()
        fake_api.push_message(USER, "tieu chi mau 7")
        reply = await fake_api.wait_for_reply(USER, timeout=15)
        await asyncio.sleep(0.5)
    assert to_plain(reply.text).startswith("Tiêu chí mẫu số 7")
    assert len(fake_api.sent_messages(USER)) == 1  # the answer, once, no apology


async def test_a_failed_button_acknowledgement_does_not_stop_the_reply(
    fake_api: FakeBotApi, tmp_path
):
    async with running_bot(config_for(fake_api, tmp_path), MINI):
        fake_api.push_message(USER, "/chude")
        menu = await fake_api.wait_for_reply(USER)
        fake_api.fail("answerCallbackQuery", 502)
        fake_api.push_callback(USER, "c:mau", menu)
        reply = await fake_api.wait_for_reply(USER, timeout=10)
    assert "Chủ đề mẫu" in to_plain(reply.text)
