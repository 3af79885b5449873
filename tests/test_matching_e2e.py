"""End to end: answers with feedback, suggestions, and questions without an answer."""

from __future__ import annotations

import sqlite3

from bot.config import MatchingConfig
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
CADRE, COORDINATOR = 501, 900
# Explicit cut-offs, so these tests do not move when the defaults are tuned.
MATCHING = MatchingConfig(answer_threshold=60, suggest_threshold=25, margin=6)


def _config(api: FakeBotApi, tmp_path):
    return config_for(api, tmp_path, matching=MATCHING, coordinators=frozenset({COORDINATOR}))


def _buttons(reply) -> list[tuple[str, str]]:
    rows = reply.reply_markup["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def test_answer_carries_votes_and_a_vote_is_stored(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, "tieu chi mau so 7")
        answer = await fake_api.wait_for_reply(CADRE)
        assert ("👍 Hữu ích", "fb:tieu-chi-mau:1") in _buttons(answer)
        assert ("👎 Chưa đúng", "fb:tieu-chi-mau:0") in _buttons(answer)
        mark = fake_api.mark()
        query = fake_api.push_callback(CADRE, "fb:tieu-chi-mau:1", answer)
        ack = await fake_api.wait_for("answerCallbackQuery", since=mark)
        assert ack.params["callback_query_id"] == query["id"]
        assert "ghi nhận" in ack.params["text"]
        assert fake_api.sent_messages(CADRE, since=mark) == []  # a toast, not a new message
        # A 👎 offers to ask a coordinator (see test_helpdesk_e2e).
        fake_api.push_callback(CADRE, "fb:tieu-chi-mau:0", answer)
        offer = await fake_api.wait_for_reply(CADRE, since=mark)
    assert [text for text, _ in _buttons(offer)] == ["🙋 Hỏi điều phối viên"]
    rows = sqlite3.connect(config.database).execute(
        "SELECT user_id, entry_id, vote, question FROM feedback ORDER BY id"
    )
    assert rows.fetchall() == [
        (CADRE, "tieu-chi-mau", 1, "tieu chi mau so 7"),
        (CADRE, "tieu-chi-mau", 0, "tieu chi mau so 7"),
    ]


async def test_forged_vote_is_not_stored(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, "tieu chi mau so 7")
        answer = await fake_api.wait_for_reply(CADRE)
        for forged in ("fb:khong-co-muc:1", "fb:tieu-chi-mau:7", "fb:" + "x" * 60):
            fake_api.push_callback(CADRE, forged, answer)
            reply = await fake_api.wait_for_reply(CADRE)
            assert "không còn hiệu lực" in reply.text
    count = sqlite3.connect(config.database).execute("SELECT count(*) FROM feedback").fetchone()
    assert count == (0,)


async def test_suggestion_buttons_lead_to_the_chosen_answer(fake_api: FakeBotApi, tmp_path):
    async with running_bot(_config(fake_api, tmp_path), MINI):
        fake_api.push_message(CADRE, "mẫu")
        suggestion = await fake_api.wait_for_reply(CADRE)
        # The candidates in full, each with its period; the buttons carry their numbers.
        assert suggestion.text.splitlines()[2:] == [
            "1. Tiêu chí mẫu số 7 là gì? – 2026-2030 (hiện hành)",
            "2. Văn bản mẫu quy định điều gì? – 2024 (đã hết hiệu lực)",
        ]
        assert _buttons(suggestion) == [
            ("1", "a:tieu-chi-mau"),
            ("2", "a:van-ban-mau"),
            ("Không phải – xem theo chủ đề", "cats"),
            ("🙋 Hỏi điều phối viên", "hd:ask:1"),
        ]
        fake_api.push_callback(CADRE, "a:van-ban-mau", suggestion)
        answer = await fake_api.wait_for_reply(CADRE)
    assert to_plain(answer.text).startswith("Văn bản mẫu quy định")


async def test_unanswered_question_is_stored_and_listed_for_coordinators_only(
    fake_api: FakeBotApi, tmp_path
):
    async with running_bot(_config(fake_api, tmp_path), MINI):
        for text in ("Giá lúa hôm nay bao nhiêu?", "gia lua hom nay bao nhieu"):
            fake_api.push_message(CADRE, text)
            reply = await fake_api.wait_for_reply(CADRE)
            assert "chưa có câu trả lời" in reply.text
        fake_api.push_message(CADRE, "/chuatraloi")
        refused = await fake_api.wait_for_reply(CADRE)
        fake_api.push_message(COORDINATOR, "/chuatraloi")
        listing = await fake_api.wait_for_reply(COORDINATOR)
    assert refused.text == "Lệnh này chỉ dành cho điều phối viên."
    text = to_plain(listing.text)
    assert "«gia lua hom nay bao nhieu» – 2 lần" in text
    assert str(CADRE) not in text  # what was asked, never who asked


async def test_suggest_is_stored_too(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, "mẫu")
        await fake_api.wait_for_reply(CADRE)
    rows = sqlite3.connect(config.database).execute(
        "SELECT normalized, decision, count FROM unanswered"
    )
    assert rows.fetchall() == [("mau", "suggest", 1)]


async def test_reload_keeps_the_old_knowledge_when_the_new_one_is_invalid(
    fake_api: FakeBotApi, tmp_path
):
    import shutil

    knowledge = tmp_path / "knowledge"
    shutil.copytree(MINI, knowledge)
    config = _config(fake_api, tmp_path)
    config = type(config)(**{**config.__dict__, "knowledge_dir": knowledge})
    mau = knowledge / "mau.yaml"
    async with running_bot(config, knowledge):
        fake_api.push_message(CADRE, "/reload")
        assert (
            await fake_api.wait_for_reply(CADRE)
        ).text == "Lệnh này chỉ dành cho điều phối viên."

        good = mau.read_text(encoding="utf-8")
        mau.write_text(good.replace('period: "2024 (đã hết hiệu lực)"', "period: 7"), "utf-8")
        fake_api.push_message(COORDINATOR, "/reload")
        refused = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        assert "chưa hợp lệ (1 lỗi)" in refused and "vẫn dùng bản cũ" in refused
        assert "mau.yaml:" in refused and "'period'" in refused
        fake_api.push_message(CADRE, "van ban mau quy dinh gi")
        still = await fake_api.wait_for_reply(CADRE)
        assert to_plain(still.text).startswith("Văn bản mẫu quy định")

        mau.write_text(
            good.replace("Văn bản mẫu quy định cách", "Văn bản mẫu (bản mới) quy định cách"),
            "utf-8",
        )
        fake_api.push_message(COORDINATOR, "/reload")
        done = await fake_api.wait_for_reply(COORDINATOR)
        assert done.text == "Đã nạp lại kho tri thức: 2 mục trong 1 chủ đề, 0 thao tác."
        fake_api.push_message(CADRE, "van ban mau quy dinh gi")
        fresh = await fake_api.wait_for_reply(CADRE)
    assert to_plain(fresh.text).startswith("Văn bản mẫu (bản mới)")


async def test_greetings_and_thanks_are_answered_politely_and_not_stored(
    fake_api: FakeBotApi, tmp_path
):
    config = _config(fake_api, tmp_path)
    social = {
        "Chào ad ạ": "Chào bạn!",
        "alo": "Chào bạn!",
        "cảm ơn ad nhiều ạ": "Rất vui được giúp bạn!",
        "Xin trân trọng cảm ơn Trợ lý đã hỗ trợ": "Rất vui được giúp bạn!",
        "ok thanks": "Rất vui được giúp bạn!",
        "thoi tiet hom nay the nao": "Tôi là trợ lý về chương trình nông thôn mới",
        "kể chuyện cười đi bạn": "Tôi là trợ lý về chương trình nông thôn mới",
    }
    async with running_bot(config):
        for text, opening in social.items():
            fake_api.push_message(CADRE, text)
            reply = await fake_api.wait_for_reply(CADRE)
            assert reply.text.startswith(opening), text
    assert sqlite3.connect(config.database).execute(
        "SELECT count(*) FROM unanswered"
    ).fetchone() == (0,)


async def test_thanks_or_a_greeting_around_a_question_answers_the_question(
    fake_api: FakeBotApi, tmp_path
):
    asked = {
        "cảm ơn, tc 18 là gì": "tc18-tong-quan",
        "tks ad, cho hỏi tc 9": "tieu-chi-9-2026-2030",
        "chào ad, cho em hỏi chuẩn tiếp cận pháp luật hiện hành ạ": "tiep-can-phap-luat-hien-hanh",
        "hồ sơ công nhận xã nông thôn mới gồm những gì? cảm ơn ad nhiều": "ho-so-cong-nhan",
    }
    async with running_bot(_config(fake_api, tmp_path)):
        for text, entry_id in asked.items():
            fake_api.push_message(CADRE, text)
            reply = await fake_api.wait_for_reply(CADRE)
            votes = [data for _, data in _buttons(reply) if data.startswith("fb:")]
            assert votes == [f"fb:{entry_id}:1", f"fb:{entry_id}:0"], text


async def test_help_shows_coordinator_commands_to_coordinators_only(fake_api: FakeBotApi, tmp_path):
    async with running_bot(_config(fake_api, tmp_path), MINI):
        fake_api.push_message(CADRE, "/help")
        cadre = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        fake_api.push_message(COORDINATOR, "/help")
        coordinator = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert "/thongbao" not in cadre and "Dành cho điều phối viên" not in cadre
    assert "Dành cho điều phối viên" in coordinator and "/thongbao" in coordinator
    scope = {"type": "chat", "chat_id": COORDINATOR}
    menu = [c["command"] for c in fake_api.commands(scope=scope)]
    assert {"thongbao", "chuatraloi", "reload", "start"} <= set(menu)
    assert "thongbao" not in [c["command"] for c in fake_api.commands()]


async def test_id_tells_a_person_their_own_telegram_id(fake_api: FakeBotApi, tmp_path):
    async with running_bot(_config(fake_api, tmp_path), MINI):
        fake_api.push_message(CADRE, "/id")
        cadre = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        fake_api.push_message(COORDINATOR, "/id")
        coordinator = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert cadre == f"Mã Telegram của bạn: {CADRE} (vai: người dùng)."
    assert coordinator == f"Mã Telegram của bạn: {COORDINATOR} (vai: điều phối viên)."


async def test_undated_questions_get_the_rule_in_force_and_dated_ones_their_period(
    fake_api: FakeBotApi, tmp_path
):
    asked = {
        # no period named: what applies today
        "cb cong chuc xa dat chuan la can nhung tieu chuan gi": "chuan-can-bo-sau-2025",
        "bộ tiêu chí nông thôn mới gồm những tiêu chí nào": "bo-tieu-chi-2026-2030",
        # a period, year or document named: that period's rule, led by what applies now
        "tiêu chuẩn công chức xã theo nghị định 33/2023": "chuan-cong-chuc-xa",
        "bộ tiêu chí nông thôn mới giai đoạn 2016-2020 gồm những gì": "bo-tieu-chi-2016-2020",
    }
    replies = {}
    async with running_bot(_config(fake_api, tmp_path)):
        for text in asked:
            fake_api.push_message(CADRE, text)
            replies[text] = await fake_api.wait_for_reply(CADRE)
    for text, entry_id in asked.items():
        votes = [data for _, data in _buttons(replies[text]) if data.startswith("fb:")]
        assert votes == [f"fb:{entry_id}:1", f"fb:{entry_id}:0"], text
    for text in list(asked)[:2]:
        assert not replies[text].text.startswith("⚠️")  # in force: no warning
    old = replies["tiêu chuẩn công chức xã theo nghị định 33/2023"]
    assert to_plain(old.text).startswith("⚠️ Không còn áp dụng. Đang áp dụng: Sau 01/7/2025")
    assert _buttons(old)[0][1] == "a:chuan-can-bo-sau-2025"
    assert _buttons(old)[0][0].startswith("✅ Đang áp dụng:")
