"""Ask a person: a cadre's question the FAQ could not answer goes to the coordinators,
and their answer comes back into the cadre's chat.

The desk owns its buttons (prefix `hd:`), its actions (send a question, the queue, one's
own questions) and what a person types while it waits for them: the line a cadre adds
to a question, or a coordinator's answer after "Trả lời". Tickets and their messages are
stored by bot.tickets and bot.outbox; nothing here knows about Telegram. Every button's
data is only a hint: the asker or the coordinator role is checked again from the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from bot import outbox, roster, tickets
from bot.clock import VIETNAM, local_time, now_iso, utc_now
from bot.config import Config
from bot.db import Database
from bot.knowledge import Knowledge, render_answer
from bot.learning import ticket_buttons
from bot.replies import Button, Reply, User, button_number, excerpt, rows, short_label
from bot.roles import Roles
from bot.telegram_html import escape
from bot.tickets import Ticket

ASK_BUTTON = "🙋 Hỏi điều phối viên"
CONFIRM = (
    "<b>Gửi câu hỏi này tới điều phối viên?</b>\n\n«{question}»{note}\n\n"
    "Điều phối viên thấy câu hỏi, chức vụ và xã của bạn (không thấy số điện thoại). "
    "Muốn nói rõ thêm hoàn cảnh, bấm <b>✏️ Thêm một dòng</b>."
)
UNLINKED_HINT = (
    "\n\nBạn chưa liên kết tài khoản nên điều phối viên không biết bạn ở xã nào: nên thêm "
    "một dòng ghi xã và chức vụ của bạn."
)
NOTE_PROMPT = (
    "Bạn gõ thêm một tin nhắn (xã, chức vụ, hoàn cảnh…); trợ lý ghi kèm câu hỏi rồi hỏi lại "
    "bạn trước khi gửi."
)
TYPE_QUESTION = (
    "Bạn gõ câu hỏi về nông thôn mới trước; nếu trợ lý chưa trả lời được, bấm nút "
    f"<b>{ASK_BUTTON}</b> dưới câu trả lời để gửi tới điều phối viên."
)
SENT = (
    "✅ Đã gửi câu hỏi <b>số {id}</b> tới điều phối viên. Khi có trả lời, trợ lý gửi ngay vào "
    "cuộc trò chuyện này. Xem các câu đã gửi: /cauhoicuatoi."
)
TOO_MANY = (
    "Bạn đang có {count} câu hỏi chờ điều phối viên trả lời. Xin đợi có trả lời rồi gửi thêm "
    "nhé (xem: /cauhoicuatoi)."
)
NOBODY = (
    "Trợ lý chưa có điều phối viên nào nhận câu hỏi. Bạn liên hệ trực tiếp Văn phòng điều "
    "phối nông thôn mới của tỉnh hoặc cán bộ phụ trách nông thôn mới của xã."
)
WITHDRAWN = "Vâng, trợ lý không gửi câu hỏi này."
ALREADY_SENT = "Câu hỏi này đã được gửi (số {id}). Xem: /cauhoicuatoi."
CLAIMED = (
    "Bạn đang trả lời câu hỏi <b>số {id}</b>. Gõ câu trả lời trong một tin nhắn: trợ lý gửi "
    "nguyên văn cho người hỏi, ký tên {signature}. Cũng có thể trả lời (reply) thẳng vào "
    "tin nhắn câu hỏi."
)
TAKEN = "Câu hỏi số {id} đang do {name} trả lời."
DONE_ALREADY = "Câu hỏi số {id} đã được xử lý xong."
CLAIM_LOST = (
    "Câu hỏi bạn đang trả lời đã được trả về hàng chờ (chờ quá lâu, hoặc vai của bạn đã thay "
    "đổi), nên tin nhắn này chưa được gửi cho ai và không được lưu. Gõ /hoidap để xem và nhận "
    "lại câu hỏi."
)
NOT_YOURS = "Câu hỏi số {id} đến từ ngoài phạm vi bạn phụ trách, nên bạn không trả lời được."
RELEASED = "Đã trả câu hỏi số {id} về hàng chờ cho điều phối viên khác."
ANSWER_SENT = "✅ Đã gửi câu trả lời cho người hỏi (câu hỏi số {id})."
CLOSED_FAQ = "✅ Đã gửi mục «{question}» cho người hỏi (câu hỏi số {id})."
LEARN_HINT = (
    "\n\nĐể lần sau trợ lý trả lời thẳng: thêm câu hỏi này thành một cách hỏi của mục FAQ "
    "nó thuộc về, hoặc soạn một mục mới từ câu trả lời (nếu có nút)."
)
CLOSED_OUT = "✅ Đã báo người hỏi câu hỏi số {id} ngoài phạm vi."
PICK_ENTRY = (
    "Chọn mục FAQ trả lời câu hỏi số {id} (trợ lý gợi ý từ câu hỏi); không thấy mục đúng thì "
    "bấm “Trả lời” và tự viết."
)
NO_CANDIDATES = "Trợ lý không có mục nào gần câu hỏi số {id}; bấm “Trả lời” và tự viết."
QUEUE_EMPTY = "Không có câu hỏi nào đang chờ trả lời."
MINE_EMPTY = "Bạn chưa gửi câu hỏi nào tới điều phối viên."
THANKS_HELPED = "Cảm ơn bạn! Điều phối viên sẽ biết câu trả lời đã giúp được bạn."
THANKS_NOT_HELPED = (
    "Cảm ơn bạn đã cho biết. Bạn có thể gõ lại câu hỏi, nói rõ hơn điều còn vướng, rồi gửi "
    "tiếp cho điều phối viên."
)
OUT_OF_SCOPE = (
    "Câu hỏi số {id} của bạn («{question}») nằm ngoài phạm vi hỏi đáp về nông thôn mới của "
    "trợ lý, nên điều phối viên xin phép không trả lời tại đây. Bạn liên hệ cơ quan chuyên môn "
    "của xã hoặc của tỉnh phụ trách lĩnh vực này nhé."
)
STATES = {
    "open": "đang chờ trả lời",
    "claimed": "điều phối viên đang trả lời",
    "answered": "đã trả lời",
    "closed": "đã trả lời",
}
_QUOTE = 300  # characters of a question quoted back in lists and messages


class HelpDesk:
    def __init__(
        self, config: Config, database: Database, roles: Roles, knowledge: Callable[[], Knowledge]
    ):
        self.config = config
        self.db = database
        self.roles = roles
        self.knowledge = knowledge
        # Who the desk waits for, kept in step with the database (and read from it at
        # start, so a restart keeps a coordinator's "Trả lời" and a cadre's added line).
        self._noting = database.call(tickets.noting_askers)
        self._answering = database.call(tickets.answering)

    # --- what starts a ticket ----------------------------------------------------------

    async def offer(
        self,
        user: User,
        question: str,
        candidates: tuple[str, ...],
        judged_entry: str | None = None,
    ) -> Button | None:
        """A draft of the question, and the button that sends it; None without coordinators."""
        if not self.roles.ids() or not question.strip():
            return None
        ticket_id = await self.db.run(
            tickets.create_draft, user.id, user.id, question, candidates, now_iso(), judged_entry
        )
        return Button(ASK_BUTTON, f"hd:ask:{ticket_id}")

    async def ask(self, user: User) -> list[Reply]:
        """ "Hỏi điều phối viên" in words or as a command: the latest draft, to confirm."""
        if not self.roles.ids():
            return [Reply(NOBODY)]
        draft = await self.db.run(tickets.latest_draft, user.id)
        return [await self._confirmation(draft)] if draft else [Reply(TYPE_QUESTION)]

    # --- what a person types while the desk waits --------------------------------------

    def waiting(self, user: User) -> bool:
        return user.id in self._noting or user.id in self._answering

    async def typed(self, text: str, user: User) -> list[Reply]:
        if user.id in self._answering:
            coordinator = self.roles.is_coordinator(user.id)
            ticket = await self.db.run(tickets.claimed_by, user.id) if coordinator else None
            if ticket:
                return await self._reply(ticket, text, user)
            # The claim was let go meanwhile (too long, a role changed): this was meant as
            # an answer, so it is neither sent nor taken for a question.
            self._answering.discard(user.id)
            return [Reply(CLAIM_LOST)]
        self._noting.discard(user.id)
        draft = await self.db.run(tickets.add_note, user.id, text)
        return [await self._confirmation(draft)] if draft else []

    async def replied(self, text: str, user: User, to: tuple[int, int]) -> list[Reply] | None:
        """A coordinator's reply to a ticket card is the answer; None if `to` is no card."""
        if not self.roles.is_coordinator(user.id):
            return None
        ticket_id = await self.db.run(outbox.ticket_of_message, *to)
        ticket = await self.db.run(tickets.get, ticket_id) if ticket_id else None
        if ticket is None:
            return None
        return await self._reply(ticket, text, user)

    # --- buttons -------------------------------------------------------------------------

    async def button(self, value: str, user: User, _message: object = None) -> list[Reply]:
        verb, _, rest = value.partition(":")
        number, _, extra = rest.partition(":")
        if (ticket_id := button_number(number)) is None:
            return []
        ticket = await self.db.run(tickets.get, ticket_id)
        if ticket is None:
            return []
        cadre = {
            "ask": self._ask_button,
            "send": self._send,
            "note": self._note,
            "drop": self._drop,
            "rate": self._rate,
        }
        coordinator = {
            "claim": self._claim,
            "release": self._release,
            "faq": self._faq_choices,
            "pick": self._pick,
            "oos": self._out_of_scope,
            "show": self._show,
        }
        if verb in cadre and ticket.asker_id == user.id:
            return await cadre[verb](ticket, user, extra)
        # A coordinator acts only on tickets from the communes they coordinate.
        if verb in coordinator and self.roles.covers(user.id, ticket.commune_code):
            return await coordinator[verb](ticket, user, extra)
        return []

    async def _ask_button(self, ticket: Ticket, _user: User, _extra: str) -> list[Reply]:
        if ticket.state not in ("draft", "noting"):
            return [Reply(ALREADY_SENT.format(id=ticket.id))]
        return [await self._confirmation(ticket)]

    async def _send(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        if not self.roles.ids():
            return [Reply(NOBODY)]
        count = await self.db.run(tickets.open_count, user.id)
        if count >= self.config.helpdesk.open_per_asker:
            return [Reply(TOO_MANY.format(count=count))]
        sent = await self.db.run(
            tickets.send, ticket.id, user.id, self.roles.responsible, self._card, now_iso()
        )
        self._noting.discard(user.id)
        if sent is None:
            return [Reply(ALREADY_SENT.format(id=ticket.id))]
        return [Reply(SENT.format(id=ticket.id))]

    async def _note(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        if not await self.db.run(tickets.start_note, ticket.id, user.id):
            return [Reply(ALREADY_SENT.format(id=ticket.id))]
        self._noting.add(user.id)
        return [Reply(NOTE_PROMPT)]

    async def _drop(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        await self.db.run(tickets.withdraw, ticket.id, user.id, now_iso())
        self._noting.discard(user.id)
        return [Reply(WITHDRAWN, toast=True)]

    async def _rate(self, ticket: Ticket, user: User, extra: str) -> list[Reply]:
        if extra not in ("0", "1") or not await self.db.run(
            tickets.rate, ticket.id, user.id, extra == "1"
        ):
            return []
        return [Reply(THANKS_HELPED if extra == "1" else THANKS_NOT_HELPED)]

    async def _claim(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        name = user.first_name or "một điều phối viên"
        if not await self.db.run(tickets.claim, ticket.id, user.id, name, now_iso()):
            return [self._taken(await self.db.run(tickets.get, ticket.id))]
        self._answering.add(user.id)
        release = Button("↩️ Để người khác trả lời", f"hd:release:{ticket.id}")
        text = CLAIMED.format(id=ticket.id, signature=escape(self.config.helpdesk.signature))
        return [Reply(text, ((release,),))]

    async def _release(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        if not await self.db.run(tickets.release, ticket.id, user.id):
            return []
        self._answering.discard(user.id)
        return [Reply(RELEASED.format(id=ticket.id))]

    async def _faq_choices(self, ticket: Ticket, _user: User, _extra: str) -> list[Reply]:
        if ticket.state not in tickets.OPEN_STATES:
            return [Reply(DONE_ALREADY.format(id=ticket.id))]
        entries = self.knowledge().entries
        found = [entries[c] for c in ticket.candidates if c in entries][:5]
        if not found:
            return [Reply(NO_CANDIDATES.format(id=ticket.id))]
        buttons = [Button(short_label(e.question), f"hd:pick:{ticket.id}:{e.id}") for e in found]
        return [Reply(PICK_ENTRY.format(id=ticket.id), rows(buttons))]

    async def _pick(self, ticket: Ticket, user: User, entry_id: str) -> list[Reply]:
        entry = self.knowledge().entries.get(entry_id)
        if entry is None:
            return []

        def to_asker(done: Ticket) -> Reply:
            header = (
                f"📚 <b>Điều phối viên trả lời câu hỏi số {done.id} của bạn</b> "
                f"(«{_q(done.question)}») bằng một mục có sẵn:\n\n"
            )
            details = Button("📄 Chi tiết, căn cứ đầy đủ", f"src:{entry.id}")
            return Reply(header + render_answer(entry), ((details,), self._rating(done)))

        done = await self.db.run(
            tickets.finish,
            ticket.id,
            user.id,
            "faq",
            to_asker,
            now_iso(),
            None,
            entry.id,
            user.first_name,
        )
        said = self._finished(done, ticket, user, CLOSED_FAQ, question=escape(entry.question))
        return self._with_learning(said, done, user, (entry.id,))

    async def _out_of_scope(self, ticket: Ticket, user: User, _extra: str) -> list[Reply]:
        def to_asker(done: Ticket) -> Reply:
            return Reply(OUT_OF_SCOPE.format(id=done.id, question=_q(done.question)))

        done = await self.db.run(
            tickets.finish,
            ticket.id,
            user.id,
            "out_of_scope",
            to_asker,
            now_iso(),
            None,
            None,
            user.first_name,
        )
        return self._finished(done, ticket, user, CLOSED_OUT)

    async def _show(self, ticket: Ticket, _user: User, _extra: str) -> list[Reply]:
        return [self._card(ticket)]

    async def _reply(self, ticket: Ticket, text: str, user: User) -> list[Reply]:
        """The coordinator's answer, sent to the asker with the office's signature."""
        if not self.roles.covers(user.id, ticket.commune_code):
            return [Reply(NOT_YOURS.format(id=ticket.id))]
        if ticket.state not in tickets.OPEN_STATES:
            return [Reply(DONE_ALREADY.format(id=ticket.id))]
        if ticket.state == "claimed" and ticket.claimed_by != user.id:
            return [self._taken(ticket)]
        signature = self.config.helpdesk.signature

        def to_asker(done: Ticket) -> Reply:
            when = local_time(now_iso())
            body = (
                f"💬 <b>Trả lời câu hỏi số {done.id} của bạn</b>\n«{_q(done.question)}»\n\n"
                f"{escape(done.answer or '')}\n\n— {escape(signature)}, {when}"
            )
            return Reply(body, (self._rating(done),))

        done = await self.db.run(
            tickets.finish,
            ticket.id,
            user.id,
            "reply",
            to_asker,
            now_iso(),
            text.strip(),
            None,
            user.first_name,
        )
        said = self._finished(done, ticket, user, ANSWER_SENT)
        return self._with_learning(said, done, user, ticket.candidates[:3], new_entry=True)

    def _finished(
        self, done: Ticket | None, ticket: Ticket, user: User, said: str, **extra: str
    ) -> list[Reply]:
        self._answering.discard(user.id)
        if done is None:
            return [
                self._taken(ticket)
                if ticket.state == "claimed"
                else Reply(DONE_ALREADY.format(id=ticket.id))
            ]
        return [Reply(said.format(id=ticket.id, **extra))]

    def _with_learning(
        self,
        said: list[Reply],
        done: Ticket | None,
        user: User,
        entry_ids: tuple[str, ...],
        new_entry: bool = False,
    ) -> list[Reply]:
        """After an answer, one more press adds the question to an entry (bot.learning)
        or, for a typed answer, drafts a new entry from it (bot.entry_draft): for national
        coordinators, who keep the country's FAQ."""
        if done is None or not self.roles.is_national(user.id):
            return said
        buttons = ticket_buttons(done.id, entry_ids, self.knowledge())
        if new_entry:
            buttons += ((Button("📝 Soạn mục FAQ mới từ câu trả lời này", f"hn:new:{done.id}"),),)
        if not buttons:
            return said
        return [replace(said[0], text=said[0].text + LEARN_HINT, buttons=buttons)]

    # --- lists -----------------------------------------------------------------------

    async def queue(self, user: User) -> list[Reply]:
        """/hoidap: open questions of the coordinator's scope, oldest first, each a button
        to its card."""
        scope = self.roles.scope_of(user.id)
        waiting = await self.db.run(tickets.waiting, scope, 20) if scope else []
        if not waiting:
            return [Reply(QUEUE_EMPTY)]
        lines = ["<b>Câu hỏi chờ trả lời</b> (cũ nhất trước):", ""]
        for ticket in waiting:
            name = escape(ticket.claimed_name or "")
            who = f" – {name} đang trả lời" if ticket.claimed_by else ""
            lines.append(
                f"• Số {ticket.id}, {local_time(ticket.opened_at or ticket.created_at)}: "
                f"«{_q(ticket.question, 120)}»{who}"
            )
        buttons = [Button(f"Số {t.id}", f"hd:show:{t.id}") for t in waiting]
        return [Reply("\n".join(lines), rows(buttons, per_row=4))]

    async def mine(self, user: User) -> list[Reply]:
        """/cauhoicuatoi: the asker's own questions and where each stands."""
        own = await self.db.run(tickets.of_asker, user.id, 10)
        if not own:
            return [Reply(MINE_EMPTY)]
        lines = ["<b>Câu hỏi bạn đã gửi điều phối viên</b> (mới nhất trước):", ""]
        for ticket in own:
            state = STATES.get(ticket.state, ticket.state)
            if ticket.resolution == "out_of_scope":
                state = "ngoài phạm vi"
            lines.append(
                f"• Số {ticket.id}, {local_time(ticket.opened_at or ticket.created_at)}: "
                f"«{_q(ticket.question, 120)}» – {state}"
            )
        return [Reply("\n".join(lines))]

    # --- the background's part ---------------------------------------------------------

    async def announce_again(self) -> None:
        """Tickets open longer than the configured working days are announced again."""
        days = self.config.helpdesk.reannounce_working_days
        if not days:
            return
        now = utc_now()
        before = _working_days_before(now, days).isoformat(timespec="seconds")
        await self.db.run(
            tickets.announce_again,
            before,
            self.roles.responsible,
            self._card,
            now.isoformat(timespec="seconds"),
        )

    # --- views -----------------------------------------------------------------------

    async def _confirmation(self, ticket: Ticket) -> Reply:
        note = f"\nGhi thêm: «{escape(ticket.note)}»" if ticket.note else ""
        text = CONFIRM.format(question=_q(ticket.question, 1000), note=note)
        if await self.db.run(roster.cadre_by_user, ticket.asker_id) is None:
            text += UNLINKED_HINT
        buttons = (
            (Button("✅ Gửi", f"hd:send:{ticket.id}"),),
            (Button("✏️ Thêm một dòng", f"hd:note:{ticket.id}"),),
            (Button("✖️ Thôi", f"hd:drop:{ticket.id}"),),
        )
        return Reply(text, buttons)

    def _card(self, ticket: Ticket) -> Reply:
        """What coordinators see of a ticket: never the asker's phone or name."""
        entries = self.knowledge().entries
        who = escape(ticket.asker_label) if ticket.asker_label else "người hỏi chưa liên kết"
        lines = [
            f"🙋 <b>Câu hỏi số {ticket.id}</b> – {who}",
            f"Gửi lúc {local_time(ticket.opened_at or ticket.created_at)}",
            "",
            f"«{_q(ticket.question, 1500)}»",
        ]
        if ticket.note:
            lines.append(f"Ghi thêm: «{escape(ticket.note)}»")
        if ticket.judged_entry in entries:
            judged = escape(entries[ticket.judged_entry].question)
            lines += ["", f"Trợ lý đã trả lời bằng mục «{judged}», người hỏi báo chưa đúng."]
        offered = [escape(entries[c].question) for c in ticket.candidates if c in entries][:3]
        if offered and not ticket.judged_entry:
            lines += ["", "Trợ lý chưa chắc, các mục gần nhất:", *(f"• {q}" for q in offered)]
        if ticket.claimed_name:
            lines += ["", f"{escape(ticket.claimed_name)} đang trả lời."]
        buttons = (
            (Button("✍️ Trả lời", f"hd:claim:{ticket.id}"),),
            (Button("📚 Đã có trong FAQ", f"hd:faq:{ticket.id}"),),
            (Button("🚫 Ngoài phạm vi", f"hd:oos:{ticket.id}"),),
        )
        return Reply("\n".join(lines), buttons)

    def _rating(self, ticket: Ticket) -> tuple[Button, ...]:
        return (
            Button("👍 Đã rõ", f"hd:rate:{ticket.id}:1"),
            Button("👎 Chưa rõ", f"hd:rate:{ticket.id}:0"),
        )

    def _taken(self, ticket: Ticket | None) -> Reply:
        if ticket is None or ticket.state not in tickets.OPEN_STATES:
            return Reply(DONE_ALREADY.format(id=ticket.id if ticket else "?"))
        if ticket.state == "open":  # let go meanwhile: the card again
            return self._card(ticket)
        name = escape(ticket.claimed_name or "một điều phối viên khác")
        return Reply(TAKEN.format(id=ticket.id, name=name))


def _working_days_before(now: dt.datetime, days: int) -> dt.datetime:
    """`days` working days (Monday to Friday; public holidays not counted) before `now`."""
    moment = now
    while days:
        moment -= dt.timedelta(days=1)
        if moment.astimezone(VIETNAM).weekday() < 5:
            days -= 1
    return moment


def _q(text: str, limit: int = _QUOTE) -> str:
    return escape(excerpt(text, limit))
