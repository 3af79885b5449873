"""A new FAQ entry drafted from a ticket: the cadre's question and the coordinator's answer,
with the topic, the phrasings, the period, the sources and the status asked for before it
is saved.

A short dialogue with one coordinator (kept in memory: a restart asks them to start the
draft again, nothing half-written reaches the files). Saving goes through
bot.knowledge_edit, so an entry the validator would refuse (too few phrasings, a date
that is not a date, a phrasing another entry has) is refused with the reason and can be
corrected. The desk owns its `hn:` buttons and checks the coordinator role itself.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot import audit, knowledge_edit, tickets
from bot.clock import vietnam_today
from bot.config import Config
from bot.db import Database
from bot.knowledge import ID_LIMIT, MIN_ALTERNATES, Entry, Knowledge, Source, render_answer
from bot.knowledge_edit import EditError
from bot.normalize import fold
from bot.replies import Button, Reply, User, button_number, excerpt, rows
from bot.roles import Roles
from bot.telegram_html import escape

START = (
    "📝 <b>Soạn mục FAQ mới</b> từ câu hỏi số {id}: câu trả lời bạn vừa gửi là nội dung mục. "
    "Chọn chủ đề:"
)
ASK = {
    "question": "Gõ <b>câu hỏi chuẩn</b> của mục, ngắn gọn, rõ ràng. Cán bộ đã hỏi: «{asked}»",
    "alternates": (
        "Gõ <b>ít nhất {count} cách hỏi khác</b> mà cán bộ hay dùng, mỗi cách một dòng (nên có "
        "cả cách gõ không dấu, viết tắt); câu cán bộ đã hỏi đã được tính, nếu đủ ngắn."
    ),
    "period": (
        "Gõ <b>giai đoạn áp dụng</b> của câu trả lời, ví dụ: <i>Hiện hành (từ 01/7/2025)</i>."
    ),
    "sources": (
        "Gõ <b>văn bản căn cứ</b>, mỗi văn bản một dòng, các phần cách nhau bởi dấu |:\n"
        "<code>số hiệu | ngày | tên văn bản | đường dẫn (nếu có)</code>\n"
        "Ví dụ: <code>Nghị định 170/2025/NĐ-CP | 30/6/2025 | Quy định về tuyển dụng, sử dụng "
        "và quản lý công chức</code>"
    ),
}
STATUS = (
    "Câu trả lời nói về <b>quy định đang áp dụng</b> hay là <b>hướng dẫn, giải thích chung</b>?"
)
PREVIEW = "<b>Xem trước mục mới</b> (chủ đề «{category}», {count} cách hỏi):\n\n{answer}"
SAVED = "✅ Đã thêm mục «{question}» vào chủ đề «{category}» và nạp lại kho ({entries} mục)."
REFUSED = "Chưa lưu được: {reason}\n\nSửa phần cần sửa rồi bấm Lưu lại."
FEW = "Cần thêm ít nhất {missing} cách hỏi nữa. Gõ thêm, mỗi cách một dòng."
BAD_SOURCE = "Dòng {line} cần ít nhất: số hiệu | ngày | tên văn bản. Gõ lại các văn bản căn cứ."
DROPPED = "Đã bỏ bản soạn."
GONE = "Bản soạn không còn (trợ lý vừa khởi động lại?). Bấm lại nút soạn dưới câu trả lời."
STEPS = ("question", "alternates", "period", "sources")


@dataclass(frozen=True)
class Draft:
    ticket_id: int
    asked: str  # the cadre's question
    answer: str  # the coordinator's answer, Telegram HTML
    category: str | None = None
    question: str | None = None
    alternates: tuple[str, ...] = ()
    period: str | None = None
    sources: tuple[Source, ...] = ()
    status: str | None = None
    waiting_for: str | None = None  # the step whose text is awaited


class EntryDesk:
    def __init__(
        self,
        config: Config,
        database: Database,
        roles: Roles,
        knowledge: Callable[[], Knowledge],
        apply: Callable[[Knowledge], Awaitable[None]],
    ) -> None:
        self.config = config
        self.db = database
        self.roles = roles
        self.knowledge = knowledge
        self.apply = apply
        self._drafts: dict[int, Draft] = {}

    def waiting(self, user: User) -> bool:
        draft = self._drafts.get(user.id)
        return bool(draft and draft.waiting_for)

    async def typed(self, text: str, user: User) -> list[Reply]:
        draft = self._drafts.get(user.id)
        if draft is None or not draft.waiting_for or not self.roles.is_national(user.id):
            return []
        step, text = draft.waiting_for, text.strip()
        if step == "question":
            draft = replace(draft, question=" ".join(text.split()))
        elif step == "alternates":
            lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
            draft = replace(draft, alternates=tuple(dict.fromkeys((*draft.alternates, *lines))))
            if missing := self._missing(draft):
                self._drafts[user.id] = draft
                return [Reply(FEW.format(missing=missing))]
        elif step == "period":
            draft = replace(draft, period=" ".join(text.split()))
        else:
            sources = []
            for number, line in enumerate(text.splitlines(), 1):
                parts = [p.strip() for p in line.split("|")]
                if len(parts) < 3 or not all(parts[:3]):
                    return [Reply(BAD_SOURCE.format(line=number))]
                url = parts[3] if len(parts) > 3 and parts[3] else None
                sources.append(Source(parts[0], parts[1], parts[2], url))
            draft = replace(draft, sources=tuple(sources))
        return self._next(user, replace(draft, waiting_for=None))

    async def button(self, value: str, user: User, _message: object = None) -> list[Reply]:
        if not self.roles.is_national(user.id):
            return []
        verb, _, rest = value.partition(":")
        if verb == "new":
            return await self._start(rest, user)
        draft = self._drafts.get(user.id)
        if draft is None:
            return [Reply(GONE)] if verb in ("cat", "st", "save", "step") else []
        if verb == "cat" and self.knowledge().category(rest):
            return self._next(user, replace(draft, category=rest))
        if verb == "st" and rest in ("current", "guide"):
            return self._next(user, replace(draft, status=rest))
        if verb == "step" and rest in STEPS:
            cleared = {rest: () if rest in ("alternates", "sources") else None}
            return self._next(user, replace(draft, **cleared))
        if verb == "save":
            return await self._save(user, draft)
        if verb == "drop":
            del self._drafts[user.id]
            return [Reply(DROPPED, toast=True)]
        return []

    async def _start(self, number: str, user: User) -> list[Reply]:
        if (ticket_id := button_number(number)) is None:
            return []
        ticket = await self.db.run(tickets.get, ticket_id)
        if ticket is None or ticket.resolution != "reply" or not ticket.answer:
            return []
        self._drafts[user.id] = Draft(ticket.id, ticket.question, escape(ticket.answer))
        categories = [Button(c.title, f"hn:cat:{c.id}") for c in self.knowledge().categories]
        return [Reply(START.format(id=ticket.id), rows(categories))]

    def _next(self, user: User, draft: Draft) -> list[Reply]:
        """Ask for the first missing part, or show the preview when nothing is missing."""
        if draft.question is None:
            self._drafts[user.id] = replace(draft, waiting_for="question")
            return [Reply(ASK["question"].format(asked=escape(excerpt(draft.asked, 300))))]
        if missing := self._missing(draft):
            self._drafts[user.id] = replace(draft, waiting_for="alternates")
            return [Reply(ASK["alternates"].format(count=missing))]
        for step in ("period", "sources"):
            if not getattr(draft, step):
                self._drafts[user.id] = replace(draft, waiting_for=step)
                return [Reply(ASK[step])]
        self._drafts[user.id] = draft
        if draft.status is None:
            buttons = (
                (Button("Quy định đang áp dụng", "hn:st:current"),),
                (Button("Hướng dẫn, giải thích chung", "hn:st:guide"),),
            )
            return [Reply(STATUS, buttons)]
        return [self._preview(draft)]

    def _preview(self, draft: Draft, text: str | None = None) -> Reply:
        category = self.knowledge().category(draft.category or "")
        answer = render_answer(self._entry(draft))
        shown = text or PREVIEW.format(
            category=escape(category.title if category else ""),
            count=len(self._alternates(draft)),
            answer=answer,
        )
        buttons = (
            (Button("✅ Lưu vào kho", "hn:save"),),
            (
                Button("✏️ Sửa cách hỏi", "hn:step:alternates"),
                Button("✏️ Sửa căn cứ", "hn:step:sources"),
            ),
            (Button("✏️ Sửa giai đoạn", "hn:step:period"), Button("✖️ Thôi", "hn:drop")),
        )
        return Reply(shown, buttons)

    async def _save(self, user: User, draft: Draft) -> list[Reply]:
        entry = self._entry(draft)
        fields: dict[str, object] = {
            "id": entry.id,
            "question": entry.question,
            "alternates": list(entry.alternates),
            "answer": entry.answer,
            "period": entry.period,
            "sources": [
                {
                    k: v
                    for k, v in (
                        ("doc", s.doc),
                        ("date", s.date),
                        ("title", s.title),
                        ("url", s.url),
                    )
                    if v
                }
                for s in entry.sources
            ],
            "updated": entry.updated,
            "status": entry.status,
        }
        try:
            knowledge = await asyncio.to_thread(
                knowledge_edit.add_entry, self.config.knowledge_dir, entry.category, fields
            )
        except EditError as exc:
            return [self._preview(draft, REFUSED.format(reason=escape(str(exc))))]
        await self.apply(knowledge)
        del self._drafts[user.id]
        detail = {"mục": entry.id, "chủ đề": entry.category}
        await self.db.run(
            lambda db: audit.log(
                db, "entry.add", detail, actor=user.id, actor_label=user.first_name
            )
        )
        category = knowledge.category(entry.category)
        return [
            Reply(
                SAVED.format(
                    question=escape(entry.question),
                    category=escape(category.title if category else entry.category),
                    entries=len(knowledge.entries),
                )
            )
        ]

    def _entry(self, draft: Draft) -> Entry:
        return Entry(
            id=self._new_id(draft.question or ""),
            category=draft.category or "",
            question=draft.question or "",
            alternates=self._alternates(draft),
            answer=draft.answer,
            period=draft.period or "",
            sources=draft.sources,
            updated=vietnam_today(),
            status=draft.status or "current",
        )

    def _missing(self, draft: Draft) -> int:
        """How many more phrasings the validator wants."""
        return max(0, MIN_ALTERNATES - len(self._alternates(draft)))

    @staticmethod
    def _alternates(draft: Draft) -> tuple[str, ...]:
        """The phrasings typed, and the cadre's own question when it is short enough."""
        asked = " ".join(draft.asked.split())
        extra = (asked,) if len(asked) <= knowledge_edit.PHRASING_LIMIT else ()
        return tuple(dict.fromkeys((*draft.alternates, *extra)))

    def _new_id(self, question: str) -> str:
        """A kebab-case id from the question, unique in the knowledge."""
        slug = re.sub(r"[^a-z0-9]+", "-", fold(question.lower())).strip("-") or "muc-moi"
        base = slug[: ID_LIMIT - 3].rsplit("-", 1)[0] if len(slug) > ID_LIMIT - 3 else slug
        taken = self.knowledge().entries
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}-{number}", number + 1
        return candidate
