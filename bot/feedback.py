"""What cadres asked that the FAQ could not answer, and their 👍/👎 on answers.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
Unanswered questions are stored without any user id: coordinators see what was asked,
not who asked it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

EXAMPLE_LIMIT = 500


@dataclass(frozen=True)
class Unanswered:
    normalized: str
    example: str
    count: int
    first_seen: str
    last_seen: str


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


def top_unanswered(db: sqlite_utils.Database, limit: int = 20) -> list[Unanswered]:
    rows = db.execute(
        "SELECT normalized, example, count, first_seen, last_seen FROM unanswered"
        " ORDER BY count DESC, last_seen DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [Unanswered(*row) for row in rows]


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
