"""End to end: a coordinator imports a spreadsheet by sending it, and confirms it."""

from __future__ import annotations

import sqlite3

from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
COORDINATOR, OTHER_COORDINATOR, CADRE = 900, 901, 5001
HEADER = "Họ và tên,Chức vụ,Mã xã,Số điện thoại,Đạt chuẩn,Còn thiếu,Hạn đạt chuẩn\n"
GOOD = HEADER + (
    "Nguyễn Thị Lan,Công chức Văn hóa - Xã hội,27610,0912345678,Có,,\n"
    "Trần Văn Nam,Phó Chủ tịch UBND xã,27610,0987654321,Không,chưa có bằng đại học,01/08/2028\n"
)


def _config(api: FakeBotApi, tmp_path):
    return config_for(api, tmp_path, coordinators=frozenset({COORDINATOR, OTHER_COORDINATOR}))


def _cadres(config) -> list[tuple]:
    return (
        sqlite3.connect(config.database)
        .execute(
            "SELECT full_name, phone, meets_standard, missing, deadline FROM cadres ORDER BY phone"
        )
        .fetchall()
    )


async def test_coordinator_imports_by_sending_a_file_and_confirming(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_document(COORDINATOR, "can-bo.csv", GOOD.encode("utf-8"), "text/csv")
        preview = await fake_api.wait_for_reply(COORDINATOR)
        text = to_plain(preview.text)
        assert "2 dòng hợp lệ: thêm 2, cập nhật 0, giữ nguyên 0" in text
        assert "Chưa có gì được ghi" in text and _cadres(config) == []
        [[confirm, cancel]] = preview.reply_markup["inline_keyboard"]
        assert confirm["text"] == "✅ Ghi vào cơ sở dữ liệu" and cancel["text"] == "✖️ Hủy"
        # Another coordinator cannot confirm someone else's preview, even with its data.
        fake_api.push_message(OTHER_COORDINATOR, "/help")
        own_message = await fake_api.wait_for_reply(OTHER_COORDINATOR)
        fake_api.push_callback(OTHER_COORDINATOR, confirm["callback_data"], own_message)
        refused = await fake_api.wait_for_reply(OTHER_COORDINATOR)
        assert "không phải của bạn" in to_plain(refused.text)
        assert _cadres(config) == []
        fake_api.push_callback(COORDINATOR, confirm["callback_data"], preview)
        done = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        # The same button again: already used.
        fake_api.push_callback(COORDINATOR, confirm["callback_data"], preview)
        again = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert done == "Đã nhập can-bo.csv: thêm 2, cập nhật 0, giữ nguyên 0."
    assert "hết hạn" in again
    assert _cadres(config) == [
        ("Nguyễn Thị Lan", "+84912345678", 1, None, None),
        ("Trần Văn Nam", "+84987654321", 0, "chưa có bằng đại học", "2028-08-01"),
    ]


async def test_bad_rows_are_listed_and_nothing_is_written(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    bad = HEADER + "Lê Văn A,,99999999,0912,Có,,\nLê Văn B,,27610,0912345678,Có,,31/02/2026\n"
    async with running_bot(config, MINI):
        fake_api.push_document(COORDINATOR, "can-bo.csv", bad.encode("utf-8"), "text/csv")
        reply = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert "có 3 lỗi, chưa ghi gì" in reply
    assert "Dòng 2, cột «Mã xã»" in reply and "Dòng 2, cột «Số điện thoại»" in reply
    assert "Dòng 3, cột «Hạn đạt chuẩn»" in reply
    assert reply.rstrip().endswith("Sửa rồi gửi lại tệp.")
    assert _cadres(config) == []


async def test_a_cadres_file_is_refused_without_being_downloaded(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_document(CADRE, "can-bo.csv", GOOD.encode("utf-8"), "text/csv")
        reply = to_plain((await fake_api.wait_for_reply(CADRE)).text)
        # A forged confirmation from a cadre does nothing either.
        fake_api.push_message(CADRE, "/help")
        own_message = await fake_api.wait_for_reply(CADRE)
        fake_api.push_callback(CADRE, "imp:abcdefgh:ok", own_message)
        forged = to_plain((await fake_api.wait_for_reply(CADRE)).text)
    assert reply == "Chỉ điều phối viên mới được gửi tệp dữ liệu cho trợ lý."
    assert "hết hạn" in forged
    assert fake_api.find_calls("getFile") == []
    assert _cadres(config) == []


async def test_not_a_spreadsheet(fake_api: FakeBotApi, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_document(COORDINATOR, "anh.xlsx", b"\xff\xd8\xff\xe0 not a zip", "image/jpeg")
        broken = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        fake_api.push_document(COORDINATOR, "ghi-chu.pdf", b"%PDF-1.4", "application/pdf")
        wrong_type = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
        fake_api.push_message(COORDINATOR, "/help")
        still = to_plain((await fake_api.wait_for_reply(COORDINATOR)).text)
    assert broken.startswith("Không đọc được tệp anh.xlsx:")
    assert "chỉ nhận tệp .xlsx hoặc .csv" in wrong_type
    assert "Cách dùng Trợ lý NTM" in still
