"""Durable announcements: a broadcast row and one delivery row per recipient.

Everything a broadcast will do is written before the first message goes out, and
every delivery's state is committed as it changes, so a process killed at any point
resumes where it stopped: deliveries still `pending` are sent, and a delivery caught
in `sending` (the one message in flight) is sent again.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import sqlite_utils

from bot import audit
from bot.courses import Course, course_by_code
from bot.db import transaction
from bot.roles import NATIONAL, Scope, scope_sql

AudienceKind = Literal["all", "province", "communes", "not_standard", "not_completed", "registered"]
Registration = Literal["not_linked", "no_course", "closed", "full", "already", "registered"]


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    province: int | None = None
    communes: tuple[int, ...] = field(default_factory=tuple)
    course: str | None = None
    # The sender's scope (bot.roles): nobody outside it is reached, whatever the kind.
    within: str = "national"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class Broadcast:
    id: int
    kind: str
    course_code: str | None
    text: str
    status: str
    scheduled_at: str
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass(frozen=True)
class Delivery:
    cadre_id: int
    chat_id: int
    status: str
    attempts: int


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    blocked: int
    failed: int

    @property
    def left(self) -> int:
        return self.total - self.sent - self.blocked - self.failed


def _recipient_sql(audience: Audience, linked: bool = True) -> tuple[str, list[object]]:
    """The audience's cadres who linked Telegram (with `linked`), or those who did not."""
    where, params = scope_sql(Scope.parse(audience.within), "k.commune_code")
    sql = (
        "SELECT k.id, k.telegram_user_id FROM cadres k JOIN communes c ON c.code = k.commune_code"
        f" WHERE k.telegram_user_id IS {'NOT ' if linked else ''}NULL AND {where}"
    )
    # A reminder of one's own registration is not an announcement; the unlinked have no
    # subscription to speak of.
    if linked and audience.kind != "registered":
        sql += " AND k.subscribed = 1"
    if audience.kind == "province":
        sql += " AND c.province_code = ?"
        params.append(audience.province)
    elif audience.kind == "communes":
        sql += f" AND k.commune_code IN ({','.join('?' * len(audience.communes))})"
        params.extend(audience.communes)
    elif audience.kind == "not_standard":
        sql += " AND k.meets_standard = 0"
    elif audience.kind in ("not_completed", "registered"):
        status = "completed" if audience.kind == "not_completed" else "registered"
        negate = "NOT " if audience.kind == "not_completed" else ""
        sql += (
            f" AND {negate}EXISTS (SELECT 1 FROM training_records r WHERE r.cadre_id = k.id"
            " AND r.course_code = ? AND r.status = ?)"
        )
        params += [audience.course, status]
    return sql + " ORDER BY k.id", params


def recipients(db: sqlite_utils.Database, audience: Audience) -> list[tuple[int, int]]:
    sql, params = _recipient_sql(audience)
    return [(cadre, chat) for cadre, chat in db.execute(sql, params).fetchall()]


def count_recipients(db: sqlite_utils.Database, audience: Audience) -> int:
    sql, params = _recipient_sql(audience)
    return db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]


def count_unlinked(db: sqlite_utils.Database, audience: Audience) -> int:
    """Cadres of the audience who have not linked Telegram: the announcement misses them."""
    sql, params = _recipient_sql(audience, linked=False)
    return db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]


def create_broadcast(
    db: sqlite_utils.Database,
    text: str,
    audience: Audience,
    now: dt.datetime,
    scheduled_at: dt.datetime | None = None,
    course_code: str | None = None,
    created_by: int | None = None,
    kind: str = "announcement",
    progress: tuple[int, int] | None = None,
    actor_label: str = "",
) -> tuple[int, int]:
    """The broadcast, its deliveries and (for an announcement) its line in the audit
    trail, in one transaction; returns (id, recipients)."""
    chat, message = progress or (None, None)
    with transaction(db):
        broadcast_id = (
            db["broadcasts"]
            .insert(
                {
                    "kind": kind,
                    "course_code": course_code,
                    "text": text,
                    "audience": audience.to_json(),
                    "created_by": created_by,
                    "created_at": now.isoformat(timespec="seconds"),
                    "scheduled_at": (scheduled_at or now).isoformat(timespec="seconds"),
                    "status": "scheduled",
                    "progress_chat_id": chat,
                    "progress_message_id": message,
                }
            )
            .last_pk
        )
        people = recipients(db, audience)
        db["deliveries"].insert_all(
            {"broadcast_id": broadcast_id, "cadre_id": cadre, "chat_id": chat_id}
            for cadre, chat_id in people
        )
        if kind == "announcement":  # reminders are the bot's own
            detail = {
                "thông báo": broadcast_id,
                "nhóm": audience.kind,
                "người nhận": len(people),
                "chưa liên kết": count_unlinked(db, audience),
            }
            if course_code:
                detail["khóa học"] = course_code
            audit.record(
                db,
                "broadcast",
                detail,
                actor=created_by,
                actor_label=actor_label,
                scope=audience.within,
            )
    return broadcast_id, len(people)


def due_broadcast(db: sqlite_utils.Database, now: dt.datetime) -> Broadcast | None:
    """The next broadcast to send (one being sent first), marked as sending."""
    row = db.execute(
        "SELECT id, kind, course_code, text, status, scheduled_at, progress_chat_id,"
        " progress_message_id FROM broadcasts WHERE status IN ('scheduled', 'sending')"
        " AND scheduled_at <= ? ORDER BY status = 'sending' DESC, scheduled_at, id LIMIT 1",
        [now.isoformat(timespec="seconds")],
    ).fetchone()
    if row is None:
        return None
    with transaction(db):
        db.execute("UPDATE broadcasts SET status = 'sending' WHERE id = ?", [row[0]])
    return Broadcast(*row[:4], "sending", *row[5:])


def next_deliveries(db: sqlite_utils.Database, broadcast_id: int, limit: int) -> list[Delivery]:
    rows = db.execute(
        "SELECT cadre_id, chat_id, status, attempts FROM deliveries"
        " WHERE broadcast_id = ? AND status IN ('pending', 'sending') ORDER BY rowid LIMIT ?",
        [broadcast_id, limit],
    ).fetchall()
    return [Delivery(*row) for row in rows]


def mark(
    db: sqlite_utils.Database,
    broadcast_id: int,
    cadre_id: int,
    status: str,
    now: dt.datetime,
    error: str | None = None,
    attempted: bool = False,
) -> None:
    """Commit one delivery's new state; a blocked recipient is unsubscribed with it."""
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = ?, error = ?, attempts = attempts + ?,"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END"
            " WHERE broadcast_id = ? AND cadre_id = ?",
            [
                status,
                error,
                int(attempted),
                status,
                now.isoformat(timespec="seconds"),
                broadcast_id,
                cadre_id,
            ],
        )
        if status == "blocked":
            db.execute("UPDATE cadres SET subscribed = 0 WHERE id = ?", [cadre_id])


def progress(db: sqlite_utils.Database, broadcast_id: int) -> Progress:
    counts = dict(
        db.execute(
            "SELECT status, count(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status",
            [broadcast_id],
        ).fetchall()
    )
    total = sum(counts.values())
    return Progress(total, counts.get("sent", 0), counts.get("blocked", 0), counts.get("failed", 0))


def finish(db: sqlite_utils.Database, broadcast_id: int, now: dt.datetime) -> None:
    with transaction(db):
        db.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?",
            [now.isoformat(timespec="seconds"), broadcast_id],
        )


@dataclass(frozen=True)
class Scheduled:
    id: int
    scheduled_at: str
    recipients: int
    text: str
    within: Scope  # the scope it was sent in: only coordinators holding it may cancel


def scheduled_broadcasts(db: sqlite_utils.Database) -> list[Scheduled]:
    """Announcements waiting for their time, soonest first."""
    rows = db.execute(
        "SELECT b.id, b.scheduled_at, count(d.cadre_id), b.text, b.audience FROM broadcasts b"
        " LEFT JOIN deliveries d ON d.broadcast_id = b.id"
        " WHERE b.status = 'scheduled' AND b.kind = 'announcement'"
        " GROUP BY b.id ORDER BY b.scheduled_at, b.id"
    ).fetchall()
    return [Scheduled(*row[:4], _within(row[4])) for row in rows]


def _within(audience_json: str) -> Scope:
    """An audience stored before scopes existed was the whole country's."""
    return Scope.parse(json.loads(audience_json).get("within", "national"))


def cancel(
    db: sqlite_utils.Database,
    broadcast_id: int,
    now: dt.datetime,
    allowed: Callable[[Scope], bool] = lambda _scope: True,
    actor: int | None = None,
    actor_label: str = "",
) -> bool:
    """Cancel an announcement not yet started, if `allowed` its scope; False if it is
    sending, done, unknown or not the canceller's. The trail has it in the same commit."""
    with transaction(db):
        row = db.execute(
            "SELECT audience FROM broadcasts WHERE id = ? AND status = 'scheduled'"
            " AND kind = 'announcement'",  # the bot's own reminders are not anyone's to cancel
            [broadcast_id],
        ).fetchone()
        if row is None or not allowed(within := _within(row[0])):
            return False
        db.execute(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? WHERE id = ?",
            [now.isoformat(timespec="seconds"), broadcast_id],
        )
        audit.record(
            db,
            "broadcast.cancel",
            {"thông báo": broadcast_id},
            actor=actor,
            actor_label=actor_label,
            scope=within.key(),
        )
    return True


def create_reminders(
    db: sqlite_utils.Database,
    render: Callable[[Course], str],
    today: dt.date,
    now: dt.datetime,
) -> list[int]:
    """A reminder broadcast for each course starting tomorrow, once per course."""
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    created = []
    for (code,) in db.execute(
        "SELECT code FROM courses WHERE start_date = ?", [tomorrow]
    ).fetchall():
        audience = Audience("registered", course=code)
        course = course_by_code(db, code)
        if course is None or not count_recipients(db, audience):
            continue
        try:
            broadcast_id, _ = create_broadcast(
                db, render(course), audience, now, course_code=code, kind="reminder"
            )
        except sqlite3.IntegrityError:  # this course's reminder exists already
            continue
        created.append(broadcast_id)
    return created


def register(
    db: sqlite_utils.Database, user_id: int, course_code: str, today: dt.date
) -> Registration:
    """Register the linked cadre for a course, if it is open and has room."""
    with transaction(db):
        cadre = db.execute("SELECT id FROM cadres WHERE telegram_user_id = ?", [user_id]).fetchone()
        if cadre is None:
            return "not_linked"
        course = db.execute(
            "SELECT start_date, registration_deadline, capacity FROM courses WHERE code = ?",
            [course_code],
        ).fetchone()
        if course is None:
            return "no_course"
        start, deadline, capacity = course
        day = today.isoformat()
        if start <= day or (deadline is not None and deadline < day):
            return "closed"
        existing = db.execute(
            "SELECT 1 FROM training_records WHERE cadre_id = ? AND course_code = ?",
            [cadre[0], course_code],
        ).fetchone()
        if existing:
            return "already"
        taken = db.execute(
            "SELECT count(*) FROM training_records WHERE course_code = ?", [course_code]
        ).fetchone()[0]
        if capacity is not None and taken >= capacity:
            return "full"
        db["training_records"].insert(
            {"cadre_id": cadre[0], "course_code": course_code, "status": "registered"}
        )
    return "registered"


@dataclass(frozen=True)
class RegistrationRow:
    full_name: str
    position: str | None
    commune: str
    phone: str
    status: str


def registrations(
    db: sqlite_utils.Database, course_code: str, scope: Scope = NATIONAL
) -> list[RegistrationRow]:
    """Who has a record in the course, among the cadres of `scope`."""
    where, params = scope_sql(scope, "k.commune_code")
    rows = db.execute(
        "SELECT k.full_name, k.position, c.name, k.phone, r.status FROM training_records r"
        " JOIN cadres k ON k.id = r.cadre_id JOIN communes c ON c.code = k.commune_code"
        f" WHERE r.course_code = ? AND {where} ORDER BY c.name, k.full_name",
        [course_code, *params],
    ).fetchall()
    return [RegistrationRow(*row) for row in rows]
