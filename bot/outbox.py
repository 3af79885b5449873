"""Messages to other people's chats (a ticket to coordinators, their answer to a cadre),
written in the same transaction as the change that causes them and sent afterwards.

A row is `pending` until the worker (bot.outbox_worker) sends it; the worker marks it
`sending` just before the call and `sent` (with Telegram's message id) right after, so a
process killed between steps sends each message once. Killed during the one call in
flight, that message is sent again at the next start: one duplicate at most, never a loss.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from bot.db import transaction
from bot.replies import Button, Reply

MAX_ATTEMPTS = 12  # network errors and 5xx, with the worker's backoff: about five minutes


@dataclass(frozen=True)
class Message:
    id: int
    chat_id: int
    reply: Reply
    attempts: int


def enqueue(
    db: sqlite_utils.Database, chat_id: int, reply: Reply, now: str, ticket_id: int | None = None
) -> None:
    """Add one message; the caller's transaction (`with transaction(db):`) makes it durable."""
    buttons = [[[b.text, b.data] for b in row] for row in reply.buttons]
    # Plain SQL: sqlite-utils' insert would commit the caller's transaction half-way.
    db.execute(
        "INSERT INTO outbox (chat_id, text, buttons, ticket_id, status, attempts, created_at)"
        " VALUES (?, ?, ?, ?, 'pending', 0, ?)",
        [chat_id, reply.text, json.dumps(buttons, ensure_ascii=False), ticket_id, now],
    )


def due(db: sqlite_utils.Database, limit: int = 50) -> list[Message]:
    """Messages to send, oldest first; one caught in `sending` by a kill is sent again."""
    rows = db.execute(
        "SELECT id, chat_id, text, buttons, attempts FROM outbox"
        " WHERE status IN ('pending', 'sending') ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [Message(i, chat, Reply(t, _buttons(b)), n) for i, chat, t, b, n in rows]


def mark(
    db: sqlite_utils.Database,
    message_id: int,
    status: str,
    now: str,
    telegram_message_id: int | None = None,
    error: str | None = None,
    attempted: bool = False,
) -> None:
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, sent_at = ?, telegram_message_id ="
            " COALESCE(?, telegram_message_id), error = COALESCE(?, error),"
            " attempts = attempts + ? WHERE id = ?",
            [status, now, telegram_message_id, error, int(attempted), message_id],
        )


def ticket_of_message(db: sqlite_utils.Database, chat_id: int, message_id: int) -> int | None:
    """The ticket a sent message was about: a coordinator's reply to a ticket card."""
    row = db.execute(
        "SELECT ticket_id FROM outbox WHERE chat_id = ? AND telegram_message_id = ?",
        [chat_id, message_id],
    ).fetchone()
    return row[0] if row else None


def _buttons(raw: str | None) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(t, d) for t, d in row) for row in json.loads(raw or "[]"))
