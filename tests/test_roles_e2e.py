"""End to end: coordinators act within their scope only — national, a province, a commune —
whatever the file or the button data says, and every action they take is in the trail."""

from __future__ import annotations

import asyncio
import sqlite3

import sqlite_utils

from bot import roles
from bot.config import MatchingConfig
from bot.db import MIGRATIONS, SCHEMA_VERSION, Database
from bot.roles import NATIONAL, Scope
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi
from tests.test_helpdesk_e2e import UNKNOWN
from tests.test_helpdesk_e2e import _send_ticket as send_ticket

MINI = FIXTURES / "mini"
# Xã Bình Lợi and Phường Thủ Dầu Một (TP. Hồ Chí Minh, 79); Phường Ba Đình (Hà Nội, 1).
A1, A2, B = 27610, 25747, 4
HCMC, HANOI = 79, 1
NATIONAL_ID, PROVINCE_A, COMMUNE_A1, PROVINCE_B = 900, 910, 920, 930
CADRE_A1, CADRE_A2, CADRE_B = 701, 702, 703
PHONES = {CADRE_A1: "+84912000001", CADRE_A2: "+84912000002", CADRE_B: "+84912000003"}


def _config(api: FakeBotApi, tmp_path):
    """One national coordinator in the config; the others are given roles in the database,
    which also holds three linked cadres (two in TP. HCM, one in Hà Nội) and one unlinked."""
    config = config_for(
        api,
        tmp_path,
        coordinators=frozenset({NATIONAL_ID}),
        matching=MatchingConfig(answer_threshold=60, suggest_threshold=25, margin=6),
    )
    database = Database(config.database)
    database.call(_seed)
    database.close()
    return config


def _seed(db: sqlite_utils.Database) -> None:
    people = [
        (PHONES[CADRE_A1], "Nguyễn Văn An", A1, CADRE_A1),
        (PHONES[CADRE_A2], "Trần Thị Bình", A2, CADRE_A2),
        (PHONES[CADRE_B], "Lê Văn Cường", B, CADRE_B),
        ("+84912000004", "Phạm Thị Dung", A1, None),
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO cadres (phone, full_name, position, commune_code, telegram_user_id)"
            " VALUES (?, ?, 'Công chức', ?, ?)",
            people,
        )
    held = roles.Roles.load(db)
    for user_id, scope in (
        (PROVINCE_A, Scope("province", HCMC)),
        (COMMUNE_A1, Scope("commune", A1)),
        (PROVINCE_B, Scope("province", HANOI)),
    ):
        roles.grant(db, held, user_id, scope, by=None, source="cli")


def _buttons(message) -> dict[str, str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def _forge(api: FakeBotApi, user: int, data: str):
    """`user` presses a button with `data` under a message of their own chat: what a
    client that forges button data can do."""
    api.push_message(user, "/id")
    own = await api.wait_for_reply(user)
    api.push_callback(user, data, own)
    return await api.wait_for_reply(user)


def _rows(config, sql: str, params: tuple = ()) -> list[tuple]:
    return sqlite3.connect(config.database).execute(sql, params).fetchall()


def _trail(config) -> list[tuple]:
    """The audit trail after the seeding (which is the server's: actor NULL)."""
    return _rows(
        config, "SELECT actor, action, scope FROM audit WHERE actor IS NOT NULL ORDER BY id"
    )


CSV_HEADER = "Họ và tên,Chức vụ,Mã xã,Số điện thoại,Đạt chuẩn,Còn thiếu,Hạn đạt chuẩn\n"


async def test_imports_stay_within_the_scope_whatever_the_file_says(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    outside = (
        CSV_HEADER + f"Võ Văn Em,,{A2},0912000011,Có,,\n"
        f"Hồ Thị Gấm,,{B},0912000012,Có,,\n"  # another province's commune
        f"Lê Văn Cường,,{A2},0912000003,Có,,\n"  # Hà Nội's cadre, moved into TP. HCM
    )
    own_commune_only = CSV_HEADER + f"Võ Văn Em,,{A2},0912000011,Có,,\n"
    async with running_bot(config, MINI):
        fake_api.push_document(PROVINCE_A, "can-bo.csv", outside.encode(), "text/csv")
        refused = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_document(COMMUNE_A1, "can-bo.csv", own_commune_only.encode(), "text/csv")
        commune_refused = await fake_api.wait_for_reply(COMMUNE_A1)
        good = CSV_HEADER + f"Võ Văn Em,,{A2},0912000011,Có,,\n"
        fake_api.push_document(PROVINCE_A, "can-bo.csv", good.encode(), "text/csv")
        preview = await fake_api.wait_for_reply(PROVINCE_A)
        # Another province's coordinator presses the preview's button: nothing happens.
        forged = await _forge(fake_api, PROVINCE_B, _buttons(preview)["✅ Ghi vào cơ sở dữ liệu"])
        fake_api.push_callback(PROVINCE_A, _buttons(preview)["✅ Ghi vào cơ sở dữ liệu"], preview)
        written = await fake_api.wait_for_reply(PROVINCE_A)
    text = to_plain(refused.text)
    assert "có 2 lỗi, chưa ghi gì" in text
    assert f"Dòng 3, cột «Mã xã»: xã mã {B} (Phường Ba Đình) ngoài phạm vi bạn phụ trách" in text
    assert "Dòng 4, cột «Số điện thoại»: cán bộ có số này thuộc xã ngoài phạm vi" in text
    assert f"Dòng 2, cột «Mã xã»: xã mã {A2} (Phường Thủ Dầu Một) ngoài phạm vi" in to_plain(
        commune_refused.text
    )
    assert "hết hạn hoặc không phải của bạn" in forged.text
    assert "Đã nhập can-bo.csv: thêm 1" in written.text
    assert _rows(config, "SELECT commune_code FROM cadres WHERE phone = ?", (PHONES[CADRE_B],)) == [
        (B,)
    ]
    assert _rows(config, "SELECT count(*) FROM cadres") == [(5,)]
    assert _trail(config) == [(PROVINCE_A, "import", f"province:{HCMC}")]


async def _compose(api: FakeBotApi, coordinator: int, text: str):
    """/thongbao with a typed text; returns the audience question."""
    api.push_message(coordinator, "/thongbao")
    start = await api.wait_for_reply(coordinator)
    api.push_callback(coordinator, _buttons(start)["✍️ Tự soạn nội dung"], start)
    await api.wait_for_reply(coordinator)
    api.push_message(coordinator, text)
    return await api.wait_for_reply(coordinator)


async def test_a_broadcast_reaches_the_scope_only_and_counts_the_unlinked(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        audience = await _compose(fake_api, PROVINCE_A, "Lịch họp giao ban tháng 12")
        choices = _buttons(audience)
        # Forged button data: a province of someone else's, for a province coordinator.
        fake_api.push_callback(PROVINCE_A, f"tb:p:{HANOI}", audience)
        forged = await fake_api.wait_for_reply(PROVINCE_A)
        everyone = next(label for label in choices if label.startswith("Tất cả"))
        fake_api.push_callback(PROVINCE_A, choices[everyone], audience)
        when = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_callback(PROVINCE_A, _buttons(when)["🚀 Gửi ngay"], when)
        preview = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_callback(PROVINCE_A, _buttons(preview)["✅ Xác nhận gửi"], preview)
        queued = await fake_api.wait_for_reply(PROVINCE_A)
        commune_audience = await _compose(fake_api, COMMUNE_A1, "Họp dân thôn 3")
    assert everyone == "Tất cả ở Thành phố Hồ Chí Minh (2)"
    assert not any(label.startswith("Theo tỉnh") for label in choices)
    assert "không còn hiệu lực" in forged.text or "hết hiệu lực" in forged.text
    shown = to_plain(preview.text)
    assert "tất cả người nhận thông báo thuộc Thành phố Hồ Chí Minh: 2 người" in shown
    assert "1 cán bộ khác trong nhóm này chưa liên kết Telegram" in shown
    assert "tới 2 người" in queued.text
    assert sorted(_rows(config, "SELECT chat_id FROM deliveries")) == [(CADRE_A1,), (CADRE_A2,)]
    assert "Tất cả ở Xã Bình Lợi (Thành phố Hồ Chí Minh) (1)" in _buttons(commune_audience)
    assert _trail(config) == [(PROVINCE_A, "broadcast", f"province:{HCMC}")]


async def test_records_are_read_within_the_scope_only(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        asked = {}
        for coordinator, cadre in (
            (PROVINCE_A, CADRE_B),
            (PROVINCE_A, CADRE_A2),
            (COMMUNE_A1, CADRE_A2),
            (COMMUNE_A1, CADRE_A1),
            (NATIONAL_ID, CADRE_B),
        ):
            fake_api.push_message(coordinator, f"/daotao {PHONES[cadre]}")
            asked[coordinator, cadre] = to_plain((await fake_api.wait_for_reply(coordinator)).text)
    hidden = "Không có cán bộ nào với số điện thoại này trong phạm vi bạn phụ trách."
    assert asked[PROVINCE_A, CADRE_B] == hidden
    assert asked[COMMUNE_A1, CADRE_A2] == hidden
    assert "Trần Thị Bình" in asked[PROVINCE_A, CADRE_A2]
    assert "Nguyễn Văn An" in asked[COMMUNE_A1, CADRE_A1]
    assert "Lê Văn Cường" in asked[NATIONAL_ID, CADRE_B]


async def test_tickets_go_to_the_narrowest_scope_then_up_and_others_cannot_touch_them(
    fake_api, tmp_path
):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI) as app:
        assistant = app.bot_data["assistant"]
        await send_ticket(fake_api, UNKNOWN, CADRE_A1)
        card = await fake_api.wait_for_reply(COMMUNE_A1, timeout=10)
        await send_ticket(fake_api, UNKNOWN, CADRE_B)  # Hà Nội has no commune coordinator here
        card_b = await fake_api.wait_for_reply(PROVINCE_B, timeout=10)
        first_round = {u: len(fake_api.sent_messages(u)) for u in (PROVINCE_A, NATIONAL_ID)}
        # Forged: Hà Nội's coordinator claims and answers TP. HCM's ticket.
        claim = await _forge(fake_api, PROVINCE_B, _buttons(card)["✍️ Trả lời"])
        # Unanswered for too long: up to the province, then to the national office.
        escalated = {}
        for expected in (PROVINCE_A, NATIONAL_ID):
            _rows_write(config, "UPDATE tickets SET announced_at = '2000-01-01' WHERE id = 1")
            await assistant.housekeeping()
            escalated[expected] = await fake_api.wait_for_reply(expected, timeout=10)
            assert "Câu hỏi số 1" in to_plain(escalated[expected].text)
        province_card = escalated[PROVINCE_A]
        fake_api.push_callback(PROVINCE_A, _buttons(province_card)["✍️ Trả lời"], province_card)
        await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_message(PROVINCE_A, "Anh chị gửi đề xuất về Sở Văn hóa.")
        done = await fake_api.wait_for_reply(PROVINCE_A)
        answer = await fake_api.wait_for_reply(CADRE_A1, timeout=10)
    assert "Câu hỏi số 1" in to_plain(card.text) and "Câu hỏi số 2" in to_plain(card_b.text)
    assert first_round == {PROVINCE_A: 0, NATIONAL_ID: 0}
    assert "không còn hiệu lực" in claim.text
    assert "Đã gửi câu trả lời" in done.text
    assert "Anh chị gửi đề xuất về Sở Văn hóa." in answer.text
    assert _rows(config, "SELECT id, state, answered_by FROM tickets ORDER BY id") == [
        (1, "answered", PROVINCE_A),
        (2, "open", None),
    ]
    assert _trail(config) == [(PROVINCE_A, "ticket.answer", f"commune:{A1}")]


def _rows_write(config, sql: str) -> None:
    with sqlite3.connect(config.database) as conn:
        conn.execute(sql)


async def test_roles_change_within_the_scope_only_and_the_trail_has_each_change(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        fake_api.push_message(555, "/id")  # the new coordinator has opened the bot
        await fake_api.wait_for_reply(555)
        said = []
        for coordinator, text in (
            (PROVINCE_A, "/dieuphoivien them 555 toanquoc"),
            (PROVINCE_A, f"/dieuphoivien them 555 xa {B}"),
            (COMMUNE_A1, f"/dieuphoivien them 556 tinh {HCMC}"),
            (PROVINCE_A, f"/dieuphoivien them 555 xa {A2}"),
            (PROVINCE_A, "/dieuphoivien"),
        ):
            fake_api.push_message(coordinator, text)
            said.append(await fake_api.wait_for_reply(coordinator))
        welcome = await fake_api.wait_for_reply(555, timeout=10)
        listing = said[-1]
        # Forged removals: the config's national account, another province's coordinator.
        for target in (NATIONAL_ID, PROVINCE_B):
            fake_api.push_callback(PROVINCE_A, f"dp:rm:{target}", listing)
            said.append(await fake_api.wait_for_reply(PROVINCE_A))
        fake_api.push_callback(PROVINCE_A, _buttons(listing)["✖️ Gỡ 555"], listing)
        removed = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_message(PROVINCE_A, "/nhatky")
        trail_refused = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_message(NATIONAL_ID, "/nhatky")
        trail = await fake_api.wait_for_reply(NATIONAL_ID)
    refusals = [to_plain(m.text) for m in (*said[:3], *said[5:])]
    assert all("phạm vi" in text for text in refusals), refusals
    assert "Đã giao vai điều phối viên cho 555, phạm vi: Phường Thủ Dầu Một" in to_plain(
        said[3].text
    )
    assert "phạm vi: Phường Thủ Dầu Một (Thành phố Hồ Chí Minh)" in to_plain(welcome.text)
    shown = to_plain(listing.text)
    assert f"{COMMUNE_A1}: Xã Bình Lợi" in shown and str(PROVINCE_B) not in shown
    assert set(_buttons(listing)) == {"✖️ Gỡ 920", "✖️ Gỡ 555"}
    assert "Đã gỡ vai điều phối viên của 555" in to_plain(removed.text)
    assert "cấp trung ương" in trail_refused.text
    assert "Giao vai điều phối viên" in to_plain(trail.text)
    assert _trail(config) == [
        (PROVINCE_A, "role.grant", f"commune:{A2}"),
        (PROVINCE_A, "role.revoke", f"commune:{A2}"),
    ]
    assert _rows(config, "SELECT user_id, scope FROM roles ORDER BY user_id") == [
        (NATIONAL_ID, "national"),
        (PROVINCE_A, f"province:{HCMC}"),
        (COMMUNE_A1, f"commune:{A1}"),
        (PROVINCE_B, f"province:{HANOI}"),
    ]


def test_a_database_of_today_migrates_in_place_and_config_coordinators_become_national(
    tmp_path,
):
    """A version-7 database with data: it opens as version 8 with everything kept, and
    the config's coordinators are national roles, in the trail as the server's doing."""
    path = tmp_path / "cu.sqlite3"
    old = sqlite_utils.Database(path)
    for number, migration in enumerate(MIGRATIONS[:7]):
        migration(old)
        old.execute(f"PRAGMA user_version = {number + 1}")
    old.execute(
        "INSERT INTO cadres (phone, full_name, commune_code, telegram_user_id)"
        f" VALUES ('+84912000001', 'Nguyễn Văn An', {A1}, {CADRE_A1})"
    )
    old.execute(
        "INSERT INTO broadcasts (kind, text, audience, created_at, scheduled_at, status)"
        " VALUES ('announcement', 'x', '{\"kind\": \"all\"}', '2026-11-30T00:00:00+00:00',"
        " '2027-01-01T00:00:00+00:00', 'scheduled')"
    )
    old.execute(
        "INSERT INTO tickets (asker_id, chat_id, question, state, created_at, commune_code)"
        f" VALUES ({CADRE_A1}, {CADRE_A1}, 'hỏi', 'open', '2026-11-30', {A1})"
    )
    old.conn.commit()
    old.conn.close()

    database = Database(path)
    kept = database.call(
        lambda db: (
            db.execute("PRAGMA user_version").fetchone()[0],
            db.execute("SELECT full_name, telegram_user_id FROM cadres").fetchall(),
            db.execute("SELECT state, level FROM tickets").fetchall(),
        )
    )
    database.call(roles.bootstrap, frozenset({NATIONAL_ID, 901}))
    held = database.call(roles.Roles.load)
    from bot import broadcasts

    waiting = database.call(broadcasts.scheduled_broadcasts)
    trail = database.call(lambda db: db.execute("SELECT actor, action FROM audit").fetchall())
    # A config coordinator taken off the config loses the role, in the trail too.
    database.call(roles.bootstrap, frozenset({NATIONAL_ID}))
    after = database.call(roles.all_roles)
    database.close()
    assert kept == (SCHEMA_VERSION, [("Nguyễn Văn An", CADRE_A1)], [("open", 0)])
    assert held.scope_of(NATIONAL_ID) == NATIONAL and held.scope_of(901) == NATIONAL
    assert [w.within for w in waiting] == [NATIONAL]
    assert trail == [(None, "role.grant"), (None, "role.grant")]
    assert [(r.user_id, r.source) for r in after] == [(NATIONAL_ID, "config")]


def test_the_trail_refuses_to_be_changed(tmp_path):
    database = Database(tmp_path / "ntm.sqlite3")
    database.call(roles.bootstrap, frozenset({NATIONAL_ID}))
    database.close()
    conn = sqlite3.connect(tmp_path / "ntm.sqlite3")
    for sql in ("DELETE FROM audit", "UPDATE audit SET actor = 1"):
        try:
            conn.execute(sql)
        except sqlite3.IntegrityError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{sql} was allowed")
    assert conn.execute("SELECT count(*) FROM audit").fetchone() == (1,)


async def test_registrations_of_a_course_show_the_scope_only(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    with sqlite3.connect(config.database) as conn:
        conn.execute(
            "INSERT INTO courses (code, title, start_date)"
            " VALUES ('BD-1', 'Bồi dưỡng', '2026-04-20')"
        )
        conn.execute(
            "INSERT INTO training_records (cadre_id, course_code, status)"
            " SELECT id, 'BD-1', 'registered' FROM cadres WHERE telegram_user_id IS NOT NULL"
        )
    async with running_bot(config, MINI):
        shown = {}
        for coordinator in (PROVINCE_B, COMMUNE_A1, NATIONAL_ID):
            fake_api.push_message(coordinator, "/dangkykhoahoc BD-1")
            shown[coordinator] = to_plain((await fake_api.wait_for_reply(coordinator)).text)
    names = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")
    assert [n for n in names if n in shown[PROVINCE_B]] == ["Lê Văn Cường"]
    assert [n for n in names if n in shown[COMMUNE_A1]] == ["Nguyễn Văn An"]
    assert [n for n in names if n in shown[NATIONAL_ID]] == list(names)


async def test_the_command_menu_follows_a_role_given_and_removed_while_running(
    fake_api, tmp_path, monkeypatch
):
    from bot import telegram_app

    monkeypatch.setattr(telegram_app, "ROLES_SECONDS", 0.2)
    config = _config(fake_api, tmp_path)

    def menu(user_id: int) -> set[str]:
        return {c["command"] for c in fake_api.commands(scope={"type": "chat", "chat_id": user_id})}

    async def settled(user_id: int, expected) -> set[str]:
        for _ in range(100):
            if expected(menu(user_id)):
                break
            await asyncio.sleep(0.05)
        return menu(user_id)

    async with running_bot(config, MINI):
        national, province = menu(NATIONAL_ID), menu(PROVINCE_A)
        fake_api.push_message(556, "/id")
        await fake_api.wait_for_reply(556)
        fake_api.push_message(PROVINCE_A, "/dieuphoivien them 556")
        await fake_api.wait_for_reply(PROVINCE_A)
        given = await settled(556, lambda names: "moi" in names)
        fake_api.push_message(PROVINCE_A, "/dieuphoivien go 556")
        await fake_api.wait_for_reply(PROVINCE_A)
        removed = await settled(556, lambda names: not names)
    assert {"nhatky", "chuatraloi", "moi", "baocao"} <= national
    assert "moi" in province and "nhatky" not in province and "reload" not in province
    assert {"dieuphoivien", "baocao"} <= given and "nhatky" not in given
    assert removed == set()


async def test_cancelling_reloading_and_forged_attempts_leave_the_right_trace(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI):
        audience = await _compose(fake_api, PROVINCE_A, "Họp giao ban")
        everyone = next(v for k, v in _buttons(audience).items() if k.startswith("Tất cả"))
        fake_api.push_callback(PROVINCE_A, everyone, audience)
        when = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_callback(PROVINCE_A, _buttons(when)["🕖 Hẹn giờ"], when)
        await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_message(PROVINCE_A, "07:30 02/12/2099")
        preview = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_callback(PROVINCE_A, _buttons(preview)["✅ Xác nhận gửi"], preview)
        await fake_api.wait_for_reply(PROVINCE_A)
        # Hà Nội's coordinator neither sees it nor cancels it, even with forged data.
        fake_api.push_message(PROVINCE_B, "/huythongbao")
        listed_b = to_plain((await fake_api.wait_for_reply(PROVINCE_B)).text)
        forged = to_plain((await _forge(fake_api, PROVINCE_B, "bc:1")).text)
        fake_api.push_message(PROVINCE_A, "/huythongbao")
        listed_a = await fake_api.wait_for_reply(PROVINCE_A)
        fake_api.push_callback(PROVINCE_A, _buttons(listed_a)["✖️ Hủy thông báo #1"], listed_a)
        cancelled = to_plain((await fake_api.wait_for_reply(PROVINCE_A)).text)
        fake_api.push_message(PROVINCE_A, "/reload")
        reload_refused = to_plain((await fake_api.wait_for_reply(PROVINCE_A)).text)
        fake_api.push_message(NATIONAL_ID, "/reload")
        reloaded = to_plain((await fake_api.wait_for_reply(NATIONAL_ID)).text)
        # A commune coordinator and a ticket from another commune of the same province.
        await send_ticket(fake_api, UNKNOWN, CADRE_A2)
        card = await fake_api.wait_for_reply(PROVINCE_A, timeout=10)
        claim = to_plain((await _forge(fake_api, COMMUNE_A1, _buttons(card)["✍️ Trả lời"])).text)
    assert "Không có thông báo nào đang chờ" in listed_b
    assert "Không hủy được thông báo #1" in forged
    assert "Đã hủy thông báo #1" in cancelled
    assert "cấp trung ương" in reload_refused and "Đã nạp lại kho tri thức" in reloaded
    assert "không còn hiệu lực" in claim
    assert _rows(config, "SELECT status FROM broadcasts") == [("cancelled",)]
    assert _trail(config) == [
        (PROVINCE_A, "broadcast", f"province:{HCMC}"),
        (PROVINCE_A, "broadcast.cancel", f"province:{HCMC}"),
        (NATIONAL_ID, "reload", None),
    ]


async def test_the_review_queue_shows_each_scope_the_questions_of_its_cadres(fake_api, tmp_path):
    config = _config(fake_api, tmp_path)
    ours, theirs = UNKNOWN, "Thôn tôi muốn mua loa phát thanh thì lấy tiền quỹ nào?"
    async with running_bot(config, MINI):
        for cadre, question in ((CADRE_A1, ours), (CADRE_B, theirs)):
            fake_api.push_message(cadre, question)
            await fake_api.wait_for_reply(cadre)
        queues = {}
        for coordinator in (PROVINCE_A, PROVINCE_B, NATIONAL_ID):
            fake_api.push_message(coordinator, "/chuatraloi")
            queues[coordinator] = await fake_api.wait_for_reply(coordinator)
        dismiss = next(iter(_buttons(queues[NATIONAL_ID]).values()))
        forged = to_plain((await _forge(fake_api, PROVINCE_A, dismiss)).text)
    province_a, province_b = to_plain(queues[PROVINCE_A].text), to_plain(queues[PROVINCE_B].text)
    national = to_plain(queues[NATIONAL_ID].text)
    assert ours in province_a and theirs not in province_a and "Thành phố Hồ Chí Minh" in province_a
    assert theirs in province_b and ours not in province_b
    assert ours in national and theirs in national
    assert _buttons(queues[PROVINCE_A]) == {} and len(_buttons(queues[NATIONAL_ID])) == 2
    assert "không còn hiệu lực" in forged
    assert _rows(config, "SELECT count(*) FROM unanswered WHERE state = 'open'") == [(2,)]


async def test_roles_changed_on_the_server_take_effect_in_the_running_bot(fake_api, tmp_path):
    import subprocess
    import sys

    config = _config(fake_api, tmp_path)
    server_config = tmp_path / "server.yaml"
    server_config.write_text(f"database: {config.database}\n", encoding="utf-8")

    def roles_cli(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "bot", "roles", *args, "--config", str(server_config)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    async def asks_until(expected: str) -> str:
        for _ in range(40):
            fake_api.push_message(557, "/hoidap")
            said = to_plain((await fake_api.wait_for_reply(557)).text)
            if expected in said:
                return said
            await asyncio.sleep(0.1)
        return said

    async with running_bot(config, MINI):
        fake_api.push_message(557, "/hoidap")
        before = to_plain((await fake_api.wait_for_reply(557)).text)
        await asyncio.to_thread(roles_cli, "add", "557", "--province", str(HCMC))
        granted = await asks_until("Không có câu hỏi nào")
        await asyncio.to_thread(roles_cli, "remove", "557")
        revoked = await asks_until("chỉ dành cho điều phối viên")
    assert "chỉ dành cho điều phối viên" in before
    assert "Không có câu hỏi nào" in granted
    assert "chỉ dành cho điều phối viên" in revoked


async def test_a_claim_let_go_tells_the_coordinator_and_their_answer_is_not_taken_for_a_question(
    fake_api, tmp_path
):
    config = _config(fake_api, tmp_path)
    async with running_bot(config, MINI) as app:
        await send_ticket(fake_api, UNKNOWN, CADRE_A1)
        card = await fake_api.wait_for_reply(COMMUNE_A1, timeout=10)
        fake_api.push_callback(COMMUNE_A1, _buttons(card)["✍️ Trả lời"], card)
        await fake_api.wait_for_reply(COMMUNE_A1)
        _rows_write(
            config, "UPDATE tickets SET claimed_at = '2000-01-01', announced_at = '2000-01-01'"
        )
        await app.bot_data["assistant"].housekeeping()
        notice = to_plain((await fake_api.wait_for_reply(COMMUNE_A1, timeout=10)).text)
        fake_api.push_message(COMMUNE_A1, "Anh liên hệ chị Hoa số 0912345678 ở phòng văn hóa.")
        lost = to_plain((await fake_api.wait_for_reply(COMMUNE_A1)).text)
        escalated = await fake_api.wait_for_reply(PROVINCE_A, timeout=10)
    assert "Câu hỏi số 1 bạn nhận trả lời đã được trả về hàng chờ" in notice
    assert "chưa được gửi cho ai" in lost
    assert "Câu hỏi số 1" in to_plain(escalated.text)
    assert _rows(config, "SELECT state, claimed_by FROM tickets") == [("open", None)]
    assert _rows(config, "SELECT count(*) FROM unanswered WHERE example LIKE '%chị Hoa%'") == [(0,)]
    assert not fake_api.sent_messages(CADRE_A1, since=0)[-1].text.startswith("💬")


def test_a_config_account_keeps_its_role_and_a_reminder_cannot_be_cancelled(tmp_path):
    import datetime as dt

    from bot import broadcasts
    from bot.broadcasts import Audience

    database = Database(tmp_path / "ntm.sqlite3")
    database.call(_seed)
    database.call(roles.bootstrap, frozenset({NATIONAL_ID}))
    held = database.call(roles.Roles.load)
    refusals = []
    for scope in (NATIONAL, Scope("province", HCMC)):
        try:
            database.call(lambda db, s=scope: roles.grant(db, held, NATIONAL_ID, s, by=None))
        except roles.RoleError as exc:
            refusals.append(str(exc))
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    reminder, _ = database.call(
        lambda db: broadcasts.create_broadcast(
            db, "nhắc", Audience("all"), now, now + dt.timedelta(days=1), kind="reminder"
        )
    )
    cancelled = database.call(broadcasts.cancel, reminder, now)
    # Taken off the config, it loses the role: it was never turned into a stored one.
    database.call(roles.bootstrap, frozenset())
    left = database.call(roles.all_roles)
    database.close()
    assert len(refusals) == 2 and all("tệp cấu hình" in r for r in refusals)
    assert cancelled is False
    assert NATIONAL_ID not in [r.user_id for r in left]
