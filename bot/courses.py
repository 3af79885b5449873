"""Training courses: what is coming up, and how full it is.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Course:
    code: str
    title: str
    organiser: str | None
    start_date: str
    end_date: str | None
    place: str | None
    online_link: str | None
    capacity: int | None
    registration_deadline: str | None
    registered: int  # records in any status
    demo: bool

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.registered, 0)


_SELECT = (
    "SELECT s.code, s.title, s.organiser, s.start_date, s.end_date, s.place, s.online_link,"
    " s.capacity, s.registration_deadline,"
    " (SELECT count(*) FROM training_records r WHERE r.course_code = s.code), s.demo"
    " FROM courses s"
)


def upcoming_courses(db: sqlite_utils.Database, today: dt.date, limit: int = 10) -> list[Course]:
    rows = db.execute(
        f"{_SELECT} WHERE s.start_date >= ? ORDER BY s.start_date, s.code LIMIT ?",
        [today.isoformat(), limit],
    ).fetchall()
    return [Course(*row[:-1], bool(row[-1])) for row in rows]


def course_by_code(db: sqlite_utils.Database, code: str) -> Course | None:
    row = db.execute(f"{_SELECT} WHERE s.code = ?", [code]).fetchone()
    return Course(*row[:-1], bool(row[-1])) if row else None


def set_subscribed(db: sqlite_utils.Database, user_id: int, subscribed: bool) -> bool:
    """Announcements on or off for the linked cadre; False when the account is not linked."""
    with db.conn:
        cursor = db.execute(
            "UPDATE cadres SET subscribed = ? WHERE telegram_user_id = ?",
            [int(subscribed), user_id],
        )
    return cursor.rowcount > 0
