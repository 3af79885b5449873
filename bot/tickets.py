"""Questions a cadre sends to the coordinators, and what became of them.

A ticket is born a `draft` when the FAQ has no sure answer (or a 👎), so the question is
kept exactly as asked; the cadre may add a line (`noting`) and sends it (`open`); a
coordinator claims it (`claimed`) and answers (`answered`), or closes it with an FAQ
entry or as out of scope (`closed`). Every change that notifies someone writes its
messages to the outbox (bot.outbox) in the same transaction, so a crash between steps
loses nothing and sends nothing twice. State changes are compare-and-set updates: of two
coordinators pressing at once, one wins and the other is told who.

Plain functions over a sqlite-utils `Database`; run them through `bot.db.Database`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlite_utils

from bot import audit, outbox
from bot.db import transaction
from bot.replies import Reply
from bot.roles import Scope, scope_sql

QUESTION_LIMIT = 1500  # characters of a question kept
NOTE_LIMIT = 500
ANSWER_LIMIT = 3500  # a coordinator's answer, so the cadre's message fits one Telegram message
OPEN_STATES = ("open", "claimed")


@dataclass(frozen=True)
class Ticket:
    id: int
    asker_id: int
    chat_id: int
    question: str
    note: str | None
    candidates: tuple[str, ...]  # entry or action ids the matcher offered, best first
    judged_entry: str | None  # the answer the cadre marked 👎, if that is how it began
    asker_label: str | None  # position and commune, for coordinators (never the phone)
    commune_code: int | None
    state: str
    resolution: str | None
    claimed_by: int | None
    claimed_name: str | None
    answer: str | None
    faq_entry: str | None
    helped: int | None
    created_at: str
    opened_at: str | None
    closed_at: str | None


_COLUMNS = (
    "id, asker_id, chat_id, question, note, candidates, judged_entry, asker_label,"
    " commune_code, state, resolution, claimed_by, claimed_name, answer, faq_entry, helped,"
    " created_at, opened_at, closed_at"
)


def create_draft(
    db: sqlite_utils.Database,
    asker_id: int,
    chat_id: int,
    question: str,
    candidates: Iterable[str],
    now: str,
    judged_entry: str | None = None,
) -> int:
    with transaction(db):
        return (
            db["tickets"]
            .insert(
                {
                    "asker_id": asker_id,
                    "chat_id": chat_id,
                    "question": question.strip()[:QUESTION_LIMIT],
                    "candidates": json.dumps(list(candidates)),
                    "judged_entry": judged_entry,
                    "state": "draft",
                    "created_at": now,
                }
            )
            .last_pk
        )


def get(db: sqlite_utils.Database, ticket_id: int) -> Ticket | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", [ticket_id]).fetchone()
    return _ticket(row) if row else None


def latest_draft(db: sqlite_utils.Database, asker_id: int) -> Ticket | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM tickets WHERE asker_id = ? AND state IN ('draft', 'noting')"
        " ORDER BY id DESC LIMIT 1",
        [asker_id],
    ).fetchone()
    return _ticket(row) if row else None


def start_note(db: sqlite_utils.Database, ticket_id: int, asker_id: int) -> bool:
    """The cadre's next message is a line added to the draft (and no other draft waits)."""
    with transaction(db):
        db.execute(
            "UPDATE tickets SET state = 'draft' WHERE asker_id = ? AND state = 'noting'",
            [asker_id],
        )
        return _changed(
            db,
            "UPDATE tickets SET state = 'noting' WHERE id = ? AND asker_id = ? AND state = 'draft'",
            [ticket_id, asker_id],
        )


def add_note(db: sqlite_utils.Database, asker_id: int, note: str) -> Ticket | None:
    """The line typed after "Thêm một dòng": kept on the draft, which waits to be sent."""
    with transaction(db):
        row = db.execute(
            "SELECT id FROM tickets WHERE asker_id = ? AND state = 'noting'", [asker_id]
        ).fetchone()
        if row is None:
            return None
        db.execute(
            "UPDATE tickets SET note = ?, state = 'draft' WHERE id = ?",
            [note.strip()[:NOTE_LIMIT], row[0]],
        )
    return get(db, row[0])


def noting_askers(db: sqlite_utils.Database) -> set[int]:
    return {r[0] for r in db.execute("SELECT asker_id FROM tickets WHERE state = 'noting'")}


def open_count(db: sqlite_utils.Database, asker_id: int) -> int:
    return db.execute(
        "SELECT COUNT(*) FROM tickets WHERE asker_id = ? AND state IN ('open', 'claimed')",
        [asker_id],
    ).fetchone()[0]


RESOLUTIONS = {"reply": "trả lời", "faq": "bằng mục FAQ có sẵn", "out_of_scope": "ngoài phạm vi"}

# Who answers a ticket from a commune (None: an unlinked asker), narrowest level first.
Responsible = Callable[[int | None], list[list[int]]]


def send(
    db: sqlite_utils.Database,
    ticket_id: int,
    asker_id: int,
    responsible: Responsible,
    card: Callable[[Ticket], Reply],
    now: str,
) -> Ticket | None:
    """The cadre sends the draft: it opens, and its card goes to the narrowest level of
    coordinators that holds the asker's commune."""
    asker_label, commune_code = _asker(db, asker_id)
    levels = responsible(commune_code)
    with transaction(db):
        changed = _changed(
            db,
            "UPDATE tickets SET state = 'open', opened_at = ?, announced_at = ?,"
            " asker_label = ?, commune_code = ?"
            " WHERE id = ? AND asker_id = ? AND state IN ('draft', 'noting')",
            [now, now, asker_label, commune_code, ticket_id, asker_id],
        )
        if not changed:
            return None
        ticket = get(db, ticket_id)
        for chat_id in levels[0] if levels else []:
            outbox.enqueue(db, chat_id, card(ticket), now, ticket_id)
    return ticket


def withdraw(db: sqlite_utils.Database, ticket_id: int, asker_id: int, now: str) -> bool:
    with transaction(db):
        return _changed(
            db,
            "UPDATE tickets SET state = 'closed', resolution = 'withdrawn', closed_at = ?"
            " WHERE id = ? AND asker_id = ? AND state IN ('draft', 'noting')",
            [now, ticket_id, asker_id],
        )


def claim(
    db: sqlite_utils.Database, ticket_id: int, coordinator_id: int, name: str, now: str
) -> bool:
    """First come: True if this coordinator now answers the ticket (or already did)."""
    with transaction(db):
        db.execute(  # one ticket at a time: a coordinator's earlier claim is let go
            "UPDATE tickets SET state = 'open', claimed_by = NULL, claimed_name = NULL"
            " WHERE claimed_by = ? AND state = 'claimed' AND id != ?",
            [coordinator_id, ticket_id],
        )
        return _changed(
            db,
            "UPDATE tickets SET state = 'claimed', claimed_by = ?, claimed_name = ?,"
            " claimed_at = ? WHERE id = ? AND (state = 'open'"
            " OR (state = 'claimed' AND claimed_by = ?))",
            [coordinator_id, name, now, ticket_id, coordinator_id],
        )


def release(db: sqlite_utils.Database, ticket_id: int, coordinator_id: int) -> bool:
    with transaction(db):
        return _changed(
            db,
            "UPDATE tickets SET state = 'open', claimed_by = NULL, claimed_name = NULL"
            " WHERE id = ? AND state = 'claimed' AND claimed_by = ?",
            [ticket_id, coordinator_id],
        )


def claimed_by(db: sqlite_utils.Database, coordinator_id: int) -> Ticket | None:
    """The ticket a coordinator is answering: their next message is the answer."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM tickets WHERE claimed_by = ? AND state = 'claimed'",
        [coordinator_id],
    ).fetchone()
    return _ticket(row) if row else None


def answering(db: sqlite_utils.Database) -> set[int]:
    return {r[0] for r in db.execute("SELECT claimed_by FROM tickets WHERE state = 'claimed'")}


def finish(
    db: sqlite_utils.Database,
    ticket_id: int,
    coordinator_id: int,
    resolution: str,
    to_asker: Callable[[Ticket], Reply],
    now: str,
    answer: str | None = None,
    faq_entry: str | None = None,
    coordinator_name: str = "",
) -> Ticket | None:
    """Answer or close a ticket that is open or claimed by this coordinator, queue the
    cadre's message and write the trail; None when it is not (any more) theirs to finish."""
    state = "answered" if resolution == "reply" else "closed"
    with transaction(db):
        changed = _changed(
            db,
            "UPDATE tickets SET state = ?, resolution = ?, answer = ?, faq_entry = ?,"
            " answered_by = ?, closed_at = ? WHERE id = ? AND (state = 'open'"
            " OR (state = 'claimed' AND claimed_by = ?))",
            [
                state,
                resolution,
                answer[:ANSWER_LIMIT] if answer else None,
                faq_entry,
                coordinator_id,
                now,
                ticket_id,
                coordinator_id,
            ],
        )
        if not changed:
            return None
        ticket = get(db, ticket_id)
        outbox.enqueue(db, ticket.chat_id, to_asker(ticket), now, ticket_id)
        detail = {"câu hỏi số": ticket_id, "cách xử lý": RESOLUTIONS[resolution]}
        if faq_entry:
            detail["mục FAQ"] = faq_entry
        where = f"commune:{ticket.commune_code}" if ticket.commune_code else None
        audit.record(
            db,
            "ticket.answer",
            detail,
            actor=coordinator_id,
            actor_label=coordinator_name,
            scope=where,
        )
    return ticket


def rate(db: sqlite_utils.Database, ticket_id: int, asker_id: int, helped: bool) -> bool:
    """The cadre says whether the answer helped; only the asker, only once it is answered."""
    with transaction(db):
        return _changed(
            db,
            "UPDATE tickets SET helped = ? WHERE id = ? AND asker_id = ?"
            " AND state IN ('answered', 'closed') AND resolution != 'withdrawn'",
            [int(helped), ticket_id, asker_id],
        )


def waiting(db: sqlite_utils.Database, scope: Scope, limit: int = 20) -> list[Ticket]:
    """Open tickets from communes in `scope`, oldest first: what its coordinators answer
    (an unlinked asker's tickets have no commune: national only)."""
    where, params = scope_sql(scope, "commune_code")
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM tickets WHERE state IN ('open', 'claimed') AND {where}"
        " ORDER BY opened_at, id LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [_ticket(r) for r in rows]


def of_asker(db: sqlite_utils.Database, asker_id: int, limit: int = 10) -> list[Ticket]:
    """A cadre's own sent tickets, newest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM tickets WHERE asker_id = ? AND state NOT IN ('draft', 'noting')"
        " AND COALESCE(resolution, '') != 'withdrawn' ORDER BY id DESC LIMIT ?",
        [asker_id, limit],
    ).fetchall()
    return [_ticket(r) for r in rows]


RELEASED = (
    "Câu hỏi số {id} bạn nhận trả lời đã được trả về hàng chờ ({why}), nên chưa có gì được "
    "gửi cho người hỏi. Gõ /hoidap nếu vẫn muốn trả lời."
)
WAITED_TOO_LONG = "chờ quá lâu chưa có trả lời, câu hỏi được chuyển lên cấp trên"


def release_claims(db: sqlite_utils.Database, coordinator_id: int, now: str, why: str) -> None:
    """Give the tickets a coordinator claimed back to the queue, and tell them why (in the
    caller's transaction)."""
    claimed = db.execute(
        "SELECT id FROM tickets WHERE claimed_by = ? AND state = 'claimed'", [coordinator_id]
    ).fetchall()
    db.execute(
        "UPDATE tickets SET state = 'open', claimed_by = NULL, claimed_name = NULL"
        " WHERE claimed_by = ? AND state = 'claimed'",
        [coordinator_id],
    )
    for (ticket_id,) in claimed:
        outbox.enqueue(db, coordinator_id, Reply(RELEASED.format(id=ticket_id, why=why)), now)


def announce_again(
    db: sqlite_utils.Database,
    before: str,
    responsible: Responsible,
    card: Callable[[Ticket], Reply],
    now: str,
) -> int:
    """Tickets still open since before `before`, or claimed before it and not answered,
    go one level up (the province, then the national office) and are announced there
    (a claim that long is let go); at the top, announced to it again."""
    with transaction(db):
        rows = db.execute(
            "SELECT id, commune_code, level, claimed_by FROM tickets WHERE (state = 'open'"
            " AND announced_at < ?) OR (state = 'claimed' AND claimed_at < ?)",
            [before, before],
        ).fetchall()
        for ticket_id, commune_code, level, claimer in rows:
            if claimer is not None:
                notice = RELEASED.format(id=ticket_id, why=WAITED_TOO_LONG)
                outbox.enqueue(db, claimer, Reply(notice), now)
            levels = responsible(commune_code)
            level = min(level + 1, len(levels) - 1)
            db.execute(
                "UPDATE tickets SET state = 'open', claimed_by = NULL, claimed_name = NULL,"
                " announced_at = ?, level = ? WHERE id = ?",
                [now, max(level, 0), ticket_id],
            )
            ticket = get(db, ticket_id)
            for chat_id in levels[level] if levels else []:
                outbox.enqueue(db, chat_id, card(ticket), now, ticket_id)
    return len(rows)


def _asker(db: sqlite_utils.Database, asker_id: int) -> tuple[str | None, int | None]:
    """Position and commune of a linked cadre, as coordinators see them."""
    row = db.execute(
        "SELECT k.position, c.name, p.name, c.code FROM cadres k"
        " JOIN communes c ON c.code = k.commune_code"
        " JOIN provinces p ON p.code = c.province_code WHERE k.telegram_user_id = ?",
        [asker_id],
    ).fetchone()
    if row is None:
        return None, None
    position, commune, province, code = row
    where = f"{commune}, {province}"
    return (f"{position} – {where}" if position else where), code


def _changed(db: sqlite_utils.Database, sql: str, params: list[object]) -> bool:
    return db.execute(sql, params).rowcount == 1


def _ticket(row: tuple) -> Ticket:
    values = list(row)
    values[5] = tuple(json.loads(values[5] or "[]"))
    return Ticket(*values)
