"""End to end: linking an account by contact, /xa and /daotao, and who may see what."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot import demo
from bot.db import Database
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
CADRE, OTHER, STRANGER, COORDINATOR = 7001, 7002, 7003, 900
CADRE_PHONE = "0900000002"  # demo: Phó Chủ tịch UBND xã Bình Lợi, not yet up to standard
OTHER_PHONE = "0900000005"  # demo: another cadre of Bình Lợi


@pytest.fixture
def config(fake_api: FakeBotApi, tmp_path):
    config = config_for(fake_api, tmp_path, coordinators=frozenset({COORDINATOR}))
    database = Database(config.database)
    database.call(demo.seed_demo, dt.date.today())
    database.close()
    return config


async def _link(api: FakeBotApi, user: int, phone: str) -> str:
    api.push_contact(user, phone)
    return to_plain((await api.wait_for_reply(user)).text)


async def test_own_contact_links_and_shows_commune_and_record(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_message(CADRE, "/lienket")
        ask = await fake_api.wait_for_reply(CADRE)
        [[button]] = ask.reply_markup["keyboard"]
        assert button == {"text": "📱 Chia sẻ số điện thoại", "request_contact": True}

        linked = await _link(fake_api, CADRE, "84" + CADRE_PHONE[1:])
        assert "Đã liên kết tài khoản với hồ sơ" in linked and "Xã Bình Lợi" in linked
        assert "Dữ liệu mẫu" in linked

        fake_api.push_message(CADRE, "/xa")
        commune = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        fake_api.push_message(CADRE, "🎓 Đào tạo của tôi")
        record = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert commune.startswith("Xã Bình Lợi (Thành phố Hồ Chí Minh)")
    assert "9. Xây dựng hệ thống chính trị và hành chính công" in commune
    assert "Cán bộ, công chức đạt chuẩn:" in commune  # own commune: the share is shown
    assert record.startswith("Hồ sơ đào tạo:") and "Phó Chủ tịch UBND xã" in record
    assert "chưa có bằng trung cấp lý luận chính trị" in record
    assert "Hạn đạt chuẩn: 01/08/2028" in record


async def test_someone_elses_contact_unknown_number_and_typed_number_link_nothing(
    fake_api: FakeBotApi, config
):
    async with running_bot(config, MINI):
        fake_api.push_contact(STRANGER, CADRE_PHONE, contact_user_id=CADRE)
        refused = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        # A contact card without a user id is not verifiably anyone's own.
        fake_api.push_update({"message": _bare_contact(STRANGER, CADRE_PHONE)})
        no_owner = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        unknown = await _link(fake_api, STRANGER, "0987654321")
        fake_api.push_message(STRANGER, CADRE_PHONE)
        typed = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        fake_api.push_message(STRANGER, "/daotao")
        record = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
    assert "chỉ nhận số điện thoại của chính bạn" in refused
    assert "chỉ nhận số điện thoại của chính bạn" in no_owner
    assert "chưa có trong danh sách cán bộ" in unknown and "Văn phòng điều phối" in unknown
    assert "không nhận số điện thoại gõ tay" in typed
    assert "chưa liên kết" in record


async def test_a_cadre_cannot_see_another_cadres_record(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        await _link(fake_api, CADRE, CADRE_PHONE)
        fake_api.push_message(CADRE, f"/daotao {OTHER_PHONE}")
        by_phone = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        fake_api.push_message(CADRE, "/daotao")
        own = await fake_api.wait_for_reply(CADRE)
        # Forged buttons: nothing private is reachable through callback data.
        for forged in (f"daotao:{OTHER_PHONE}", "d:2", "x:27610:cadres", "x:99999999"):
            fake_api.push_callback(CADRE, forged, own)
            reply = to_plain((await fake_api.wait_for_reply(CADRE)).text)
            assert "Hồ sơ đào tạo" not in reply and "Cán bộ, công chức đạt chuẩn" not in reply
        fake_api.push_message(COORDINATOR, f"/daotao {OTHER_PHONE}")
        coordinator_view = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert by_phone == "Bạn chỉ xem được hồ sơ đào tạo của chính mình: gõ /daotao."
    own_name = to_plain(own.text).splitlines()[0]
    assert coordinator_view.startswith("Hồ sơ đào tạo:")
    assert coordinator_view.splitlines()[0] != own_name


async def test_commune_by_name_with_and_without_diacritics(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        replies = []
        for query in ("/xa Bình Lợi", "/xa binh loi", "/xa xã bình lợi", "/xa xa binh loi"):
            fake_api.push_message(STRANGER, query)
            replies.append(to_plain((await fake_api.wait_for_reply(STRANGER)).text))
        fake_api.push_message(STRANGER, "/xa tan an")
        choice = await fake_api.wait_for_reply(STRANGER)
        fake_api.push_message(STRANGER, "/xa khong co xa nao ten nay")
        missing = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
    assert replies[0] == replies[1] == replies[2] == replies[3]
    assert replies[0].startswith("Xã Bình Lợi (Thành phố Hồ Chí Minh)")
    assert "Cán bộ, công chức" not in replies[0]  # another commune: no people, no shares
    labels = [row[0]["text"] for row in choice.reply_markup["inline_keyboard"]]
    assert len(labels) > 1 and all("Tân An" in label or "Tân Ân" in label for label in labels)
    assert "Không tìm thấy" in missing


async def test_unlink(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        await _link(fake_api, CADRE, CADRE_PHONE)
        fake_api.push_message(CADRE, "/huylienket")
        done = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        fake_api.push_message(CADRE, "/daotao")
        after = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert done.startswith("Đã hủy liên kết")
    assert "chưa liên kết" in after


def _bare_contact(user: int, phone: str) -> dict:
    person = {"id": user, "is_bot": False, "first_name": "Khách"}
    return {
        "message_id": 10_000 + user,
        "date": int(time.time()),
        "chat": {"id": user, "type": "private", "first_name": "Khách"},
        "from": person,
        "contact": {"phone_number": phone, "first_name": "Ai đó"},
    }


async def test_upcoming_courses_and_subscribing_again(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_message(STRANGER, "/khoahoc")
        listing = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        fake_api.push_message(STRANGER, "/batthongbao")
        unlinked = to_plain((await fake_api.wait_for_reply(STRANGER)).text)
        await _link(fake_api, CADRE, CADRE_PHONE)
        fake_api.push_message(CADRE, "/batthongbao")
        subscribed = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert listing.startswith("Các khóa học sắp tới")
    assert "Trung cấp lý luận chính trị" in listing and "Hạn đăng ký:" in listing
    assert "Bồi dưỡng quản lý nhà nước" not in listing  # that one is over
    assert "chưa liên kết" in unlinked
    assert subscribed.startswith("Đã bật lại thông báo khóa học")


async def test_a_new_account_with_the_same_verified_number_takes_over(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        await _link(fake_api, CADRE, CADRE_PHONE)
        moved = await _link(fake_api, OTHER, CADRE_PHONE)  # the cadre's new phone or account
        # The account that lost the record and the coordinators are told.
        warned = to_plain((await fake_api.wait_for_reply(CADRE, timeout=10)).text)
        notice = await fake_api.wait_for_reply(COORDINATOR, timeout=10)
        fake_api.push_message(CADRE, "/daotao")
        old_account = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        # A cadre cannot undo it; a coordinator can, once.
        undo = notice.reply_markup["inline_keyboard"][0][0]["callback_data"]
        fake_api.push_callback(OTHER, undo, fake_api.sent_messages(OTHER)[-1])
        refused = await fake_api.wait_for_reply(OTHER)
        fake_api.push_callback(COORDINATOR, undo, notice)
        undone = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        fake_api.push_callback(COORDINATOR, undo, notice)
        again = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        fake_api.push_message(CADRE, "/daotao")
        restored = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert "liên kết cũ đã được hủy" in moved
    assert "vừa được liên kết sang một tài khoản khác" in warned
    assert "vừa được liên kết sang một tài khoản Telegram khác" in to_plain(notice.text)
    assert CADRE_PHONE not in notice.text and CADRE_PHONE[1:] not in notice.text
    assert "chưa liên kết" in old_account
    assert "không còn hiệu lực" in refused.text
    assert undone.startswith("Đã trả hồ sơ") and again.startswith("Không trả về được")
    assert "chưa liên kết" not in restored
