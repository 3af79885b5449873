"""End to end: cadres ask in plain words and get the thing itself — their commune, their
record, their standard, the courses, registration — or the one-tap link when unlinked."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace

import pytest

from bot import BUNDLED_KNOWLEDGE_DIR, demo
from bot.assistant import Assistant
from bot.config import Config
from bot.console import chat
from bot.db import Database
from bot.knowledge import load_knowledge
from bot.replies import User
from bot.telegram_html import to_plain
from tests.conftest import config_for, running_bot
from tests.fake_botapi import FakeBotApi

CADRE, STRANGER, COORDINATOR = 7101, 7102, 900
CADRE_PHONE = "0900000002"  # demo: Phó Chủ tịch UBND xã Bình Lợi, lacks trung cấp LLCT
OPEN_COURSE = "CDS-2026-04"  # demo: Chuyển đổi số…, starts in 30 days, room left
GAP_COURSE = "LLCT-TC-2026"  # demo: Trung cấp lý luận chính trị…, starts in 12 days


@pytest.fixture
def config(fake_api: FakeBotApi, tmp_path) -> Config:
    config = config_for(fake_api, tmp_path, coordinators=frozenset({COORDINATOR}))
    database = Database(config.database)
    database.call(demo.seed_demo, dt.date.today())
    database.close()
    return config


def _clear_records(config: Config, phone: str) -> None:
    """The cadre without any course record, so every course is open to them."""
    with sqlite3.connect(config.database) as conn:
        conn.execute(
            "DELETE FROM training_records WHERE cadre_id = (SELECT id FROM cadres WHERE phone = ?)",
            ["+84" + phone[1:]],
        )


async def _say(api: FakeBotApi, user: int, text: str):
    api.push_message(user, text)
    return await api.wait_for_reply(user)


def _datas(message) -> list[str]:
    markup = message.reply_markup or {}
    return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]


# Flood control lets a burst of 12 messages through: each test stays under it.
@pytest.mark.parametrize(
    "asked",
    [
        {
            # the commune
            "xa toi dat bao nhieu tieu chi": "Xã Bình Lợi (Thành phố Hồ Chí Minh)",
            "xã mình còn thiếu tiêu chí nào": "Xã Bình Lợi (Thành phố Hồ Chí Minh)",
            "Xã của tôi": "Xã Bình Lợi (Thành phố Hồ Chí Minh)",
            "xa cua toi": "Xã Bình Lợi (Thành phố Hồ Chí Minh)",
            "xa e dat chuan ntm chua": "Xã Bình Lợi (Thành phố Hồ Chí Minh)",
        },
        {
            # the training record
            "toi da hoc nhung lop nao": "Hồ sơ đào tạo:",
            "dao tao cua toi": "Hồ sơ đào tạo:",
            "em đã có những chứng chỉ gì rồi": "Hồ sơ đào tạo:",
            # the standard, what is missing, the deadline
            "toi con thieu gi de dat chuan": "Chuẩn của bạn:",
            "han chot dat chuan cua toi la khi nao": "Chuẩn của bạn:",
            # the courses
            "sap toi co khoa hoc nao": "Các khóa học sắp tới",
            "co lop tap huan nao sap mo ko": "Các khóa học sắp tới",
        },
    ],
    ids=["commune", "record-standard-courses"],
)
async def test_personal_questions_in_words_reach_the_cadres_own_data(fake_api, config, asked):
    async with running_bot(config):
        fake_api.push_contact(CADRE, CADRE_PHONE)
        await fake_api.wait_for_reply(CADRE)
        for text, opening in asked.items():
            reply = await _say(fake_api, CADRE, text)
            assert to_plain(reply.text).startswith(opening), (text, reply.text[:80])
    shown = [to_plain(m.text or "") for m in fake_api.sent_messages(CADRE)]
    own = [text for text in shown if text.startswith("Xã Bình Lợi (")]
    assert all("Cán bộ, công chức đạt chuẩn" in text for text in own)  # one's own commune


async def test_commands_typed_with_diacritics_and_a_named_commune(fake_api, config):
    async with running_bot(config):
        fake_api.push_contact(CADRE, CADRE_PHONE)
        await fake_api.wait_for_reply(CADRE)
        commune = to_plain((await _say(fake_api, CADRE, "/xã")).text)
        record = to_plain((await _say(fake_api, CADRE, "/đàotạo")).text)
        spaced = to_plain((await _say(fake_api, CADRE, "/đào tạo")).text)
        other = to_plain((await _say(fake_api, CADRE, "xã Tân Nhựt đạt mấy tiêu chí rồi")).text)
    assert commune.startswith("Xã Bình Lợi")
    assert record.startswith("Hồ sơ đào tạo:") and spaced == record
    # Another commune named in the words: its public data, without its people.
    assert other.startswith("Xã Tân Nhựt") and "Cán bộ, công chức đạt chuẩn" not in other


async def test_an_unlinked_cadre_gets_the_link_button_then_what_they_asked(fake_api, config):
    async with running_bot(config):
        ask = await _say(fake_api, STRANGER, "xa minh dat may tieu chi roi")
        [[button]] = ask.reply_markup["keyboard"]
        fake_api.push_contact(STRANGER, CADRE_PHONE)
        linked = await fake_api.wait_for_reply(STRANGER)
        shown = await fake_api.wait_for_reply(STRANGER)
    assert button == {"text": "📱 Chia sẻ số điện thoại", "request_contact": True}
    assert "chưa liên kết" in ask.text and "xem tình hình xã của bạn" in ask.text
    assert "Đã liên kết tài khoản" in linked.text
    assert to_plain(shown.text).startswith("Xã Bình Lợi")


async def test_courses_are_one_tap_from_registration(fake_api, config):
    _clear_records(config, CADRE_PHONE)
    async with running_bot(config):
        fake_api.push_contact(CADRE, CADRE_PHONE)
        await fake_api.wait_for_reply(CADRE)
        listing = await _say(fake_api, CADRE, "/khoahoc")
        fake_api.push_callback(CADRE, f"reg:{OPEN_COURSE}", listing)
        registered = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        again = await _say(fake_api, CADRE, "sắp tới có lớp nào")
        by_words = await _say(fake_api, CADRE, "đăng ký lớp trung cấp lý luận chính trị")
        record = await _say(fake_api, CADRE, "/daotao")
    assert f"reg:{GAP_COURSE}" in _datas(listing) and f"reg:{OPEN_COURSE}" in _datas(listing)
    assert registered.startswith("✅ Đã đăng ký cho bạn khóa học")
    # Registered: no more button for it, and the list says so.
    assert f"reg:{OPEN_COURSE}" not in _datas(again)
    assert "✅ Bạn đã đăng ký khóa này." in to_plain(again.text)
    # A course named in words: that course alone, with its button.
    assert _datas(by_words) == [f"reg:{GAP_COURSE}"]
    assert to_plain(by_words.text).startswith("Trung cấp lý luận chính trị")
    # The record's "Còn thiếu" leads to the open course that fills the gap.
    assert "Khóa đang mở đăng ký phù hợp: Trung cấp lý luận chính trị" in to_plain(record.text)
    assert _datas(record) == [f"reg:{GAP_COURSE}"]


async def test_the_gap_course_is_not_offered_once_registered(fake_api, config):
    """The demo cadre is already registered for the course that fills the gap."""
    async with running_bot(config):
        fake_api.push_contact(CADRE, CADRE_PHONE)
        await fake_api.wait_for_reply(CADRE)
        record = await _say(fake_api, CADRE, "/daotao")
        standard = await _say(fake_api, CADRE, "/chuan")
    assert "Trung cấp lý luận chính trị" in to_plain(record.text)  # under "Sắp học"
    assert "Khóa đang mở đăng ký phù hợp" not in to_plain(record.text)
    assert _datas(record) == [] and _datas(standard) == []


async def test_a_full_course_says_so_and_has_no_button(fake_api, config):
    with sqlite3.connect(config.database) as conn:
        conn.execute("UPDATE courses SET capacity = 0 WHERE code = ?", [OPEN_COURSE])
    async with running_bot(config):
        listing = await _say(fake_api, STRANGER, "/khoahoc")
    text = to_plain(listing.text)
    block = text[text.index("Chuyển đổi số") :]
    assert "Hết chỗ." in block and "Còn 0" not in text
    assert f"reg:{OPEN_COURSE}" not in _datas(listing)


async def test_coordinator_actions_are_not_reached_by_cadres_words(fake_api, config):
    async with running_bot(config):
        cadre = to_plain((await _say(fake_api, STRANGER, "soạn thông báo gửi cán bộ")).text)
        coordinator = to_plain(
            (await _say(fake_api, COORDINATOR, "soạn thông báo gửi cán bộ")).text
        )
    assert "chỉ dành cho điều phối viên" not in cadre and "Soạn thông báo" not in cadre
    assert coordinator.startswith("Soạn thông báo – bước 1/3")


def test_a_coordinator_completes_an_announcement_in_the_console(tmp_path):
    config = replace(
        Config(), database=tmp_path / "ntm.sqlite3", coordinators=frozenset({COORDINATOR})
    )
    database = Database(config.database)
    database.call(demo.seed_demo, dt.date.today())
    database.call(lambda db: db.execute("UPDATE cadres SET telegram_user_id = 4242 WHERE id = 1"))
    database.call(lambda db: db.conn.commit())
    assistant = Assistant(config, load_knowledge(BUNDLED_KNOWLEDGE_DIR), database)
    screen: list[str] = []

    def press(label: str) -> str:
        """Type the number the console printed for the latest button with this label."""
        line = next(line for line in reversed(screen) if f"] {label}" in line)
        return line.split("[")[1].split("]")[0]

    steps = iter(
        [
            lambda: "/thongbao",
            lambda: press("✍️ Tự soạn nội dung"),
            lambda: "Lớp tập huấn chuyển đổi số khai giảng tháng sau.",
            lambda: press("Tất cả người nhận (1)"),
            lambda: press("🚀 Gửi ngay"),
            lambda: press("✅ Xác nhận gửi"),
        ]
    )

    def read(_prompt: str) -> str:
        step = next(steps, None)
        if step is None:
            raise EOFError
        return step()

    chat(
        assistant,
        read=read,
        write=lambda text: screen.extend(text.splitlines()),
        user=User(COORDINATOR),
    )
    texts = database.call(lambda db: db.execute("SELECT text FROM broadcasts").fetchall())
    database.close()
    assert any(line.startswith("Đã xếp thông báo #1 tới 1 người") for line in screen)
    assert len(texts) == 1 and "chuyển đổi số khai giảng tháng sau" in texts[0][0]


def test_every_action_of_the_catalogue_has_a_handler(tmp_path):
    from bot.actions import BY_ID

    database = Database(tmp_path / "ntm.sqlite3")
    assistant = Assistant(Config(), load_knowledge(BUNDLED_KNOWLEDGE_DIR), database)
    database.close()
    assert set(assistant.actions) == set(BY_ID)


async def test_what_changes_something_asks_first_when_asked_in_words(fake_api, config):
    async with running_bot(config):
        fake_api.push_contact(CADRE, CADRE_PHONE)
        await fake_api.wait_for_reply(CADRE)
        asked = await _say(fake_api, CADRE, "hủy liên kết là gì")
        fake_api.push_callback(CADRE, "no", asked)
        await fake_api.wait_for(lambda c: c.method == "answerCallbackQuery", timeout=5)
        still = to_plain((await _say(fake_api, CADRE, "/daotao")).text)
        again = await _say(fake_api, CADRE, "toi muon huy lien ket tai khoan")
        fake_api.push_callback(CADRE, "ok:huylienket", again)
        done = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        # A forged confirmation of a coordinator's action runs nothing.
        fake_api.push_callback(CADRE, "ok:thongbao", again)
        refused = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert _datas(asked) == ["ok:huylienket", "no"] and "Hủy liên kết" in asked.text
    assert still.startswith("Hồ sơ đào tạo:")  # "Không" kept the link
    assert done.startswith("Đã hủy liên kết")
    assert refused == "Lệnh này chỉ dành cho điều phối viên."


async def test_a_registration_pressed_before_linking_is_done_once_linked(fake_api, config):
    _clear_records(config, CADRE_PHONE)
    async with running_bot(config):
        listing = await _say(fake_api, STRANGER, "/khoahoc")
        fake_api.push_callback(STRANGER, f"reg:{OPEN_COURSE}", listing)
        prompt = await fake_api.wait_for_reply(STRANGER)
        fake_api.push_contact(STRANGER, CADRE_PHONE)
        await fake_api.wait_for_reply(STRANGER)
        registered = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        linked_again = to_plain((await _say(fake_api, STRANGER, "/lienket")).text)
    assert "chưa liên kết" in prompt.text and "đăng ký khóa học cho bạn" in prompt.text
    assert registered.startswith("✅ Đã đăng ký cho bạn khóa học")
    assert linked_again.startswith("Tài khoản này đã liên kết với hồ sơ")


async def test_odd_and_polite_messages(fake_api, config):
    async with running_bot(config):
        empty = [to_plain((await _say(fake_api, STRANGER, t)).text) for t in ("???", "😀", "sao")]
        greeting_and_topic = await _say(fake_api, STRANGER, "xin chào, tiêu chí môi trường")
        spaced = await _say(fake_api, STRANGER, "/đăng ký khóa học")
        forged = await _say(fake_api, STRANGER, "/xa")
        fake_api.push_callback(STRANGER, "x:²", forged)
        stale = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
    assert all(text.startswith("Bạn cần hỏi gì?") for text in empty)
    assert not greeting_and_topic.text.startswith("Chào bạn!")  # the question is not lost
    assert to_plain(spaced.text).startswith("Bạn muốn đăng ký khóa nào?")
    assert "không còn hiệu lực" in stale
    stored = sqlite3.connect(config.database).execute("SELECT example FROM unanswered")
    assert not {"???", "😀", "sao"} & {row[0] for row in stored}
