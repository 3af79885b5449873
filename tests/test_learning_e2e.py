"""End to end: the FAQ learns phrasings from use, written into the knowledge file."""

from __future__ import annotations

import shutil
import sqlite3

from bot.config import MatchingConfig
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi

CADRE, COORDINATOR = 501, 900
MATCHING = MatchingConfig(answer_threshold=60, suggest_threshold=25, margin=6)
QUESTION = "Thủ tục xin cấp phép văn bản thử nghiệm ở đâu?"  # suggested, not answered
NOTE = "# Ghi chú của điều phối viên: giữ nguyên khi trợ lý ghi thêm cách hỏi.\n"


def _setup(api: FakeBotApi, tmp_path):
    """A copy of the small knowledge base, with a coordinator's comment in its file."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(FIXTURES / "mini", knowledge)
    path = knowledge / "mau.yaml"
    path.write_text(NOTE + path.read_text(encoding="utf-8"), encoding="utf-8")
    config = config_for(
        api,
        tmp_path,
        matching=MATCHING,
        coordinators=frozenset({COORDINATOR}),
        knowledge_dir=knowledge,
    )
    return config, path


async def _send_to_coordinator(api: FakeBotApi, reply):
    """The cadre presses "Hỏi điều phối viên" under `reply` and sends: the coordinator's card."""
    api.push_callback(CADRE, _buttons(reply)["🙋 Hỏi điều phối viên"], reply)
    confirm = await api.wait_for_reply(CADRE)
    api.push_callback(CADRE, _buttons(confirm)["✅ Gửi"], confirm)
    await api.wait_for_reply(CADRE)
    return await api.wait_for_reply(COORDINATOR, timeout=10)


def _buttons(message) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_a_chosen_suggestion_accepted_in_review_is_answered_directly_next_time(
    fake_api: FakeBotApi, tmp_path
):
    config, path = _setup(fake_api, tmp_path)
    before = path.read_text(encoding="utf-8")
    question = "mẫu"
    async with running_bot(config, config.knowledge_dir):
        fake_api.push_message(CADRE, question)
        suggestion = await fake_api.wait_for_reply(CADRE)
        assert "Có phải bạn muốn hỏi" in suggestion.text
        fake_api.push_callback(CADRE, "a:van-ban-mau", suggestion)
        await fake_api.wait_for_reply(CADRE)
        # Nobody but a coordinator may accept, whatever the button says.
        fake_api.push_callback(CADRE, "hl:ok:1", suggestion)
        assert "không còn hiệu lực" in (await fake_api.wait_for_reply(CADRE)).text
        fake_api.push_message(COORDINATOR, "/hoclai")
        review = await fake_api.wait_for_reply(COORDINATOR)
        assert "Văn bản mẫu quy định điều gì?" in to_plain(review.text)
        assert "1. «mẫu» – 1 lần" in to_plain(review.text)
        fake_api.push_callback(COORDINATOR, _buttons(review)["✅ 1"], review)
        added = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        assert added.text.startswith("✅ Đã thêm")
        fake_api.push_message(CADRE, question)
        answer = await fake_api.wait_for_reply(CADRE)
    assert to_plain(answer.text).startswith("Văn bản mẫu quy định")
    after = path.read_text(encoding="utf-8")
    assert after.startswith(NOTE)
    # Exactly one line more: the new phrasing, in the file's own quoting.
    new_lines = [line for line in after.splitlines() if line not in before.splitlines()]
    assert new_lines == ['      - "mẫu"']
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    state = sqlite3.connect(config.database).execute("SELECT state FROM learned").fetchall()
    trail = (
        sqlite3.connect(config.database)
        .execute("SELECT actor, action, detail FROM audit WHERE action = 'phrasing.accept'")
        .fetchall()
    )
    assert trail == [
        (COORDINATOR, "phrasing.accept", '{"cách hỏi": "mẫu", "mục": "van-ban-mau"}')
    ]  # in the trail, once; the cadre's forged press left nothing
    assert state == [("accepted",)]


async def test_a_ticket_question_joins_the_entry_it_was_answered_with_unless_invalid(
    fake_api: FakeBotApi, tmp_path
):
    config, path = _setup(fake_api, tmp_path)
    before = path.read_text(encoding="utf-8")
    async with running_bot(config, config.knowledge_dir):
        # 👎 on an answer, sent to a coordinator, who answers with the same entry: the
        # question is already one of its phrasings, so adding it is refused with the reason.
        fake_api.push_message(CADRE, "van ban mau quy dinh gi")
        answer = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, "fb:van-ban-mau:0", answer)
        offer = await fake_api.wait_for_reply(CADRE)
        card = await _send_to_coordinator(fake_api, offer)
        fake_api.push_callback(COORDINATOR, _buttons(card)["📚 Đã có trong FAQ"], card)
        choices = await fake_api.wait_for_reply(COORDINATOR)
        fake_api.push_callback(COORDINATOR, "hd:pick:1:van-ban-mau", choices)
        closed = await fake_api.wait_for_reply(COORDINATOR)
        add = next(d for t, d in _buttons(closed).items() if t.startswith("➕"))
        fake_api.push_callback(COORDINATOR, add, closed)
        refused = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        await fake_api.wait_for_reply(CADRE, timeout=10)  # the entry, sent to the cadre
        # A question of its own, answered in words, joins the entry the coordinator picks.
        fake_api.push_message(CADRE, QUESTION)
        reply = await fake_api.wait_for_reply(CADRE)
        card = await _send_to_coordinator(fake_api, reply)
        fake_api.push_message(COORDINATOR, "Xem mục văn bản mẫu.", reply_to_message=card.message)
        sent = await fake_api.wait_for_reply(COORDINATOR)
        add = _buttons(sent)["➕ Thêm câu hỏi vào mục: Văn bản mẫu quy định điều gì?"]
        fake_api.push_callback(COORDINATOR, add, sent)
        added = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
    assert refused.text.startswith("Chưa thêm được")
    assert "trùng" in refused.text and "mau.yaml" in refused.text
    assert added.text.startswith("✅ Đã thêm")
    new_lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line not in before.splitlines()
    ]
    assert new_lines == [f'      - "{QUESTION}"']


async def test_a_new_entry_drafted_from_an_answer_is_refused_until_valid_then_answers(
    fake_api: FakeBotApi, tmp_path
):
    config, path = _setup(fake_api, tmp_path)
    async with running_bot(config, config.knowledge_dir):
        fake_api.push_message(CADRE, QUESTION)
        reply = await fake_api.wait_for_reply(CADRE)
        card = await _send_to_coordinator(fake_api, reply)
        fake_api.push_message(
            COORDINATOR, "Nộp hồ sơ tại bộ phận một cửa của UBND xã.", reply_to_message=card.message
        )
        sent = await fake_api.wait_for_reply(COORDINATOR)
        await fake_api.wait_for_reply(CADRE, timeout=10)  # the answer, delivered

        async def say(text: str):
            fake_api.push_message(COORDINATOR, text)
            return await fake_api.wait_for_reply(COORDINATOR, timeout=10)

        async def press(message, label: str):
            fake_api.push_callback(COORDINATOR, _buttons(message)[label], message)
            return await fake_api.wait_for_reply(COORDINATOR, timeout=10)

        topics = await press(sent, "📝 Soạn mục FAQ mới từ câu trả lời này")
        await press(topics, "Chủ đề mẫu")
        await say("Xin cấp phép văn bản thử nghiệm ở đâu?")
        # One phrasing is another entry's: the validator will refuse it.
        await say(
            "xin phep van ban thu nghiem o dau\nnop ho so vb thu nghiem\nvan ban mau quy dinh gi"
        )
        few = await say("cấp phép văn bản thử ở đâu")
        assert "Cần thêm ít nhất 1 cách hỏi" in few.text
        await say("giay phep van ban thu nghiem")
        await say("Hiện hành (từ 01/01/2026)")
        status = await say("QĐ 9/2026/QĐ-TEST | 01/02/2026 | Văn bản dùng cho kiểm thử")
        preview = await press(status, "Quy định đang áp dụng")
        assert "Nộp hồ sơ tại bộ phận một cửa" in preview.text
        refused = await press(preview, "✅ Lưu vào kho")
        assert refused.text.startswith("Chưa lưu được") and "mau.yaml" in refused.text
        assert path.read_text(encoding="utf-8").count("Xin cấp phép") == 0  # nothing written
        await press(refused, "✏️ Sửa cách hỏi")
        preview = await say(
            "xin phep van ban thu nghiem o dau\nnop ho so vb thu nghiem\n"
            "cấp phép văn bản thử ở đâu\ngiay phep van ban thu nghiem\nvb thu nghiem xin o dau"
        )
        saved = await press(preview, "✅ Lưu vào kho")
        assert saved.text.startswith("✅ Đã thêm mục")
        fake_api.push_message(CADRE, "giay phep van ban thu nghiem")
        answer = await fake_api.wait_for_reply(CADRE)
    assert "Nộp hồ sơ tại bộ phận một cửa của UBND xã." in answer.text
    text = path.read_text(encoding="utf-8")
    assert text.startswith(NOTE) and "  - id: xin-cap-phep-van-ban-thu-nghiem-o-dau" in text
