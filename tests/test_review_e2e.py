"""End to end: the review queue of unanswered questions and 👎, and the weekly digest."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from dataclasses import replace

from bot import feedback, knowledge_edit
from bot.clock import VIETNAM, utc_now
from bot.config import HelpdeskConfig, MatchingConfig
from bot.db import Database
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi

CADRE, COORDINATOR = 501, 900
MATCHING = MatchingConfig(answer_threshold=60, suggest_threshold=25, margin=6)


def _setup(api: FakeBotApi, tmp_path, **changes):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(FIXTURES / "mini", knowledge)
    return config_for(
        api,
        tmp_path,
        matching=MATCHING,
        coordinators=frozenset({COORDINATOR}),
        knowledge_dir=knowledge,
        **changes,
    )


def _buttons(message) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_the_queue_tells_refusals_from_suggestions_and_can_be_worked_through(
    fake_api: FakeBotApi, tmp_path
):
    config = _setup(fake_api, tmp_path)
    async with running_bot(config, config.knowledge_dir):
        for text in (
            "Giá lúa hôm nay bao nhiêu?",
            "gia lua hom nay bao nhieu",
            "mẫu",
            "Lịch tiêm phòng?",
        ):
            fake_api.push_message(CADRE, text)
            await fake_api.wait_for_reply(CADRE)
        fake_api.push_message(CADRE, "tieu chi mau so 7")
        answer = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, "fb:tieu-chi-mau:0", answer)
        await fake_api.wait_for_reply(CADRE)
        # A cadre cannot touch the queue, whatever the button says.
        fake_api.push_callback(CADRE, "uq:no:1", answer)
        assert "không còn hiệu lực" in (await fake_api.wait_for_reply(CADRE)).text
        fake_api.push_message(COORDINATOR, "/chuatraloi")
        listing = await fake_api.wait_for_reply(COORDINATOR)
        text = to_plain(listing.text)
        assert text.index("Trợ lý chưa trả lời được") < text.index(
            "«gia lua hom nay bao nhieu» – 2 lần"
        )
        assert text.index("Trợ lý chỉ gợi ý được") < text.index("«mẫu» – 1 lần")
        assert "«tieu chi mau so 7» → trả lời bằng mục «Tiêu chí mẫu số 7 là gì?»" in text
        assert str(CADRE) not in text
        # Dismiss the rice price, mark the 👎 read; an entry now covers "mẫu".
        buttons = _buttons(listing)
        rice = next(d for t, d in buttons.items() if t.startswith("✖️") and d == "uq:no:1")
        fake_api.push_callback(COORDINATOR, rice, listing)
        vote = next(d for t, d in buttons.items() if t.startswith("✔️"))
        fake_api.push_callback(COORDINATOR, vote, listing)
        knowledge_edit.add_phrasing(config.knowledge_dir, "van-ban-mau", "mẫu")
        fake_api.push_message(COORDINATOR, "/reload")
        await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_message(COORDINATOR, "/chuatraloi")
        again = await fake_api.wait_for_reply(COORDINATOR)
    text = to_plain(again.text)
    assert "gia lua" not in text and "mẫu" not in text and "tieu chi mau so 7" not in text
    assert "«Lịch tiêm phòng?» – 1 lần" in text
    assert "1 câu đã có mục trả lời thẳng" in text
    states = sqlite3.connect(config.database).execute(
        "SELECT example, state, entry_id FROM unanswered ORDER BY rowid"
    )
    assert states.fetchall() == [
        ("gia lua hom nay bao nhieu", "dismissed", None),
        ("mẫu", "covered", "van-ban-mau"),
        ("Lịch tiêm phòng?", "open", None),
    ]


async def test_small_talk_never_reaches_the_queue(fake_api: FakeBotApi, tmp_path):
    config = config_for(fake_api, tmp_path, coordinators=frozenset({COORDINATOR}))
    async with running_bot(config):  # the bundled knowledge, with its small-talk phrasings
        for text in ("thời tiết hôm nay thế nào", "cảm ơn ad nhiều", "chào buổi sáng"):
            fake_api.push_message(CADRE, text)
            await fake_api.wait_for_reply(CADRE)
    count = sqlite3.connect(config.database).execute("SELECT COUNT(*) FROM unanswered")
    assert count.fetchone() == (0,)


async def test_the_weekly_digest_reaches_coordinators_once_a_week(fake_api: FakeBotApi, tmp_path):
    today = utc_now().astimezone(VIETNAM).weekday()
    helpdesk = HelpdeskConfig(digest_weekday=today, digest_hour=0)
    config = _setup(fake_api, tmp_path, helpdesk=helpdesk)
    database = Database(config.database)
    database.call(feedback.record_unanswered, "gia lua", "Giá lúa?", "none", utc_now().isoformat())
    database.call(feedback.record_vote, CADRE, "tieu-chi-mau", 0, utc_now().isoformat())
    database.close()
    async with running_bot(config, config.knowledge_dir):
        digest = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
    text = to_plain(digest.text)
    assert "Tóm tắt tuần" in text
    assert "chưa trả lời được: 1" in text and "👎 trên câu trả lời: 1" in text
    async with running_bot(replace(config), config.knowledge_dir):  # restarted: not again
        await asyncio.sleep(1.5)
    digests = [m for m in fake_api.sent_messages(COORDINATOR) if "Tóm tắt tuần" in (m.text or "")]
    assert len(digests) == 1
