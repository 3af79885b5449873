"""What cadres asked that the FAQ could not answer, and their 👍/👎 on answers.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
Unanswered questions are stored without any user id: coordinators see what was asked,
not who asked it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bot.clock import local_date
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
    db: sqlite_utils.Database, normalized: str, example: str, decision: str, now: str
) -> None:
    """Count one more asking of `normalized`; keep the latest wording as the example."""
    with db.conn:
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


def open_unanswered(db: sqlite_utils.Database, limit: int = 20) -> list[Unanswered]:
    """What still waits for review, most asked first."""
    rows = db.execute(
        "SELECT rowid, normalized, example, decision, count, first_seen, last_seen"
        " FROM unanswered WHERE state = 'open' ORDER BY count DESC, last_seen DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [Unanswered(*row) for row in rows]


def close_unanswered(
    db: sqlite_utils.Database, row_id: int, state: str, now: str, entry_id: str | None = None
) -> bool:
    """Mark a question covered by an entry or dismissed; False if it was not open."""
    with db.conn:
        return (
            db.execute(
                "UPDATE unanswered SET state = ?, entry_id = ?, closed_at = ?"
                " WHERE rowid = ? AND state = 'open'",
                [state, entry_id, now, row_id],
            ).rowcount
            == 1
        )


def downvotes(db: sqlite_utils.Database, limit: int = 10) -> list[Vote]:
    """👎 not yet looked at, newest first, with the question when it is known."""
    rows = db.execute(
        "SELECT id, entry_id, question, at FROM feedback WHERE vote = 0 AND reviewed = 0"
        " ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [Vote(*row) for row in rows]


def mark_reviewed(db: sqlite_utils.Database, vote_id: int) -> bool:
    with db.conn:
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
    with db.conn:
        db["feedback"].insert(
            {
                "user_id": user_id,
                "entry_id": entry_id,
                "vote": vote,
                "question": question[:EXAMPLE_LIMIT] if question else None,
                "at": now,
            }
        )
