"""What cadres asked that the FAQ could not answer, and their 👍/👎 on answers.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
Unanswered questions are stored without any user id: coordinators see what was asked,
not who asked it; only the commune of a linked asker is counted, so each scope sees the
questions of its own communes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bot.clock import local_date
from bot.db import transaction
from bot.roles import NATIONAL, Scope, scope_sql
from bot.spreadsheet import write_rows

EXAMPLE_LIMIT = 500


@dataclass(frozen=True)
class Unanswered:
    id: int  # the row id: what a button names
    normalized: str
    example: str
    decision: str  # none (no answer) / suggest (only candidates were offered)
    count: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class Vote:
    id: int
    entry_id: str
    question: str | None  # what the cadre had asked, when the assistant still knew it
    at: str


EXPORT_HEADERS = ("Câu hỏi", "Kết quả", "Số lần hỏi", "Lần đầu", "Gần nhất", "Trạng thái", "Mục")
DECISIONS = {"none": "Không trả lời được", "suggest": "Chỉ gợi ý"}
STATES = {"open": "Chờ xử lý", "covered": "Đã có mục trả lời", "dismissed": "Đã bỏ qua"}


def record_unanswered(
    db: sqlite_utils.Database,
    normalized: str,
    example: str,
    decision: str,
    now: str,
    asker_id: int | None = None,
) -> None:
    """Count one more asking of `normalized`, and of it in the asker's commune when they
    are linked; keep the latest wording as the example."""
    with transaction(db):
        commune = None
        if asker_id is not None:
            commune = db.execute(
                "SELECT commune_code FROM cadres WHERE telegram_user_id = ?", [asker_id]
            ).fetchone()
        if commune is not None:
            db.execute(
                "INSERT INTO unanswered_places (normalized, commune_code, count) VALUES (?, ?, 1)"
                " ON CONFLICT (normalized, commune_code) DO UPDATE SET count = count + 1",
                [normalized, commune[0]],
            )
        db.execute(
            """
            INSERT INTO unanswered (normalized, example, decision, count, first_seen, last_seen)
            VALUES (?, ?, ?, 1, ?, ?)
            ON CONFLICT (normalized) DO UPDATE SET
                count = count + 1, example = excluded.example,
                decision = excluded.decision, last_seen = excluded.last_seen
            """,
            [normalized, example[:EXAMPLE_LIMIT], decision, now, now],
        )


def open_unanswered(
    db: sqlite_utils.Database, limit: int = 20, scope: Scope = NATIONAL
) -> list[Unanswered]:
    """What still waits for review, most asked first; for a province or a commune, what
    its linked cadres asked, counted there."""
    if scope == NATIONAL:
        rows = db.execute(
            "SELECT rowid, normalized, example, decision, count, first_seen, last_seen"
            " FROM unanswered WHERE state = 'open' ORDER BY count DESC, last_seen DESC LIMIT ?",
            [limit],
        ).fetchall()
    else:
        where, params = scope_sql(scope, "p.commune_code")
        rows = db.execute(
            "SELECT u.rowid, u.normalized, u.example, u.decision, sum(p.count), u.first_seen,"
            " u.last_seen FROM unanswered u JOIN unanswered_places p"
            f" ON p.normalized = u.normalized WHERE u.state = 'open' AND {where}"
            " GROUP BY u.normalized ORDER BY 5 DESC, u.last_seen DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
    return [Unanswered(*row) for row in rows]


def close_unanswered(
    db: sqlite_utils.Database, row_id: int, state: str, now: str, entry_id: str | None = None
) -> bool:
    """Mark a question covered by an entry or dismissed; False if it was not open."""
    with transaction(db):
        return (
            db.execute(
                "UPDATE unanswered SET state = ?, entry_id = ?, closed_at = ?"
                " WHERE rowid = ? AND state = 'open'",
                [state, entry_id, now, row_id],
            ).rowcount
            == 1
        )


def downvotes(db: sqlite_utils.Database, limit: int = 10, scope: Scope = NATIONAL) -> list[Vote]:
    """👎 not yet looked at, newest first, with the question when it is known; for a
    province or a commune, those of its linked cadres."""
    where, params = "1", []
    if scope != NATIONAL:
        where, params = scope_sql(scope, "k.commune_code")
    rows = db.execute(
        "SELECT f.id, f.entry_id, f.question, f.at FROM feedback f"
        " LEFT JOIN cadres k ON k.telegram_user_id = f.user_id"
        f" WHERE f.vote = 0 AND f.reviewed = 0 AND {where} ORDER BY f.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [Vote(*row) for row in rows]


def mark_reviewed(db: sqlite_utils.Database, vote_id: int) -> bool:
    with transaction(db):
        return (
            db.execute(
                "UPDATE feedback SET reviewed = 1 WHERE id = ? AND vote = 0 AND reviewed = 0",
                [vote_id],
            ).rowcount
            == 1
        )


def week_counts(db: sqlite_utils.Database, since: str) -> dict[str, int]:
    """What the weekly digest reports: since `since` (ISO), and tickets open now."""

    def one(sql: str, *args: str) -> int:
        return db.execute(sql, list(args)).fetchone()[0]

    return {
        "open_tickets": one("SELECT COUNT(*) FROM tickets WHERE state IN ('open', 'claimed')"),
        "new_unanswered": one("SELECT COUNT(*) FROM unanswered WHERE first_seen >= ?", since),
        "downvotes": one("SELECT COUNT(*) FROM feedback WHERE vote = 0 AND at >= ?", since),
        "accepted": one(
            "SELECT COUNT(*) FROM learned WHERE state = 'accepted' AND last_seen >= ?", since
        ),
    }


def export_unanswered(db: sqlite_utils.Database, path: Path) -> int:
    """Every question stored as unanswered, with its state, as .xlsx or .csv."""
    rows = db.execute(
        "SELECT example, decision, count, first_seen, last_seen, state, entry_id"
        " FROM unanswered ORDER BY state = 'open' DESC, count DESC, last_seen DESC"
    ).fetchall()
    table = [
        dict(
            zip(
                EXPORT_HEADERS,
                (
                    example,
                    DECISIONS.get(decision, decision),
                    count,
                    local_date(first),
                    local_date(last),
                    STATES.get(state, state),
                    entry_id,
                ),
                strict=True,
            )
        )
        for example, decision, count, first, last, state, entry_id in rows
    ]
    write_rows(path, EXPORT_HEADERS, table)
    return len(table)


def record_vote(
    db: sqlite_utils.Database,
    user_id: int,
    entry_id: str,
    vote: int,
    now: str,
    question: str | None = None,
) -> None:
    """A 👍/👎, with the question the answer was given to when the assistant still knows it."""
    with transaction(db):
        db["feedback"].insert(
            {
                "user_id": user_id,
                "entry_id": entry_id,
                "vote": vote,
                "question": question[:EXAMPLE_LIMIT] if question else None,
                "at": now,
            }
        )
