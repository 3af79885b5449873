"""What coordinators work through: questions the assistant could not answer, 👎 votes
with the question that led to them, and a weekly digest.

`/chuatraloi` lists the open questions (no answer and suggestion only told apart), most
asked first; a question an entry now answers is marked covered by itself; the rest can
be dismissed one by one. Small talk, thanks and greetings never reach the queue (the
router answers them as such). The desk owns its `uq:` buttons and checks the
coordinator role itself, whatever a button's data says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlite_utils

from bot import feedback, outbox
from bot.clock import VIETNAM, local_date, now_iso, utc_now
from bot.config import Config
from bot.db import Database, transaction
from bot.feedback import Unanswered, Vote
from bot.knowledge import Knowledge
from bot.replies import Button, Reply, User, button_number, excerpt
from bot.roles import NATIONAL, NOWHERE, Roles, scope_label
from bot.telegram_html import escape

_SHOWN = 12  # questions on one page
_VOTES_SHOWN = 8
_QUOTE = 150

EMPTY = "Không còn câu hỏi nào chờ xử lý, cũng không có 👎 nào chưa xem."
COVERED = "{count} câu đã có mục trả lời thẳng, được đánh dấu xong."
DISMISSED = "Đã bỏ qua câu này."
REVIEWED = "Đã đánh dấu đã xem."
DIGEST = (
    "🗓 <b>Tóm tắt tuần của Trợ lý NTM</b> (7 ngày qua)\n\n"
    "• Câu hỏi cán bộ gửi đang chờ trả lời: <b>{open_tickets}</b> (/hoidap)\n"
    "• Câu hỏi mới trợ lý chưa trả lời được: <b>{new_unanswered}</b> (/chuatraloi)\n"
    "• 👎 trên câu trả lời: <b>{downvotes}</b>\n"
    "• Cách hỏi mới đã thêm vào kho: <b>{accepted}</b> (/hoclai)"
)
SCOPED = (
    "Đây là câu hỏi của cán bộ thuộc {scope} (đã liên kết tài khoản). Kho câu hỏi dùng chung "
    "cả nước do điều phối viên cấp trung ương cập nhật; khi cán bộ bấm «Hỏi điều phối viên», "
    "bạn trả lời trực tiếp được."
)


class ReviewDesk:
    def __init__(
        self,
        config: Config,
        database: Database,
        roles: Roles,
        knowledge: Callable[[], Knowledge],
        answers: Callable[[str], str | None],
    ) -> None:
        self.config = config
        self.db = database
        self.roles = roles
        self.knowledge = knowledge
        self.answers = answers  # the entry that now answers a question directly, if any

    async def queue(self, user: User) -> list[Reply]:
        """/chuatraloi: open questions and unread 👎 of the coordinator's scope; national
        coordinators, who keep the FAQ, get a button on each to close it."""
        scope = self.roles.scope_of(user.id) or NOWHERE
        national = scope == NATIONAL
        items = await self.db.run(feedback.open_unanswered, _SHOWN * 3, scope)
        covered = 0
        waiting: list[Unanswered] = []
        now = now_iso()
        for item in items:
            entry_id = self.answers(item.example)
            if entry_id and await self.db.run(
                feedback.close_unanswered, item.id, "covered", now, entry_id
            ):
                covered += 1
            elif len(waiting) < _SHOWN:
                waiting.append(item)
        votes = await self.db.run(feedback.downvotes, _VOTES_SHOWN, scope)
        if not waiting and not votes:
            return [Reply(EMPTY + (f"\n{COVERED.format(count=covered)}" if covered else ""))]
        lines, buttons = [], []
        for title, decision in (
            ("Trợ lý chưa trả lời được", "none"),
            ("Trợ lý chỉ gợi ý được", "suggest"),
        ):
            group = [i for i in waiting if i.decision == decision]
            if group:
                lines += [f"<b>{title}</b> (hỏi nhiều nhất trước):", ""]
            for item in group:
                number = len(buttons) + 1
                lines.append(
                    f"{number}. «{_q(item.example)}» – {item.count} lần, gần nhất "
                    f"{local_date(item.last_seen)}"
                )
                buttons.append(Button(f"✖️ {number}", f"uq:no:{item.id}"))
            if group:
                lines.append("")
        if votes:
            lines += ["<b>👎 Câu trả lời bị báo chưa đúng</b> (mới nhất trước):", ""]
        entries = self.knowledge().entries
        for vote in votes:
            number = len(buttons) + 1
            lines.append(f"{number}. {self._vote_line(vote, entries)}")
            buttons.append(Button(f"✔️ {number}", f"uq:fb:{vote.id}"))
        if covered:
            lines += ["", COVERED.format(count=covered)]
        if not national:  # the FAQ is the country's: its queue is worked through nationally
            lines += ["", SCOPED.format(scope=escape(await self.db.run(scope_label, scope)))]
            return [Reply("\n".join(lines).strip())]
        lines += ["", "Bấm ✖️ để bỏ qua một câu hỏi, ✔️ khi đã xem một 👎."]
        rows = tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))
        return [Reply("\n".join(lines).strip(), rows)]

    async def button(self, value: str, user: User, _message: object = None) -> list[Reply]:
        if not self.roles.is_national(user.id):  # the queue is of the country's FAQ
            return []
        verb, _, rest = value.partition(":")
        if (number := button_number(rest)) is None:
            return []
        if verb == "no" and await self.db.run(
            feedback.close_unanswered, number, "dismissed", now_iso()
        ):
            return [Reply(DISMISSED, toast=True)]
        if verb == "fb" and await self.db.run(feedback.mark_reviewed, number):
            return [Reply(REVIEWED, toast=True)]
        return []

    async def digest(self) -> None:
        """Once a week, on the configured day and hour (Vietnam time), to every coordinator."""
        settings = self.config.helpdesk
        if settings.digest_weekday is None or not self.roles.national_ids():
            return
        local = utc_now().astimezone(VIETNAM)
        if local.weekday() != settings.digest_weekday or local.hour < settings.digest_hour:
            return
        await self.db.run(_send_digest, local, self.roles.national_ids())

    @staticmethod
    def _vote_line(vote: Vote, entries: dict) -> str:
        answered = entries[vote.entry_id].question if vote.entry_id in entries else vote.entry_id
        asked = f"«{_q(vote.question)}» → " if vote.question else ""
        return f"{asked}trả lời bằng mục «{_q(answered)}» ({local_date(vote.at)})"


def _send_digest(db: sqlite_utils.Database, local: dt.datetime, coordinators: list[int]) -> None:
    """The week's digest, queued once: the week's row and the messages in one transaction."""
    year, week, _ = local.isocalendar()
    now = local.astimezone(dt.UTC).isoformat(timespec="seconds")
    since = (local - dt.timedelta(days=7)).astimezone(dt.UTC).isoformat(timespec="seconds")
    with transaction(db):
        claimed = db.execute(
            "INSERT OR IGNORE INTO digests (week, sent_at) VALUES (?, ?)", [f"{year}-W{week}", now]
        ).rowcount
        if not claimed:
            return
        reply = Reply(DIGEST.format(**feedback.week_counts(db, since)))
        for chat_id in coordinators:
            outbox.enqueue(db, chat_id, reply, now)


def _q(text: str) -> str:
    return escape(excerpt(text, _QUOTE))
