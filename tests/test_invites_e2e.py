"""End to end: an invitation link (and its QR code) links a cadre of one commune in one
tap; a forged, expired or other commune's token grants nothing."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys

import zxingcpp
from PIL import Image

from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import BOT_USERNAME, FakeBotApi
from tests.test_roles_e2e import A1, COMMUNE_A1, PHONES, PROVINCE_A, B, _seed

MINI = FIXTURES / "mini"
NEWCOMER, STRANGER, FORGER = 801, 802, 803
UNLINKED_PHONE = "+84912000004"  # Phạm Thị Dung, on Xã Bình Lợi's roster, not linked


def _config(api: FakeBotApi, tmp_path):
    from bot.db import Database

    config = config_for(api, tmp_path, coordinators=frozenset({900}))
    database = Database(config.database)
    database.call(_seed)
    database.close()
    return config


def _decoded(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return found[0].text


def _rows(config, sql: str, params: tuple = ()) -> list[tuple]:
    return sqlite3.connect(config.database).execute(sql, params).fetchall()


async def test_an_invitation_links_a_cadre_of_its_commune_in_one_tap(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    # The roster's Hà Nội cadre, unlinked here, tries Bình Lợi's link with a real contact.
    with sqlite3.connect(config.database) as conn:
        conn.execute("UPDATE cadres SET telegram_user_id = NULL WHERE phone = ?", [PHONES[703]])
    async with running_bot(config, MINI):
        fake_api.push_message(COMMUNE_A1, "/moi")
        invitation = await fake_api.wait_for_reply(COMMUNE_A1)
        qr = await fake_api.wait_for_reply(COMMUNE_A1)
        link = re.search(r"https://t\.me/\S+", to_plain(invitation.text)).group(0)
        token = link.rsplit("=", 1)[1]
        fake_api.push_message(NEWCOMER, f"/start {token}")
        welcome = await fake_api.wait_for_reply(NEWCOMER)
        fake_api.push_contact(NEWCOMER, UNLINKED_PHONE)
        linked = await fake_api.wait_for_reply(NEWCOMER)
        fake_api.push_message(STRANGER, f"/start {token}")
        await fake_api.wait_for_reply(STRANGER)
        fake_api.push_contact(STRANGER, PHONES[703])
        refused = await fake_api.wait_for_reply(STRANGER)
    assert link == f"https://t.me/{BOT_USERNAME}?start={token}"
    assert "Xã Bình Lợi (Thành phố Hồ Chí Minh)" in to_plain(invitation.text)
    assert qr.method == "sendPhoto" and _decoded(qr.document.content) == link
    assert "danh sách cán bộ của Xã Bình Lợi" in to_plain(welcome.text)
    assert welcome.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert "Phạm Thị Dung" in to_plain(linked.text)
    assert "chưa có trong danh sách cán bộ của Xã Bình Lợi" in to_plain(refused.text)
    assert _rows(
        config, "SELECT telegram_user_id FROM cadres WHERE phone = ?", (UNLINKED_PHONE,)
    ) == [(NEWCOMER,)]
    assert _rows(config, "SELECT telegram_user_id FROM cadres WHERE phone = ?", (PHONES[703],)) == [
        (None,)
    ]
    assert _rows(config, "SELECT commune_code, uses FROM invites") == [(A1, 1)]
    assert _rows(config, "SELECT actor, action FROM audit WHERE action = 'invite'") == [
        (COMMUNE_A1, "invite")
    ]


async def test_a_forged_or_expired_token_grants_nothing(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(PROVINCE_A, f"/moi {B}")  # Hà Nội: outside TP. HCM
        outside = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_message(PROVINCE_A, f"/moi {A1}")
        invitation = await fake_api.wait_for_reply(PROVINCE_A)
        token = re.search(r"start=(\S+)", to_plain(invitation.text)).group(1)
        with sqlite3.connect(config.database) as conn:
            conn.execute("UPDATE invites SET expires_at = '2000-01-01T00:00:00+00:00'")
        said = []
        for text in (f"/start {token}", "/start AAAAAAAAAAAAAAAAAAAAAA", "/start " + "x" * 200):
            fake_api.push_message(FORGER, text)
            said.append(to_plain((await fake_api.wait_for_reply(FORGER)).text))
        # Without an invitation the contact is the ordinary /lienket flow: any commune.
        fake_api.push_contact(FORGER, UNLINKED_PHONE)
        linked = await fake_api.wait_for_reply(FORGER)
    assert "ngoài phạm vi" in outside.text
    assert all("không hợp lệ hoặc đã hết hạn" in text for text in said), said
    assert "Phạm Thị Dung" in to_plain(linked.text)
    assert _rows(config, "SELECT uses FROM invites") == [(0,)]


def test_ntm_bot_invite_writes_the_link_and_a_qr_code_that_holds_it(tmp_path):
    from bot.db import Database

    database = Database(tmp_path / "ntm.sqlite3")
    database.close()
    config = tmp_path / "config.yaml"
    config.write_text("database: ntm.sqlite3\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "invite", "--config", str(config), "--commune", str(A1),
         "--bot", "@TroLyNTM_bot", "--qr", str(tmp_path / "moi.png")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    link = re.search(r"https://t\.me/TroLyNTM_bot\?start=[\w-]{16}", result.stdout).group(0)
    assert _decoded((tmp_path / "moi.png").read_bytes()) == link
    unknown = subprocess.run(
        [sys.executable, "-m", "bot", "invite", "--config", str(config), "--commune", "99999",
         "--bot", "TroLyNTM_bot"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1 and "Không có xã, phường, đặc khu nào mã 99999" in unknown.stderr
