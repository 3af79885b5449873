"""Training courses: what is coming up, and how full it is.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from bot.db import transaction
from bot.normalize import Lexicon, normalize

# Words that say "a course" or "I want", not which course: left out when a course is
# looked for by the words of a request or of a cadre's missing qualification.
_GENERIC_WORDS = (
    "khoa hoc lop boi duong dao tao tap huan dang ky ki ghi danh chua co bang chung chi"
    " can dung nganh toi em minh muon tham gia di cho voi xin he thong nao"
    " a ad ban nhe nha roi da con thieu phai the"
)
_GENERIC = frozenset(_GENERIC_WORDS.split())
COVERAGE = 0.75  # share of the asked words a course's title must hold to be the one meant


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


def open_for_registration(course: Course, today: dt.date) -> bool:
    """As `broadcasts.register` decides: before it starts and by its deadline."""
    day = today.isoformat()
    return course.start_date > day and (
        course.registration_deadline is None or course.registration_deadline >= day
    )


def registered_codes(db: sqlite_utils.Database, user_id: int) -> frozenset[str]:
    """The courses the account's cadre has a record for; none for an unlinked account."""
    row = db.execute("SELECT id FROM cadres WHERE telegram_user_id = ?", [user_id]).fetchone()
    return recorded_codes(db, row[0]) if row else frozenset()


def key_words(text: str, lexicon: Lexicon) -> frozenset[str]:
    """The words that tell one course from another ("llct" counts as "lý luận chính trị")."""
    tokens = normalize(text, lexicon).tokens
    return frozenset(t for t in tokens if t not in _GENERIC and t not in lexicon.stopwords)


def courses_named(
    text: str, courses: list[Course], lexicon: Lexicon, coverage: float = COVERAGE
) -> list[Course]:
    """The courses whose titles hold most of the words of `text`: the best ones, or none.

    Used for "đăng ký lớp trung cấp lý luận chính trị" and for a cadre's missing
    qualification ("chưa có bằng trung cấp lý luận chính trị") against open courses.
    """
    asked = key_words(text, lexicon)
    if not asked:
        return []
    scored = [
        (len(asked & key_words(f"{c.title} {c.code}", lexicon)) / len(asked), c) for c in courses
    ]
    best = max((score for score, _ in scored), default=0.0)
    return [c for score, c in scored if score >= coverage and score == best]


def recorded_codes(db: sqlite_utils.Database, cadre_id: int) -> frozenset[str]:
    """The courses a cadre has a record for, in any status."""
    rows = db.execute("SELECT course_code FROM training_records WHERE cadre_id = ?", [cadre_id])
    return frozenset(code for (code,) in rows)


def course_by_code(db: sqlite_utils.Database, code: str) -> Course | None:
    row = db.execute(f"{_SELECT} WHERE s.code = ?", [code]).fetchone()
    return Course(*row[:-1], bool(row[-1])) if row else None


def set_subscribed(db: sqlite_utils.Database, user_id: int, subscribed: bool) -> bool:
    """Announcements on or off for the linked cadre; False when the account is not linked."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE cadres SET subscribed = ? WHERE telegram_user_id = ?",
            [int(subscribed), user_id],
        )
    return cursor.rowcount > 0
