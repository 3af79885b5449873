"""Cadres, the link between a Telegram account and a cadre, and training records.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
A phone number reaches `link` only from a contact Telegram has verified as the
sender's own; nothing here decides who may see what (the assistant does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sqlite_utils

from bot.db import transaction

STATUS_LABELS = {
    "registered": "đã đăng ký",
    "attended": "đã tham gia",
    "completed": "đã hoàn thành",
}


@dataclass(frozen=True)
class Cadre:
    id: int
    full_name: str
    position: str | None
    phone: str
    commune_code: int
    commune_name: str
    meets_standard: bool
    missing: str | None
    deadline: str | None
    telegram_user_id: int | None
    demo: bool


@dataclass(frozen=True)
class CourseRecord:
    code: str
    title: str
    start_date: str
    end_date: str | None
    status: str
    certificate_no: str | None
    date: str | None


@dataclass(frozen=True)
class TrainingRecord:
    cadre: Cadre
    done: tuple[CourseRecord, ...]  # completed or attended
    upcoming: tuple[CourseRecord, ...]  # registered for a course that has not ended


LinkOutcome = Literal["linked", "relinked", "unknown_phone"]

_CADRE_SELECT = (
    "SELECT k.id, k.full_name, k.position, k.phone, k.commune_code, c.name, k.meets_standard,"
    " k.missing, k.deadline, k.telegram_user_id, k.demo"
    " FROM cadres k JOIN communes c ON c.code = k.commune_code"
)


def cadre_by_user(db: sqlite_utils.Database, user_id: int) -> Cadre | None:
    return _one(db, f"{_CADRE_SELECT} WHERE k.telegram_user_id = ?", [user_id])


def cadre_by_phone(db: sqlite_utils.Database, phone: str) -> Cadre | None:
    return _one(db, f"{_CADRE_SELECT} WHERE k.phone = ?", [phone])


def link(
    db: sqlite_utils.Database,
    phone: str,
    user_id: int,
    moved: Callable[[sqlite_utils.Database, int, int], None] | None = None,
    commune_code: int | None = None,
) -> LinkOutcome:
    """Link the account to the cadre with this (verified) phone number.

    A person may change phones or accounts: the verified number wins, so an older link
    of either side is replaced. `moved(db, cadre_id, previous_user)` runs in the same
    transaction when the record leaves another account (a recycled number, a SIM swap):
    the place to record it and to tell the people concerned. With `commune_code` (an
    invitation), only a cadre of that commune is linked.
    """
    with transaction(db):
        row = db.execute(
            "SELECT id, telegram_user_id FROM cadres WHERE phone = ?"
            " AND (? IS NULL OR commune_code = ?)",
            [phone, commune_code, commune_code],
        )
        found = row.fetchone()
        if found is None:
            return "unknown_phone"
        cadre_id, previous = found
        db.execute(
            "UPDATE cadres SET telegram_user_id = NULL WHERE telegram_user_id = ? AND id != ?",
            [user_id, cadre_id],
        )
        db.execute("UPDATE cadres SET telegram_user_id = ? WHERE id = ?", [user_id, cadre_id])
        if moved and previous not in (None, user_id):
            moved(db, cadre_id, previous)
    return "linked" if previous in (None, user_id) else "relinked"


def undo_relink(
    db: sqlite_utils.Database,
    relink_id: int,
    by: int,
    now: str,
    allowed: Callable[[sqlite_utils.Database, int, int], bool],
) -> Cadre | None:
    """Give a moved record back to its earlier account, if nothing changed since and
    `allowed(db, cadre_id, commune_code)` (which may write to the same transaction)."""
    with transaction(db):
        row = db.execute(
            "SELECT cadre_id, from_user, to_user FROM relinks WHERE id = ? AND undone_at IS NULL",
            [relink_id],
        ).fetchone()
        if row is None:
            return None
        cadre_id, from_user, to_user = row
        current = db.execute(
            "SELECT telegram_user_id FROM cadres WHERE id = ?", [cadre_id]
        ).fetchone()
        taken = db.execute(
            "SELECT 1 FROM cadres WHERE telegram_user_id = ?", [from_user]
        ).fetchone()
        if current is None or current[0] != to_user or taken:
            return None
        commune_code = db.execute(
            "SELECT commune_code FROM cadres WHERE id = ?", [cadre_id]
        ).fetchone()[0]
        if not allowed(db, cadre_id, commune_code):
            return None
        db.execute("UPDATE cadres SET telegram_user_id = ? WHERE id = ?", [from_user, cadre_id])
        db.execute(
            "UPDATE relinks SET undone_by = ?, undone_at = ? WHERE id = ?", [by, now, relink_id]
        )
    return _one(db, f"{_CADRE_SELECT} WHERE k.id = ?", [cadre_id])


def unlink(db: sqlite_utils.Database, user_id: int) -> bool:
    with transaction(db):
        cursor = db.execute(
            "UPDATE cadres SET telegram_user_id = NULL WHERE telegram_user_id = ?", [user_id]
        )
    return cursor.rowcount > 0


def training_record(db: sqlite_utils.Database, cadre: Cadre, today: dt.date) -> TrainingRecord:
    rows = db.execute(
        "SELECT s.code, s.title, s.start_date, s.end_date, r.status, r.certificate_no, r.date"
        " FROM training_records r JOIN courses s ON s.code = r.course_code"
        " WHERE r.cadre_id = ? ORDER BY s.start_date",
        [cadre.id],
    ).fetchall()
    records = [CourseRecord(*row) for row in rows]
    iso = today.isoformat()
    done = tuple(r for r in records if r.status in ("completed", "attended"))
    upcoming = tuple(
        r for r in records if r.status == "registered" and (r.end_date or r.start_date) >= iso
    )
    return TrainingRecord(cadre, done, upcoming)


def _one(db: sqlite_utils.Database, sql: str, params: list[object]) -> Cadre | None:
    row = db.execute(sql, params).fetchone()
    if row is None:
        return None
    values = list(row)
    values[6] = bool(values[6])
    values[10] = bool(values[10])
    return Cadre(*values)
