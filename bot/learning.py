"""The FAQ learns from use: questions that turned out to mean an entry become its phrasings.

Evidence comes from two places: a cadre who picks an entry among the suggestions for
their question, and a coordinator who answers a ticket with an entry (or says which entry
it belongs to). Suggestion picks are counted per (question, entry) and reviewed with
/hoclai, strongest first and grouped by entry, to accept or reject; a coordinator's own
choice on a ticket is accepted at once. An accepted phrasing is written into the
knowledge file (bot.knowledge_edit) and the running knowledge is replaced, so the same
question is answered directly from then on.

Data functions are plain functions over a sqlite-utils `Database`; the desk knows nothing
of Telegram and checks the coordinator role itself, whatever a button's data says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import sqlite_utils
import yaml

from bot import audit, knowledge_edit, tickets
from bot.clock import now_iso
from bot.config import Config
from bot.db import Database, transaction
from bot.knowledge import Knowledge
from bot.knowledge_edit import EditError
from bot.replies import Button, Reply, User, button_number, short_label
from bot.roles import Roles
from bot.telegram_html import escape

_REMEMBERED = 10_000  # people whose last suggestion list is kept in memory
_SHOWN = 8  # pairs on one review page

NOTHING = (
    "Chưa có câu hỏi nào để học thêm: khi cán bộ chọn một câu trợ lý gợi ý, câu đó hiện ở đây."
)
REVIEW_INTRO = (
    "<b>Học từ câu hỏi của cán bộ</b> (nhiều lần nhất trước). Cán bộ đã chọn mục bên dưới khi "
    "trợ lý gợi ý cho câu hỏi của họ. Bấm ✅ để thêm câu đó thành một cách hỏi của mục (lần "
    "sau trợ lý trả lời thẳng), ✖️ để bỏ qua."
)
ADDED = (
    "✅ Đã thêm «{phrasing}» vào cách hỏi của mục «{question}» và nạp lại kho tri thức "
    "({entries} mục). Câu này giờ được trả lời thẳng."
)
REFUSED = "Chưa thêm được: {reason}"
DISMISSED = "Đã bỏ qua câu này."


@dataclass(frozen=True)
class Pair:
    id: int
    example: str
    entry_id: str
    count: int


def record(
    db: sqlite_utils.Database, normalized: str, example: str, entry_id: str, now: str
) -> None:
    """One more time `normalized` turned out to mean `entry_id` (a rejected pair stays so)."""
    with transaction(db):
        db.execute(
            """
            INSERT INTO learned (normalized, example, entry_id, count, first_seen, last_seen, state)
            VALUES (?, ?, ?, 1, ?, ?, 'pending')
            ON CONFLICT (normalized, entry_id) DO UPDATE SET
                count = count + 1, example = excluded.example, last_seen = excluded.last_seen
            """,
            [normalized, example[: knowledge_edit.PHRASING_LIMIT * 2], entry_id, now, now],
        )


def pending(db: sqlite_utils.Database, limit: int = _SHOWN) -> list[Pair]:
    rows = db.execute(
        "SELECT id, example, entry_id, count FROM learned WHERE state = 'pending'"
        " ORDER BY count DESC, last_seen DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [Pair(*row) for row in rows]


def get(db: sqlite_utils.Database, pair_id: int) -> Pair | None:
    row = db.execute(
        "SELECT id, example, entry_id, count FROM learned WHERE id = ? AND state = 'pending'",
        [pair_id],
    ).fetchone()
    return Pair(*row) if row else None


def decide(
    db: sqlite_utils.Database,
    pair_id: int,
    state: str,
    actor: int | None = None,
    actor_label: str = "",
) -> None:
    """Accept or reject a pair; an acceptance goes into the trail in the same transaction."""
    with transaction(db):
        db.execute("UPDATE learned SET state = ? WHERE id = ?", [state, pair_id])
        if state == "accepted":
            example, entry_id = db.execute(
                "SELECT example, entry_id FROM learned WHERE id = ?", [pair_id]
            ).fetchone()
            detail = {"mục": entry_id, "cách hỏi": example}
            audit.record(db, "phrasing.accept", detail, actor=actor, actor_label=actor_label)


class LearningDesk:
    def __init__(
        self,
        config: Config,
        database: Database,
        roles: Roles,
        knowledge: Callable[[], Knowledge],
        normalize: Callable[[str], str],
        apply: Callable[[Knowledge], Awaitable[None]],
    ) -> None:
        self.config = config
        self.db = database
        self.roles = roles
        self.knowledge = knowledge
        self.normalize = normalize  # the question as the matcher reads it
        self.apply = apply  # put a new knowledge in service
        self._offered: dict[int, tuple[str, frozenset[str]]] = {}
        self._editing = asyncio.Lock()

    # --- evidence ----------------------------------------------------------------------

    def offered(self, user: User, question: str, ids: tuple[str, ...]) -> None:
        """Suggestions shown for `question`: a pick among them is evidence."""
        self._offered.pop(user.id, None)
        if len(self._offered) >= _REMEMBERED:
            del self._offered[next(iter(self._offered))]
        self._offered[user.id] = (question, frozenset(ids))

    async def chosen(self, user: User, entry_id: str) -> None:
        question, ids = self._offered.pop(user.id, ("", frozenset()))
        normalized = self.normalize(question)
        if entry_id in ids and normalized:
            await self.db.run(record, normalized, question.strip(), entry_id, now_iso())

    # --- review ------------------------------------------------------------------------

    async def review(self, _user: User) -> list[Reply]:
        """/hoclai: the strongest pairs, grouped by entry, to accept or reject."""
        entries = self.knowledge().entries
        pairs = [p for p in await self.db.run(pending, _SHOWN) if p.entry_id in entries]
        if not pairs:
            return [Reply(NOTHING)]
        lines, buttons, number = [REVIEW_INTRO], [], 0
        order = {p.entry_id: i for i, p in reversed(list(enumerate(pairs)))}
        for entry_id, group in groupby(
            sorted(pairs, key=lambda p: order[p.entry_id]), key=lambda p: p.entry_id
        ):
            lines += ["", f"<b>{escape(entries[entry_id].question)}</b>"]
            for pair in group:
                number += 1
                lines.append(f"{number}. «{escape(pair.example)}» – {pair.count} lần")
                buttons.append(
                    (
                        Button(f"✅ {number}", f"hl:ok:{pair.id}"),
                        Button(f"✖️ {number}", f"hl:no:{pair.id}"),
                    )
                )
        return [Reply("\n".join(lines), tuple(buttons))]

    async def button(self, value: str, user: User, _message: object = None) -> list[Reply]:
        if not self.roles.is_national(user.id):  # one FAQ for the country
            return []
        verb, _, rest = value.partition(":")
        text, _, entry_id = rest.partition(":")
        if (number := button_number(text)) is None:
            return []
        if verb in ("ok", "no"):
            pair = await self.db.run(get, number)
            if pair is None:
                return []
            if verb == "no":
                await self.db.run(decide, pair.id, "rejected")
                return [Reply(DISMISSED, toast=True)]
            replies = await self._add(pair.entry_id, pair.example)
            if replies[0].text.startswith("✅"):
                await self.db.run(decide, pair.id, "accepted", user.id, user.first_name)
            return replies
        if verb == "te":  # a ticket's question, as a phrasing of the entry its answer chose
            ticket = await self.db.run(tickets.get, number)
            if ticket is None or ticket.state not in ("answered", "closed"):
                return []
            replies = await self._add(entry_id, ticket.question)
            if replies[0].text.startswith("✅"):
                normalized = self.normalize(ticket.question)
                await self.db.run(record, normalized, ticket.question, entry_id, now_iso())
                pair = await self.db.run(_pair_of, normalized, entry_id)
                await self.db.run(decide, pair, "accepted", user.id, user.first_name)
            return replies
        return []

    async def _add(self, entry_id: str, phrasing: str) -> list[Reply]:
        if entry_id not in self.knowledge().entries:
            return []
        async with self._editing:
            try:
                knowledge = await asyncio.to_thread(
                    knowledge_edit.add_phrasing, self.config.knowledge_dir, entry_id, phrasing
                )
            except EditError as exc:
                return [Reply(REFUSED.format(reason=escape(str(exc))))]
            await self.apply(knowledge)
        entry = knowledge.entries[entry_id]
        text = ADDED.format(
            phrasing=escape(" ".join(phrasing.split())),
            question=escape(entry.question),
            entries=len(knowledge.entries),
        )
        return [Reply(text)]


def ticket_buttons(
    ticket_id: int, entry_ids: tuple[str, ...], knowledge: Knowledge
) -> tuple[tuple[Button, ...], ...]:
    """Under a coordinator's answer: add the ticket's question to an entry, one press."""
    return tuple(
        (
            Button(
                short_label(f"➕ Thêm câu hỏi vào mục: {e.question}"), f"hl:te:{ticket_id}:{e.id}"
            ),
        )
        for e in (knowledge.entries[i] for i in entry_ids if i in knowledge.entries)
    )


# --- the command line: export, review in a file, apply ------------------------------------


class ReviewError(Exception):
    """The review file cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Decision:
    pair_id: int
    entry_id: str
    question: str
    accept: bool | None


EXPORT_HEADER = (
    "# Cách hỏi trợ lý học được: cán bộ hỏi `question` rồi chọn mục `entry` trong các câu\n"
    "# trợ lý gợi ý. Ghi accept: true (thêm thành cách hỏi của mục) hoặc false (bỏ qua),\n"
    "# có thể sửa `question` cho gọn, rồi chạy: ntm-bot learn --review TỆP\n"
)


def export_text(pairs: list[Pair], knowledge: Knowledge) -> str:
    items = [
        {
            "id": p.id,
            "entry": p.entry_id,
            "entry_question": knowledge.entries[p.entry_id].question,
            "question": p.example,
            "count": p.count,
            "accept": None,
        }
        for p in pairs
        if p.entry_id in knowledge.entries
    ]
    body = yaml.safe_dump({"pairs": items}, allow_unicode=True, sort_keys=False, width=1000)
    return EXPORT_HEADER + body


def read_review(path: Path) -> list[Decision]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (dòng {mark.line + 1})" if mark else ""
        raise ReviewError(f"Tệp {path} sai cú pháp YAML{where}.") from None
    items = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ReviewError(f"Tệp {path} phải có danh sách `pairs:` như tệp đã xuất.")
    decisions = []
    for number, item in enumerate(items, 1):
        ok = isinstance(item, dict) and isinstance(item.get("id"), int)
        ok = ok and isinstance(item.get("entry"), str) and isinstance(item.get("question"), str)
        if not ok or item.get("accept") not in (True, False, None):
            raise ReviewError(
                f"Tệp {path}, cặp thứ {number}: cần id (số), entry, question và accept "
                "(true, false hoặc để trống)."
            )
        decisions.append(Decision(item["id"], item["entry"], item["question"], item["accept"]))
    return decisions


def apply_review(database: Database, directory: Path, decisions: list[Decision]) -> list[str]:
    """Write the accepted phrasings (each validated as `ntm-bot check` does); one line each."""
    lines = []
    for d in decisions:
        if d.accept is None:
            continue
        if database.call(get, d.pair_id) is None:
            lines.append(f"Cặp {d.pair_id}: đã duyệt trước đó hoặc không còn, bỏ qua.")
            continue
        if not d.accept:
            database.call(decide, d.pair_id, "rejected")
            lines.append(f"Cặp {d.pair_id}: bỏ qua.")
            continue
        try:
            knowledge_edit.add_phrasing(directory, d.entry_id, d.question)
        except EditError as exc:
            lines.append(f"Cặp {d.pair_id}: chưa thêm được: {exc}")
            continue
        database.call(decide, d.pair_id, "accepted")
        lines.append(f"Cặp {d.pair_id}: đã thêm «{d.question}» vào mục {d.entry_id}.")
    return lines


def _pair_of(db: sqlite_utils.Database, normalized: str, entry_id: str) -> int:
    return db.execute(
        "SELECT id FROM learned WHERE normalized = ? AND entry_id = ?", [normalized, entry_id]
    ).fetchone()[0]
