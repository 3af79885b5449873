"""Course announcements on the coordinator's side: the /thongbao dialogue, scheduled
announcements and who registered (the buttons under an announcement: bot.enrolment).

A draft lives in memory until it is confirmed; confirming writes the broadcast and all
its deliveries to the database, and the worker (bot.broadcast_worker) sends them.
Coordinator rights are checked from the sender's id at every step.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from bot import broadcasts, communes, courses, roster, views
from bot.account import COORDINATORS_ONLY
from bot.broadcasts import Audience
from bot.clock import VIETNAM, utc_now, vietnam_today
from bot.config import Config
from bot.db import Database
from bot.phone import mask_phone
from bot.replies import Button, Reply, User, button_number, rows, short_label
from bot.roles import NATIONAL, NOWHERE, Roles, Scope, scope_label
from bot.telegram_html import escape, to_plain

TEXT_LIMIT = 3000
CODE_DIGITS = 6  # a province or commune code: 2 or 5 digits, with room
UNLINKED = (
    "{count} cán bộ khác trong nhóm này chưa liên kết Telegram nên sẽ không nhận được "
    "(danh sách: ntm-bot export cadres, cột «Đã liên kết Telegram»)."
)
STALE = "Bản soạn thông báo này đã hết hiệu lực. Gõ /thongbao để soạn lại."
# "07:30 02/12", "7h30 ngày 02/12/2026", "gửi lúc 07:30 ngày 02/12": a time, then a day.
_TIME = re.compile(
    r"^\s*(?:gửi\s+)?(?:lúc\s+)?(\d{1,2})[:hg](\d{2})\s+(?:ngày\s+)?"
    r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\s*$",
    re.IGNORECASE,
)
_CANCEL = Button("✖️ Hủy", "tb:x")


@dataclass(frozen=True)
class Draft:
    course: str | None = None
    text: str | None = None
    audience: Audience | None = None
    at: dt.datetime | None = None  # UTC; None: as soon as it is confirmed
    waiting_for: Literal["text", "communes", "time"] | None = None


class AnnounceDesk:
    def __init__(self, config: Config, database: Database, roles: Roles) -> None:
        self.config = config
        self.db = database
        self.roles = roles
        self._drafts: dict[int, Draft] = {}

    # --- the coordinator's dialogue ---------------------------------------------------

    async def start(self, _args: str, user: User) -> list[Reply]:
        if not self.roles.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
        self._drafts[user.id] = Draft()
        upcoming = await self.db.run(courses.upcoming_courses, vietnam_today())
        buttons = [Button(short_label(f"📚 {c.title}"), f"tb:c:{c.code}") for c in upcoming]
        buttons += [Button("✍️ Tự soạn nội dung", "tb:t"), _CANCEL]
        return [
            Reply(
                "<b>Soạn thông báo</b> – bước 1/3: chọn khóa học cần thông báo, "
                "hoặc tự soạn nội dung.",
                rows(buttons),
            )
        ]

    def waiting(self, user: User) -> bool:
        draft = self._drafts.get(user.id)
        return draft is not None and draft.waiting_for is not None

    async def typed(self, text: str, user: User) -> list[Reply]:
        """The coordinator's answer to the question the dialogue asked."""
        draft = self._drafts.get(user.id)
        if draft is None or not self.roles.is_coordinator(user.id):
            return [Reply(STALE)]
        if draft.waiting_for == "text":
            if len(text) > TEXT_LIMIT:
                return [Reply(f"Nội dung dài quá {TEXT_LIMIT} ký tự, bạn rút gọn rồi gõ lại.")]
            body = f"📢 <b>Thông báo</b>\n\n{escape(text.strip())}"
            return await self._ask_audience(user, replace(draft, text=body, waiting_for=None))
        if draft.waiting_for == "communes":
            codes, problems = await self.db.run(_commune_codes, text)
            problems += [
                f"Xã mã {code} ngoài phạm vi bạn phụ trách."
                for code in codes
                if not self.roles.covers(user.id, code)
            ]
            if problems:
                return [Reply("\n".join(problems) + "\n\nBạn gõ lại danh sách xã.")]
            audience = self._within(user, Audience("communes", communes=tuple(codes)))
            return self._ask_time(user, replace(draft, audience=audience, waiting_for=None))
        if draft.waiting_for == "time":
            at = parse_time(text, utc_now())
            if at is None:
                return [
                    Reply(
                        "Chưa hiểu giờ gửi. Gõ theo dạng 07:30 02/12, và là một thời điểm sắp tới."
                    )
                ]
            return await self._preview(user, replace(draft, at=at, waiting_for=None))
        return [Reply(STALE)]

    async def button(self, data: str, user: User, message: tuple[int, int] | None) -> list[Reply]:
        draft = self._drafts.get(user.id)
        if draft is None or not self.roles.is_coordinator(user.id):
            return [Reply(STALE)]
        step, _, value = data.partition(":")
        if step == "x":
            del self._drafts[user.id]
            return [Reply("Đã hủy, không gửi gì.")]
        if step == "c":
            course = await self.db.run(courses.course_by_code, value)
            if course is None:
                return [Reply(STALE)]
            text = views.course_announcement(course)
            return await self._ask_audience(user, replace(draft, course=course.code, text=text))
        if step == "t":
            self._drafts[user.id] = replace(draft, waiting_for="text")
            return [
                Reply("Gõ nội dung thông báo (tối đa 3.000 ký tự). Trợ lý gửi đúng như bạn gõ.")
            ]
        if step == "a" and draft.text:
            return await self._choose_audience(user, draft, value)
        province = button_number(value, CODE_DIGITS)
        if step == "p" and draft.text and province is not None and self.roles.is_national(user.id):
            audience = self._within(user, Audience("province", province=province))
            return self._ask_time(user, replace(draft, audience=audience))
        if step == "now" and draft.audience:
            return await self._preview(user, replace(draft, at=None))
        if step == "at" and draft.audience:
            self._drafts[user.id] = replace(draft, waiting_for="time")
            return [
                Reply("Gõ giờ gửi theo giờ Việt Nam, ví dụ: 07:30 02/12 (hoặc 07:30 02/12/2026).")
            ]
        if step == "ok" and draft.audience and draft.audience == self._within(user, draft.audience):
            return await self._confirm(user, draft, message)  # (the role unchanged since)
        return [Reply(STALE)]

    def _within(self, user: User, audience: Audience) -> Audience:
        """The audience cut to the sender's scope: "tất cả" is all of the scope."""
        scope = self.roles.scope_of(user.id)
        return replace(audience, within=(scope or NOWHERE).key())

    async def _ask_audience(self, user: User, draft: Draft) -> list[Reply]:
        self._drafts[user.id] = draft
        count = partial(self.db.run, broadcasts.count_recipients)
        scope = self.roles.scope_of(user.id) or NOWHERE
        everyone = "Tất cả người nhận"
        if scope != NATIONAL:
            everyone = f"Tất cả ở {await self.db.run(scope_label, scope)}"
        buttons = [
            Button(f"{everyone} ({await count(self._within(user, Audience('all')))})", "tb:a:all")
        ]
        if scope == NATIONAL:
            buttons.append(Button("Theo tỉnh, thành phố", "tb:a:province"))
        if scope.kind != "commune":
            buttons.append(Button("Theo danh sách xã", "tb:a:communes"))
        standard = await count(self._within(user, Audience("not_standard")))
        buttons.append(Button(f"Cán bộ chưa đạt chuẩn ({standard})", "tb:a:ns"))
        if draft.course:
            missing = await count(
                self._within(user, Audience("not_completed", course=draft.course))
            )
            buttons.append(Button(f"Chưa hoàn thành khóa này ({missing})", "tb:a:nc"))
        buttons.append(_CANCEL)
        return [Reply("<b>Soạn thông báo</b> – bước 2/3: gửi tới ai?", rows(buttons))]

    async def _choose_audience(self, user: User, draft: Draft, choice: str) -> list[Reply]:
        fixed = {
            "all": Audience("all"),
            "ns": Audience("not_standard"),
            "nc": Audience("not_completed", course=draft.course),
        }
        scope = self.roles.scope_of(user.id) or NOWHERE
        if choice in fixed and (choice != "nc" or draft.course):
            return self._ask_time(user, replace(draft, audience=self._within(user, fixed[choice])))
        if choice == "communes" and scope.kind != "commune":
            self._drafts[user.id] = replace(draft, waiting_for="communes")
            return [
                Reply(
                    "Gõ mã hoặc tên các xã, cách nhau bằng dấu phẩy, "
                    "ví dụ: <code>27610, Bình Chánh</code>"
                )
            ]
        if choice == "province" and scope == NATIONAL:
            provinces = await self.db.run(_provinces_with_recipients)
            if not provinces:
                return [Reply("Chưa có cán bộ nào liên kết tài khoản để nhận thông báo.")]
            buttons = [Button(f"{name} ({n})", f"tb:p:{code}") for code, name, n in provinces]
            return [Reply("Chọn tỉnh, thành phố:", rows([*buttons, _CANCEL]))]
        return [Reply(STALE)]

    def _ask_time(self, user: User, draft: Draft) -> list[Reply]:
        self._drafts[user.id] = draft
        buttons = [Button("🚀 Gửi ngay", "tb:now"), Button("🕖 Hẹn giờ", "tb:at"), _CANCEL]
        return [Reply("<b>Soạn thông báo</b> – bước 3/3: gửi lúc nào?", rows(buttons))]

    async def _preview(self, user: User, draft: Draft) -> list[Reply]:
        self._drafts[user.id] = draft
        audience = draft.audience
        total = await self.db.run(broadcasts.count_recipients, audience)
        unlinked = await self.db.run(broadcasts.count_unlinked, audience)
        who = await self.db.run(_describe, audience)
        if total == 0:
            missed = f" {UNLINKED.format(count=unlinked)}" if unlinked else ""
            return [
                Reply(
                    f"Không có ai ({who}) đang nhận thông báo. Chưa gửi gì.{missed}",
                    rows([_CANCEL]),
                )
            ]
        when = "ngay khi bạn xác nhận"
        if draft.at:
            local = draft.at.astimezone(VIETNAM)
            when = f"{local:%H:%M} ngày {local:%d/%m/%Y} (giờ Việt Nam)"
        text = (
            f"<b>Xem trước thông báo</b>\n\n{draft.text}\n\n———\n"
            f"Người nhận: {who}: <b>{total} người</b> đã liên kết Telegram."
            + (f" {UNLINKED.format(count=unlinked)}" if unlinked else "")
            + f"\nThời điểm gửi: {when}.\n"
            f"Tốc độ gửi: khoảng {self.config.broadcast.rate_per_second:g} tin mỗi giây."
        )
        buttons = [Button("✅ Xác nhận gửi", "tb:ok"), _CANCEL]
        return [Reply(text, rows(buttons, per_row=2))]

    async def _confirm(
        self, user: User, draft: Draft, message: tuple[int, int] | None
    ) -> list[Reply]:
        """Queue it; `message` (the preview, in Telegram) is edited with the progress."""
        del self._drafts[user.id]
        broadcast_id, total = await self.db.run(
            broadcasts.create_broadcast,
            draft.text,
            draft.audience,
            utc_now(),
            draft.at,
            draft.course,
            user.id,
            "announcement",
            message,
            user.first_name,
        )
        when = "bắt đầu gửi ngay"
        if draft.at:
            when = f"sẽ gửi lúc {draft.at.astimezone(VIETNAM):%H:%M ngày %d/%m/%Y}"
        # Without a preview message (the console chat) there is nothing to show progress on.
        progress = (
            "Tin nhắn xem trước phía trên sẽ được cập nhật tiến độ."
            if message
            else "Bot Telegram đang chạy (ntm-bot run) sẽ gửi và báo tiến độ."
        )
        return [Reply(f"Đã xếp thông báo #{broadcast_id} tới {total} người, {when}. {progress}")]

    async def scheduled(self, _args: str, user: User) -> list[Reply]:
        """/huythongbao: the announcements waiting for their time, each with a cancel button."""
        if not self.roles.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
        scope = self.roles.scope_of(user.id) or NOWHERE
        waiting = [
            item
            for item in await self.db.run(broadcasts.scheduled_broadcasts)
            if self.roles.contains(scope, item.within)
        ]
        if not waiting:
            return [Reply("Không có thông báo nào đang chờ đến giờ gửi.")]
        lines, buttons = ["<b>Thông báo đang chờ gửi</b>", ""], []
        for item in waiting:
            at = dt.datetime.fromisoformat(item.scheduled_at).astimezone(VIETNAM)
            title = short_label(to_plain(item.text).replace("\n", " "), 70)
            lines.append(
                f"#{item.id} – {at:%H:%M %d/%m/%Y}, {item.recipients} người: {escape(title)}"
            )
            buttons.append(Button(f"✖️ Hủy thông báo #{item.id}", f"bc:{item.id}"))
        return [Reply("\n".join(lines), rows(buttons))]

    async def cancel(self, value: str, user: User) -> list[Reply]:
        number = button_number(value)
        if not self.roles.is_coordinator(user.id) or number is None:
            return [Reply(STALE)]
        scope = self.roles.scope_of(user.id) or NOWHERE
        cancelled = await self.db.run(
            broadcasts.cancel,
            number,
            utc_now(),
            partial(self.roles.contains, scope),
            user.id,
            user.first_name,
        )
        if cancelled:
            return [Reply(f"Đã hủy thông báo #{number}; không ai nhận được tin nào.")]
        return [Reply(f"Không hủy được thông báo #{number}: nó đã bắt đầu gửi hoặc không còn.")]

    # --- the coordinator's list of registrations ---------------------------------------

    async def registrations(self, args: str, user: User) -> list[Reply]:
        if not self.roles.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
        code = args.strip()
        course = await self.db.run(courses.course_by_code, code) if code else None
        if course is None:
            return [Reply("Gõ /dangkykhoahoc MÃ_KHÓA, ví dụ: /dangkykhoahoc LLCT-TC-2026")]
        scope = self.roles.scope_of(user.id) or NOWHERE
        people = await self.db.run(broadcasts.registrations, course.code, scope)
        lines = [f"<b>Đăng ký khóa {escape(course.code)}</b>: {escape(course.title)}", ""]
        lines += [
            f"{n}. {escape(p.full_name)} – {escape(p.position or '')}, {escape(p.commune)}"
            f" ({mask_phone(p.phone)}): {roster.STATUS_LABELS.get(p.status, p.status)}"
            for n, p in enumerate(people, 1)
        ] or ["Chưa có ai đăng ký."]
        lines += ["", f"Tổng: {len(people)} người. Xuất ra Excel: ntm-bot export registrations"]
        return [Reply("\n".join(lines))]


def parse_time(text: str, now: dt.datetime) -> dt.datetime | None:
    """'07:30 02/12' or '07:30 02/12/2026', Vietnam time, in the future -> UTC."""
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute, day, month, year = match.groups()
    local_now = now.astimezone(VIETNAM)
    try:
        at = dt.datetime(
            int(year or local_now.year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            tzinfo=VIETNAM,
        )
    except ValueError:
        return None
    if year is None and at < local_now:
        at = at.replace(year=at.year + 1)
    return at.astimezone(dt.UTC) if at > local_now else None


def parse_audience(text: str) -> Audience | None:
    """The command line's audience: all, province:79, communes:27610,27613,
    not-standard, not-completed:CODE."""
    kind, _, value = text.strip().partition(":")
    if kind == "all" and not value:
        return Audience("all")
    if kind == "not-standard" and not value:
        return Audience("not_standard")
    if kind == "not-completed" and value:
        return Audience("not_completed", course=value)
    if kind == "province" and (province := button_number(value, CODE_DIGITS)) is not None:
        return Audience("province", province=province)
    codes = [button_number(c.strip(), CODE_DIGITS) for c in value.split(",")]
    if kind == "communes" and codes and None not in codes:
        return Audience("communes", communes=tuple(codes))
    return None


def audience_problems(db, audience: Audience) -> list[str]:
    """What in a command line's audience names nothing: each unknown code, in Vietnamese."""
    problems = [
        f"Không có xã nào mã {code}."
        for code in audience.communes
        if not db.execute("SELECT 1 FROM communes WHERE code = ?", [code]).fetchone()
    ]
    if (
        audience.province is not None
        and not db.execute("SELECT 1 FROM provinces WHERE code = ?", [audience.province]).fetchone()
    ):
        problems.append(f"Không có tỉnh, thành phố nào mã {audience.province}.")
    if (
        audience.course
        and not db.execute("SELECT 1 FROM courses WHERE code = ?", [audience.course]).fetchone()
    ):
        problems.append(f"Không có khóa học mã {audience.course}.")
    return problems


def _commune_codes(db, text: str) -> tuple[list[int], list[str]]:
    codes, problems = [], []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if (code := button_number(item, CODE_DIGITS)) is not None:
            if db.execute("SELECT 1 FROM communes WHERE code = ?", [code]).fetchone():
                codes.append(code)
            else:
                problems.append(f"Không có xã nào mã {item}.")
            continue
        found = communes.find_communes(db, item)
        if len(found) == 1:
            codes.append(found[0].code)
        elif not found:
            problems.append(f"Không tìm thấy xã «{escape(item)}».")
        else:
            names = "; ".join(f"{f.name} – {f.province} (mã {f.code})" for f in found)
            problems.append(
                f"«{escape(item)}» có nhiều đơn vị trùng tên, hãy gõ mã: {escape(names)}."
            )
    return codes, problems


def _provinces_with_recipients(db) -> list[tuple[int, str, int]]:
    return db.execute(
        "SELECT p.code, p.name, count(*) FROM cadres k JOIN communes c ON c.code = k.commune_code"
        " JOIN provinces p ON p.code = c.province_code"
        " WHERE k.telegram_user_id IS NOT NULL AND k.subscribed = 1"
        " GROUP BY p.code ORDER BY p.name"
    ).fetchall()


def _describe(db, audience: Audience) -> str:
    within = Scope.parse(audience.within)
    said = _describe_kind(db, audience)
    return said if within == NATIONAL else f"{said} thuộc {escape(scope_label(db, within))}"


def _describe_kind(db, audience: Audience) -> str:
    if audience.kind == "province":
        row = db.execute(
            "SELECT name FROM provinces WHERE code = ?", [audience.province]
        ).fetchone()
        return f"cán bộ ở {row[0] if row else audience.province}"
    if audience.kind == "communes":
        marks = ",".join("?" * len(audience.communes))
        rows_ = db.execute(f"SELECT name FROM communes WHERE code IN ({marks})", audience.communes)
        names = [name for (name,) in rows_]
        return f"cán bộ của {len(names)} xã ({escape(', '.join(names))})"
    return {
        "all": "tất cả người nhận thông báo",
        "not_standard": "cán bộ chưa đạt chuẩn",
        "not_completed": f"cán bộ chưa hoàn thành khóa {escape(audience.course or '')}",
        "registered": f"cán bộ đã đăng ký khóa {escape(audience.course or '')}",
    }[audience.kind]
