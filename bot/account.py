"""The cadre's own data: linking the account, the commune's status, the training record.

Who may see what is decided here, from the sender's Telegram id and the config, never
from anything the client sends (button data, typed numbers).
"""

from __future__ import annotations

import sqlite_utils

from bot import audit, communes, courses, invites, outbox, roster, views
from bot.actions import BY_ID
from bot.clock import now_iso, vietnam_today
from bot.courses import Course
from bot.db import Database
from bot.invites import Invite
from bot.normalize import Lexicon
from bot.phone import normalize_phone
from bot.replies import Button, Reply, User, button_number, rows
from bot.roles import Roles
from bot.telegram_html import escape

SHARE_CONTACT = "📱 Chia sẻ số điện thoại"
ASK_CONTACT = (
    "Để xem hồ sơ đào tạo và tình hình xã của mình, bạn cần liên kết tài khoản Telegram "
    "với danh sách cán bộ do Văn phòng điều phối nông thôn mới quản lý.\n\n"
    f"Bấm nút <b>{SHARE_CONTACT}</b> bên dưới. Trợ lý chỉ dùng số này để đối chiếu với "
    "danh sách cán bộ."
)
NOT_OWN_CONTACT = (
    "Trợ lý chỉ nhận số điện thoại của chính bạn, gửi bằng nút "
    f"<b>{SHARE_CONTACT}</b> (gõ /lienket). Chưa có gì được liên kết."
)
NOT_IN_COMMUNE = (
    "Số điện thoại của bạn chưa có trong danh sách cán bộ của {commune}, nên chưa có gì được "
    "liên kết. Bạn liên hệ cán bộ phụ trách nông thôn mới của xã để được bổ sung, rồi mở lại "
    "đường dẫn mời."
)
INVITED = (
    "Chào bạn! Đây là lời mời liên kết tài khoản Telegram với danh sách cán bộ của "
    "<b>{commune}</b>.\n\nBấm nút <b>📱 Chia sẻ số điện thoại</b> bên dưới: trợ lý đối chiếu "
    "số của bạn với danh sách của xã, rồi bạn xem được hồ sơ đào tạo, tình hình xã và nhận "
    "thông báo khóa học. Số điện thoại chỉ dùng để đối chiếu."
)
BAD_INVITE = (
    "Đường dẫn mời này không hợp lệ hoặc đã hết hạn, nên trợ lý chưa liên kết gì. Bạn vẫn có "
    "thể gõ /lienket để liên kết bằng số điện thoại, hoặc xin cán bộ phụ trách một đường dẫn "
    "mới."
)
UNKNOWN_PHONE = (
    "Số điện thoại của bạn chưa có trong danh sách cán bộ, nên chưa có gì được liên kết.\n\n"
    "Bạn vui lòng liên hệ Văn phòng điều phối nông thôn mới hoặc cán bộ phụ trách của xã "
    "để được bổ sung vào danh sách, rồi gõ /lienket lần nữa."
)
TYPED_PHONE = (
    "Vì an toàn, trợ lý không nhận số điện thoại gõ tay. Gõ /lienket rồi bấm nút "
    f"<b>{SHARE_CONTACT}</b> để Telegram xác nhận đó là số của bạn."
)
COORDINATORS_ONLY = "Lệnh này chỉ dành cho điều phối viên."
NOT_LINKED = "Tài khoản này chưa liên kết với hồ sơ cán bộ nào."
UNLINKED = "Đã hủy liên kết. Trợ lý không còn gắn tài khoản này với hồ sơ cán bộ nào."
MOVED_AWAY = (
    "⚠️ Hồ sơ cán bộ gắn với tài khoản Telegram này vừa được liên kết sang một tài khoản "
    "khác (bằng số điện thoại của hồ sơ, đã được Telegram xác minh). Nếu không phải bạn đổi "
    "tài khoản, hãy báo ngay cho Văn phòng điều phối: điều phối viên có thể trả hồ sơ về."
)
RELINK_KEPT = (
    "Không trả về được: hồ sơ đã được trả về, hoặc đã đổi liên kết lần nữa, hoặc tài khoản cũ "
    "đang gắn với hồ sơ khác."
)
OWN_RECORD_ONLY = "Bạn chỉ xem được hồ sơ đào tạo của chính mình: gõ /daotao."


def link_prompt(action: str) -> Reply:
    """The one-tap way to link, in one sentence that says why `action` needs it."""
    why = BY_ID[action].why_link or "xem dữ liệu của bạn"
    return Reply(
        f"Tài khoản chưa liên kết: để {why}, trợ lý cần biết bạn là cán bộ nào, hãy bấm nút "
        f"<b>{SHARE_CONTACT}</b> bên dưới.",
        contact_button=SHARE_CONTACT,
    )


async def ask_contact(db: Database, user: User) -> list[Reply]:
    """/lienket: the contact button; an account already linked is told to which record."""
    cadre = await db.run(roster.cadre_by_user, user.id)
    if cadre is None:
        return [Reply(ASK_CONTACT, contact_button=SHARE_CONTACT)]
    return [Reply(views.already_linked(cadre), contact_button=SHARE_CONTACT)]


async def contact(
    db: Database,
    phone_number: str,
    contact_user_id: int | None,
    user: User,
    roles: Roles,
    invite: Invite | None = None,
) -> list[Reply]:
    """A shared contact: accepted only when Telegram says it is the sender's own; after an
    invitation, matched against that commune's roster only."""
    if contact_user_id != user.id:
        return [Reply(NOT_OWN_CONTACT)]
    phone = normalize_phone(phone_number)

    def moved(store: sqlite_utils.Database, cadre_id: int, previous: int) -> None:
        """The record left another account: it and the coordinators who answer for the
        commune are told (outbox), and the trail says so, all in the link's transaction."""
        now = now_iso()
        relink = store.execute(  # plain SQL: sqlite-utils' insert would commit half-way
            "INSERT INTO relinks (cadre_id, from_user, to_user, at) VALUES (?, ?, ?, ?)",
            [cadre_id, previous, user.id, now],
        ).lastrowid
        outbox.enqueue(store, previous, Reply(MOVED_AWAY), now)
        cadre = roster.cadre_by_user(store, user.id)
        undo = Button("↩️ Trả hồ sơ về tài khoản cũ", f"rl:{relink}")
        for chat_id in roles.first_responsible(cadre.commune_code):
            outbox.enqueue(store, chat_id, Reply(views.relinked(cadre), ((undo,),)), now)
        detail = {"hồ sơ": cadre_id, "từ tài khoản": previous, "sang tài khoản": user.id}
        audit.record(
            store,
            "relink",
            detail,
            actor=user.id,
            actor_label="cán bộ tự liên kết",
            scope=f"commune:{cadre.commune_code}",
        )

    commune_code = invite.commune_code if invite else None
    outcome = (
        await db.run(roster.link, phone, user.id, moved, commune_code) if phone else "unknown_phone"
    )
    if outcome == "unknown_phone":
        if invite:
            return [Reply(NOT_IN_COMMUNE.format(commune=escape(invite.commune)))]
        return [Reply(UNKNOWN_PHONE)]
    if invite:
        await db.run(invites.used, invite.token)
    cadre = await db.run(roster.cadre_by_user, user.id)
    return [Reply(views.linked(cadre, moved=outcome == "relinked"))]


async def undo_relink(db: Database, value: str, user: User, roles: Roles) -> list[Reply]:
    """A coordinator of the cadre's commune gives a moved record back to the account it
    was linked to before."""
    relink = button_number(value)
    if not roles.is_coordinator(user.id) or relink is None:
        return []

    def allowed(store: sqlite_utils.Database, cadre_id: int, commune_code: int) -> bool:
        if not roles.covers(user.id, commune_code):
            return False
        detail = {"hồ sơ": cadre_id, "lần chuyển": relink}
        audit.record(
            store,
            "relink.undo",
            detail,
            actor=user.id,
            actor_label=user.first_name,
            scope=f"commune:{commune_code}",
        )
        return True

    cadre = await db.run(roster.undo_relink, relink, user.id, now_iso(), allowed)
    if cadre is None:
        return [Reply(RELINK_KEPT)]
    return [Reply(f"Đã trả hồ sơ {escape(cadre.full_name)} về tài khoản Telegram trước đó.")]


NO_SUCH_CADRE = "Không có cán bộ nào với số điện thoại này trong phạm vi bạn phụ trách."


async def unlink(db: Database, user: User) -> list[Reply]:
    return [Reply(UNLINKED if await db.run(roster.unlink, user.id) else NOT_LINKED)]


async def is_linked(db: Database, user: User) -> bool:
    return await db.run(roster.cadre_by_user, user.id) is not None


def typed_phone(text: str) -> bool:
    """A message that is only a phone number: refused, and the safe way explained."""
    return normalize_phone(text) is not None


async def commune(db: Database, args: str, user: User) -> list[Reply]:
    """/xa: the linked cadre's commune; /xa NAME: any commune's public data."""
    if not args:
        return await own_commune(db, user)
    found = await db.run(communes.find_communes, args)
    if not found:
        return [Reply(f"Không tìm thấy xã, phường nào có tên gần với «{escape(args)}».")]
    return await _communes(db, found)


async def commune_in_words(db: Database, words: str, user: User) -> list[Reply]:
    """ "xã Bình Lợi đạt mấy tiêu chí" shows Bình Lợi; "xã mình đạt mấy tiêu chí", one's own."""
    found = await db.run(communes.commune_in_words, words)
    return await _communes(db, found) if found else await own_commune(db, user)


async def own_commune(db: Database, user: User) -> list[Reply]:
    cadre = await db.run(roster.cadre_by_user, user.id)
    if cadre is None:
        return [link_prompt("xa")]
    status = await db.run(communes.commune_status, cadre.commune_code)
    return [Reply(views.commune_status(status, own=True))]


async def _communes(db: Database, found: list[communes.CommuneRef]) -> list[Reply]:
    if len(found) > 1:
        buttons = [Button(views.commune_choice_label(ref), f"x:{ref.code}") for ref in found]
        return [Reply("Có nhiều đơn vị tên gần giống, bạn chọn một:", rows(buttons))]
    return await commune_by_code(db, found[0].code)


async def commune_by_code(db: Database, code: int) -> list[Reply]:
    """Public data only, so a forged or stale code shows nothing private."""
    status = await db.run(communes.commune_status, code)
    if status is None:
        return []
    return [Reply(views.commune_status(status, own=False))]


async def training(
    db: Database, roles: Roles, lexicon: Lexicon, args: str, user: User
) -> list[Reply]:
    """/daotao: one's own record; /daotao PHONE: a cadre's, for the coordinators of the
    cadre's commune (one reply for "not there" and "not yours": the roster stays private)."""
    if args:
        if not roles.is_coordinator(user.id):
            return [Reply(OWN_RECORD_ONLY)]
        phone = normalize_phone(args)
        cadre = await db.run(roster.cadre_by_phone, phone) if phone else None
        if cadre is None or not roles.covers(user.id, cadre.commune_code):
            return [Reply(NO_SUCH_CADRE)]
    else:
        cadre = await db.run(roster.cadre_by_user, user.id)
        if cadre is None:
            return [link_prompt("daotao")]
    today = vietnam_today()
    record = await db.run(roster.training_record, cadre, today)
    gap = await _course_for_gap(db, lexicon, cadre, today)
    return [Reply(views.training_record(record, today, gap), _register_button(gap))]


async def standard(db: Database, lexicon: Lexicon, user: User) -> list[Reply]:
    """Does the linked cadre meet the standard, what is missing, by when, and a course for it."""
    cadre = await db.run(roster.cadre_by_user, user.id)
    if cadre is None:
        return [link_prompt("chuan")]
    today = vietnam_today()
    gap = await _course_for_gap(db, lexicon, cadre, today)
    return [Reply(views.standard(cadre, today, gap), _register_button(gap))]


async def _course_for_gap(
    db: Database, lexicon: Lexicon, cadre: roster.Cadre, today
) -> Course | None:
    """An open course with room whose title covers what the cadre is missing, if any
    (not one the cadre already has a record for: the record lists that one)."""
    if cadre.meets_standard or not cadre.missing:
        return None
    upcoming = await db.run(courses.upcoming_courses, today)
    mine = await db.run(courses.recorded_codes, cadre.id)
    available = [
        c
        for c in upcoming
        if c.code not in mine and courses.open_for_registration(c, today) and c.places_left != 0
    ]
    found = courses.courses_named(cadre.missing, available, lexicon)
    return found[0] if found else None


def _register_button(course: Course | None) -> tuple[tuple[Button, ...], ...]:
    return rows([views.register_button(course)]) if course else ()
