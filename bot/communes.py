"""Commune NTM status: lookups by code or by name, without diacritics or exact spelling.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
Only public data lives here (level, criteria, shares); people are in `bot.roster`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils
from rapidfuzz import fuzz, process

from bot.units import folded, search_key

# The 10 criteria of QĐ 51/2025/QĐ-TTg (2026-2030), in their official order.
CRITERIA_2026 = (
    "Quy hoạch",
    "Hạ tầng kinh tế - xã hội",
    "Phát triển kinh tế nông thôn",
    "Đào tạo nguồn nhân lực nông thôn",
    "Văn hóa, giáo dục, y tế",
    "Giảm nghèo và an sinh xã hội",
    "Khoa học công nghệ và chuyển đổi số",
    "Môi trường và cảnh quan nông thôn",
    "Xây dựng hệ thống chính trị và hành chính công",
    "Tiếp cận pháp luật và an ninh, quốc phòng",
)
LEVELS = ("chưa đạt", "đạt chuẩn", "nâng cao", "kiểu mẫu", "hiện đại")
NAME_CUTOFF = 80  # rapidfuzz ratio on folded names; below it a name is not a match
NAME_SPREAD = 8  # names this far below the best one are offered too


@dataclass(frozen=True)
class CommuneRef:
    code: int
    name: str
    province: str


@dataclass(frozen=True)
class CriterionStatus:
    number: int
    name: str
    met: int
    total: int
    note: str | None

    @property
    def passed(self) -> bool:
        return self.met >= self.total


@dataclass(frozen=True)
class CommuneStatus:
    ref: CommuneRef
    ntm_group: int | None
    level: str
    level_year: int | None
    level_decision: str | None
    updated: str | None
    demo: bool
    criteria: tuple[CriterionStatus, ...]
    cadres_total: int
    cadres_meeting: int


def find_communes(db: sqlite_utils.Database, query: str, limit: int = 6) -> list[CommuneRef]:
    """Communes whose name matches `query`: exact names first, then close spellings."""
    key = search_key(query)
    if not key:
        return []
    # "xa xa phien" is Xã Xà Phiên: the query's first word may be the kind or the name.
    rows = db.execute(
        "SELECT c.code, c.name, p.name FROM communes c JOIN provinces p ON p.code = c.province_code"
        " WHERE c.search IN (?, ?) ORDER BY p.name",
        [key, folded(query)],
    ).fetchall()
    if rows:
        return [CommuneRef(*row) for row in rows[:limit]]
    names = dict(db.execute("SELECT code, search FROM communes").fetchall())
    # Plain ratio, not WRatio: a partial match of a few letters is not a commune's name.
    hits = process.extract(key, names, scorer=fuzz.ratio, score_cutoff=NAME_CUTOFF, limit=limit)
    best = hits[0][1] if hits else 0
    return [_ref(db, code) for _, score, code in hits if score >= best - NAME_SPREAD]


# A commune is named after its kind: "xã Bình Lợi", "phuong tan dinh", "đặc khu Côn Đảo".
_KIND_WORDS = {("xa",), ("phuong",), ("dac", "khu")}
_NAME_WORDS = 4  # the longest commune name, in words, looked for after the kind
# "xã mình", "xã em": the speaker's own commune, not one named so.
_OWN = {"minh", "toi", "em", "nha", "ta", "chung", "anh", "chi", "ban", "cua", "nay", "do"}


def commune_in_words(db: sqlite_utils.Database, words: str) -> list[CommuneRef]:
    """The commune a sentence names ("xa binh loi dat may tieu chi"): exact names only, so
    "xã mình" or a loose word never stands for some commune."""
    tokens = folded(words).split()
    for i in range(len(tokens)):
        for kind in _KIND_WORDS:
            if tuple(tokens[i : i + len(kind)]) != kind:
                continue
            rest = tokens[i + len(kind) : i + len(kind) + _NAME_WORDS]
            if not rest or rest[0] in _OWN:
                continue
            for size in range(len(rest), 0, -1):
                # A one-word name ("Láng", "Gáo") only at the end: "xã láng" is that commune,
                # "xã lang thang…" is not.
                if size == 1 and i + len(kind) + 1 < len(tokens):
                    continue
                found = db.execute(
                    "SELECT c.code, c.name, p.name FROM communes c"
                    " JOIN provinces p ON p.code = c.province_code WHERE c.search = ?"
                    " ORDER BY p.name",
                    [" ".join(rest[:size])],
                ).fetchall()
                if found:
                    refs = [CommuneRef(*row) for row in found]
                    # "phường Phú An" is the ward when a commune shares its name.
                    same_kind = [r for r in refs if folded(r.name).startswith(" ".join(kind))]
                    return same_kind or refs
    return []


def commune_status(db: sqlite_utils.Database, code: int) -> CommuneStatus | None:
    row = db.execute(
        "SELECT ntm_group, level, level_year, level_decision, updated, demo"
        " FROM communes WHERE code = ?",
        [code],
    ).fetchone()
    if row is None:
        return None
    criteria = tuple(
        CriterionStatus(number, CRITERIA_2026[number - 1], met, total, note)
        for number, met, total, note in db.execute(
            "SELECT criterion, met, total, note FROM criteria_status"
            " WHERE commune_code = ? ORDER BY criterion",
            [code],
        )
    )
    total, meeting = db.execute(
        "SELECT count(*), coalesce(sum(meets_standard), 0) FROM cadres WHERE commune_code = ?",
        [code],
    ).fetchone()
    group, level, year, decision, updated, demo = row
    return CommuneStatus(
        _ref(db, code), group, level, year, decision, updated, bool(demo), criteria, total, meeting
    )


def commune_ref(db: sqlite_utils.Database, code: int) -> CommuneRef | None:
    row = db.execute(
        "SELECT c.code, c.name, p.name FROM communes c JOIN provinces p ON p.code = c.province_code"
        " WHERE c.code = ?",
        [code],
    ).fetchone()
    return CommuneRef(*row) if row else None


def _ref(db: sqlite_utils.Database, code: int) -> CommuneRef:
    ref = commune_ref(db, code)
    assert ref is not None, code  # codes here come from the table itself
    return ref
