"""The coordinators' own desk: who holds which role (/dieuphoivien) and the audit trail
(/nhatky). Rights come from the sender's role (bot.roles), never from button data:
a coordinator gives and removes roles within their own scope only.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlite_utils

from bot import audit, communes, courses, invites, outbox, reports, roles, roster
from bot.account import COORDINATORS_ONLY
from bot.clock import VIETNAM, local_date, now_iso, vietnam_today
from bot.db import Database
from bot.phone import normalize_phone
from bot.replies import Attachment, Button, Reply, User, button_number, rows
from bot.roles import NATIONAL, Role, RoleError, Roles, Scope
from bot.telegram_html import escape

TRAIL_SHOWN = 20
HOW_TO = (
    "Thêm: <code>/dieuphoivien them SĐT_HOẶC_MÃ_TELEGRAM PHẠM_VI</code>, phạm vi là "
    "<code>toanquoc</code>, <code>tinh MÃ_TỈNH</code> hoặc <code>xa MÃ_XÃ</code> (bỏ trống: "
    "phạm vi của bạn). Người được thêm gõ /id để biết mã Telegram của mình; nếu đã liên kết hồ "
    "sơ cán bộ thì dùng số điện thoại.\nGỡ: bấm nút ✖️ của người đó, hoặc "
    "<code>/dieuphoivien go SĐT_HOẶC_MÃ</code>."
)
WELCOME = (
    "Bạn vừa được giao vai <b>điều phối viên</b>, phạm vi: {scope}. Gõ /help để xem các lệnh "
    "dành cho điều phối viên."
)
_SCOPE_WORDS = {"toanquoc": "national", "tinh": "province", "xa": "commune"}


def parse_scope(words: list[str], default: Scope) -> Scope | None:
    """['tinh', '79'] -> province 79; [] -> `default`; None when it names no scope."""
    if not words:
        return default
    kind = _SCOPE_WORDS.get(words[0].lower())
    if kind == "national" and len(words) == 1:
        return NATIONAL
    code = button_number(words[1], roles.CODE_DIGITS) if len(words) == 2 else None
    if kind in ("province", "commune") and code is not None:
        return Scope(kind, code)  # type: ignore[arg-type]
    return None


def resolve_person(db: sqlite_utils.Database, text: str) -> int | None:
    """A phone of a cadre who linked Telegram, or a Telegram id, -> the Telegram id."""
    phone = normalize_phone(text)
    if phone is not None:
        cadre = roster.cadre_by_phone(db, phone)
        return cadre.telegram_user_id if cadre else None
    user_id = button_number(text, 16)
    return user_id if user_id and user_id < 2**52 else None  # Telegram ids fit in 52 bits


class CoordinatorsDesk:
    def __init__(self, database: Database, roles_: Roles) -> None:
        self.db = database
        self.roles = roles_

    # --- /dieuphoivien -----------------------------------------------------------------

    async def manage(self, args: str, user: User) -> list[Reply]:
        scope = self.roles.scope_of(user.id)
        if scope is None:
            return [Reply(COORDINATORS_ONLY)]
        words = args.split()
        verb = words[0].lower() if words else ""
        if verb in ("them", "thêm") and len(words) >= 2:
            chosen = parse_scope(words[2:], scope)
            if chosen is None:
                return [Reply("Chưa hiểu phạm vi. " + HOW_TO)]
            return await self._grant(words[1], chosen, user)
        if verb in ("go", "gỡ") and len(words) == 2:
            person = await self.db.run(resolve_person, words[1])
            if person is None:
                return [Reply(NOT_FOUND)]
            return await self._revoke(person, user)
        return await self._list(user, scope)

    async def button(self, value: str, user: User, _message: object = None) -> list[Reply]:
        verb, _, rest = value.partition(":")
        person = button_number(rest, 16)  # a Telegram id, as resolve_person reads it
        if verb != "rm" or person is None or not self.roles.is_coordinator(user.id):
            return []
        return await self._revoke(person, user)

    async def _list(self, user: User, scope: Scope) -> list[Reply]:
        held = await self.db.run(_roles_within, self.roles, scope)
        label = await self.db.run(roles.scope_label, scope)
        lines = [f"<b>Điều phối viên trong phạm vi của bạn</b> ({escape(label)}):", ""]
        if not held:
            lines.append("Chưa có ai được giao vai trong phạm vi này.")
        buttons = []
        for role, where in held:
            source = " – khai trong tệp cấu hình" if role.source == "config" else ""
            you = " (bạn)" if role.user_id == user.id else ""
            lines.append(f"• <code>{role.user_id}</code>{you}: {escape(where)}{source}")
            if role.source != "config" and role.user_id != user.id:
                buttons.append(Button(f"✖️ Gỡ {role.user_id}", f"dp:rm:{role.user_id}"))
        lines += ["", HOW_TO]
        return [Reply("\n".join(lines), rows(buttons, per_row=2))]

    async def _grant(self, who: str, scope: Scope, user: User) -> list[Reply]:
        person = await self.db.run(resolve_person, who)
        if person is None:
            return [Reply(NOT_FOUND)]

        def grant(db: sqlite_utils.Database) -> tuple[list[Role], str]:
            label = roles.scope_label(db, scope)
            welcome = Reply(WELCOME.format(scope=escape(label)))
            changed = roles.grant(
                db,
                self.roles,
                person,
                scope,
                by=user.id,
                by_label=user.first_name,
                then=lambda store: outbox.enqueue(store, person, welcome, now_iso()),
            )
            return changed, label

        try:
            changed, label = await self.db.run(grant)
        except RoleError as exc:
            return [Reply(escape(str(exc)))]
        self.roles.replace(changed)
        done = f"Đã giao vai điều phối viên cho <code>{person}</code>, phạm vi: {escape(label)}."
        return [Reply(done)]

    async def _revoke(self, person: int, user: User) -> list[Reply]:
        if person == user.id:
            return [Reply("Bạn không tự gỡ vai của mình được; nhờ người ở phạm vi rộng hơn.")]
        try:
            changed = await self.db.run(
                lambda db: roles.revoke(
                    db, self.roles, person, by=user.id, by_label=user.first_name
                )
            )
        except RoleError as exc:
            return [Reply(escape(str(exc)))]
        self.roles.replace(changed)
        return [Reply(f"Đã gỡ vai điều phối viên của <code>{person}</code>.")]

    # --- /moi ---------------------------------------------------------------------------

    async def invite(self, args: str, user: User, bot_username: str | None) -> list[Reply]:
        """/moi [XÃ]: an invitation link and its QR code for a commune of one's scope."""
        scope = self.roles.scope_of(user.id)
        if scope is None:
            return [Reply(COORDINATORS_ONLY)]
        if not bot_username:
            return [Reply(NO_USERNAME)]
        query = args.strip()
        if not query:
            if scope.kind != "commune":
                return [Reply(INVITE_HOW)]
            found = [await self.db.run(communes.commune_ref, scope.code)]
        elif (code := button_number(query, roles.CODE_DIGITS)) is not None:
            found = [await self.db.run(communes.commune_ref, code)]
        else:
            found = await self.db.run(communes.find_communes, query)
        found = [ref for ref in found if ref is not None]
        if not found:
            return [Reply(f"Không tìm thấy xã, phường nào «{escape(query)}».")]
        if len(found) > 1:
            names = "; ".join(
                f"{escape(r.name)} – {escape(r.province)} (mã {r.code})" for r in found
            )
            return [Reply(f"Có nhiều đơn vị trùng tên, bạn gõ /moi kèm mã: {names}.")]
        if not self.roles.covers(user.id, found[0].code):
            return [Reply("Xã này ngoài phạm vi bạn phụ trách.")]
        made = await self.db.run(
            lambda db: invites.create(db, found[0].code, by=user.id, by_label=user.first_name)
        )
        link = made.link(bot_username)
        until = local_date(made.expires_at)
        text = INVITE.format(commune=escape(made.commune), link=link, until=until)
        qr = Attachment(f"moi-lien-ket-{made.commune_code}.png", invites.qr_png(link), photo=True)
        return [Reply(text, attachments=(qr,))]

    # --- /baocao -----------------------------------------------------------------------

    async def report(self, args: str, user: User) -> list[Reply]:
        """/baocao [MÃ_KHÓA]: the scope's chart images and the same table as .xlsx."""
        scope = self.roles.scope_of(user.id)
        if scope is None:
            return [Reply(COORDINATORS_ONLY)]
        course = args.strip() or None
        if course and await self.db.run(courses.course_by_code, course) is None:
            return [
                Reply(f"Không có khóa học mã {escape(course)}. Gõ /baocao hoặc /baocao MÃ_KHÓA.")
            ]
        made = await self.db.run(reports.build, scope, vietnam_today(), course)
        if not made.rows:
            return [Reply(f"Chưa có cán bộ nào trong danh sách của {escape(made.scope_name)}.")]
        pages, sheet = await asyncio.to_thread(
            lambda: (reports.render_pages(made), reports.xlsx_bytes(made))
        )
        stamp = f"{made.day:%Y-%m-%d}"
        files = [
            Attachment(f"bao-cao-{stamp}-{n}.png", png, photo=True)
            for n, png in enumerate(pages, 1)
        ]
        files.append(Attachment(f"bao-cao-{stamp}.xlsx", sheet))
        return [Reply(report_summary(made), attachments=tuple(files))]

    # --- /nhatky -----------------------------------------------------------------------

    async def trail(self, args: str, _user: User) -> list[Reply]:
        """The newest lines of the audit trail, or those since a day (`/nhatky 01/12/2026`)."""
        since = None
        if args.strip():
            day = parse_day(args.strip())
            if day is None:
                return [Reply("Gõ /nhatky, hoặc /nhatky NGÀY (ví dụ /nhatky 01/12/2026).")]
            since = start_of_day(day)
        found = await self.db.run(audit.entries, since, TRAIL_SHOWN)
        if not found:
            return [Reply("Nhật ký chưa có dòng nào" + (" từ ngày đó." if since else "."))]
        head = f"<b>Nhật ký thao tác</b> ({len(found)} dòng mới nhất"
        head += ", từ ngày đã chọn)" if since else ")"
        lines = [head, "", *(f"• {escape(entry.line())}" for entry in found)]
        lines += ["", "Toàn bộ nhật ký trên máy chủ: ntm-bot audit --since NGÀY"]
        return [Reply("\n".join(lines))]


INVITE = (
    "🔗 <b>Lời mời liên kết cho cán bộ {commune}</b>\n\n{link}\n\n"
    "Gửi đường dẫn này vào nhóm nhắn tin của xã, hoặc in mã QR bên dưới: cán bộ bấm vào (hoặc "
    "quét mã), rồi bấm <b>📱 Chia sẻ số điện thoại</b> là liên kết xong. Chỉ cán bộ có tên "
    "trong danh sách của xã mới liên kết được; đường dẫn không cho thêm quyền gì khác.\n"
    "Hiệu lực đến hết ngày {until}."
)
INVITE_HOW = (
    "Gõ /moi kèm mã hoặc tên xã, ví dụ: <code>/moi 27610</code> hoặc <code>/moi Bình Lợi</code>."
)
NO_USERNAME = (
    "Chưa biết tên bot để tạo đường dẫn: khai <code>telegram.bot_username</code> trong tệp cấu "
    "hình (bot Telegram đang chạy tự biết tên mình)."
)


def report_summary(report: reports.Report) -> str:
    """The message above the images: the scope's totals and how to read the charts."""
    total = report.totals()

    def share(part: int) -> str:
        return f"{100 * part / total.cadres:.1f}".replace(".", ",")  # Vietnamese decimals

    lines = [
        f"📊 <b>Báo cáo {escape(report.scope_name)}</b>, ngày {report.day:%d/%m/%Y}",
        f"{total.units} {report.unit}, {total.cadres} cán bộ trong danh sách: đạt chuẩn "
        f"{total.meeting} ({share(total.meeting)}%), đã liên kết Telegram {total.linked} "
        f"({share(total.linked)}%).",
    ]
    if report.course:
        lines.append(
            f"Khóa {escape(report.course)}: {total.completed} cán bộ đã hoàn thành "
            f"({share(total.completed)}% số cán bộ)."
        )
    lines.append(
        f"Trong ảnh, {report.unit} có tỷ lệ đạt chuẩn thấp nhất ở trên cùng; tệp Excel có đủ "
        "bảng số liệu."
    )
    if report.charted < len(report.rows):
        lines.append(
            f"Ảnh chỉ vẽ {report.charted} {report.unit} thấp nhất trong {len(report.rows)}."
        )
    return "\n".join(lines)


NOT_FOUND = (
    "Không tìm thấy người này: gõ mã Telegram của họ (họ gõ /id để biết), hoặc số điện thoại "
    "của cán bộ đã liên kết Telegram."
)


def parse_day(text: str) -> dt.date | None:
    """'01/12/2026' or '2026-12-01', in the programme's years (2000-2099)."""
    for shape in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = dt.datetime.strptime(text, shape).date()
        except ValueError:
            continue
        return day if 2000 <= day.year <= 2099 else None
    return None


def start_of_day(day: dt.date) -> str:
    """The stored (UTC) moment a Vietnam day begins."""
    start = dt.datetime.combine(day, dt.time(0), VIETNAM).astimezone(dt.UTC)
    return start.isoformat(timespec="seconds")


def _roles_within(db: sqlite_utils.Database, held: Roles, scope: Scope) -> list[tuple[Role, str]]:
    found = [r for r in roles.all_roles(db) if held.contains(scope, r.scope)]
    return [(r, roles.scope_label(db, r.scope)) for r in found]
