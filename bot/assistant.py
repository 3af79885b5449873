"""The assistant's behaviour, shared by the Telegram bot and the console chat.

Every user action comes in as a command, a free text, a contact, a file or a button
press and goes out as a list of `Reply`. Commands, keyboard labels, `do:` buttons and
words all reach the same actions (bot.actions): words through the router
(bot.routing), which ranks the FAQ entries and the actions alike. Nothing here knows
about Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bot import account, audit, communes, enrolment, feedback, invites, roles
from bot.account import COORDINATORS_ONLY
from bot.actions import ACTIONS, BY_ID, MAIN_KEYBOARD, menu
from bot.announce import AnnounceDesk
from bot.clock import now_iso
from bot.config import Config
from bot.coordinators_desk import CoordinatorsDesk
from bot.db import Database
from bot.entry_draft import EntryDesk
from bot.helpdesk import HelpDesk
from bot.import_desk import ImportDesk
from bot.invites import Invite
from bot.knowledge import (
    Entry,
    Knowledge,
    KnowledgeError,
    load_knowledge,
    render_answer,
    render_details,
)
from bot.learning import LearningDesk
from bot.matcher import Match, Matcher
from bot.normalize import fold
from bot.replies import Button, Reply, User, button_number, rows, short_label
from bot.review import ReviewDesk
from bot.roles import Roles
from bot.routing import Route, Router
from bot.telegram_html import escape

log = logging.getLogger(__name__)

_PROBLEMS_SHOWN = 10
_COMMAND_WORDS = 4  # "/đăng ký khóa học": commands typed in up to four words
_WAITING_SECONDS = 15 * 60  # how long a request waits for the account to be linked
_WAITING_LIMIT = 10_000  # requests waiting at once, at most
_CODE_DIGITS = 9  # a commune code in button data
_REMEMBERED = 10_000  # people whose last answered question is kept (for a later 👎)

GREETING = (
    "Xin chào{name}! Tôi là <b>Trợ lý NTM</b>, trợ lý hỏi đáp về Chương trình xây dựng "
    "nông thôn mới dành cho cán bộ, công chức xã.\n\n"
    "Tôi trả lời các câu hỏi về:\n"
    "• bộ tiêu chí nông thôn mới (hiện hành là QĐ 51/2025/QĐ-TTg, giai đoạn 2026-2030) "
    "và các bộ tiêu chí trước đây;\n"
    "• chuẩn cán bộ, công chức xã; đào tạo, bồi dưỡng;\n"
    "• chuẩn tiếp cận pháp luật; xét, công nhận xã đạt chuẩn; bộ máy điều phối.\n\n"
    "Sau khi liên kết tài khoản, bạn xem được tình hình nông thôn mới của xã mình, hồ sơ "
    "đào tạo của chính mình và đăng ký khóa học.\n\n"
    "Cứ gõ như khi nhắn tin, có dấu hay không dấu đều được, ví dụ: "
    "<i>tiêu chí 18 là gì</i>, <i>xã mình đạt mấy tiêu chí</i>, <i>sắp tới có lớp nào</i>. "
    "Hoặc bấm <b>📚 Chủ đề</b> để xem theo chủ đề.\n\n"
    "Mỗi câu trả lời đều ghi giai đoạn áp dụng và văn bản căn cứ. "
    "Khi không chắc chắn, tôi sẽ nói rõ là chưa có câu trả lời."
)

HELP = (
    "<b>Cách dùng Trợ lý NTM</b>\n\n"
    "Cứ gõ điều bạn cần như khi nhắn tin, có dấu hay không dấu, viết tắt quen thuộc "
    "(ntm, cb, tc, qđ…) đều được. Ví dụ:\n"
    "• <i>tiêu chí 9 giai đoạn 2026-2030 gồm gì</i> – hỏi quy định;\n"
    "• <i>xã mình còn thiếu tiêu chí nào</i> – tình hình xã của bạn;\n"
    "• <i>tôi còn thiếu gì để đạt chuẩn</i> – chuẩn của bạn và hạn đạt chuẩn;\n"
    "• <i>tôi đã học những lớp nào</i> – hồ sơ đào tạo;\n"
    "• <i>sắp tới có lớp nào</i>, <i>đăng ký lớp trung cấp lý luận chính trị</i>;\n"
    "• <i>xã Bình Lợi đạt mấy tiêu chí</i> – tra một xã bất kỳ.\n\n"
    "Nếu câu hỏi chưa rõ, tôi gợi ý vài câu gần nhất để bạn chọn; nếu chưa có câu trả lời "
    "đáng tin cậy, tôi nói rõ thay vì đoán; khi đó bấm <b>🙋 Hỏi điều phối viên</b> để gửi câu "
    "hỏi cho người phụ trách, câu trả lời về ngay trong cuộc trò chuyện này.\n\n"
    "<b>Các lệnh</b>\n"
    "{commands}"
)

NO_ANSWER = (
    "Xin lỗi, tôi chưa có câu trả lời đáng tin cậy cho câu hỏi này nên không muốn đoán.\n\n"
    "Bạn có thể:\n"
    "• hỏi lại ngắn gọn hơn, nêu rõ tiêu chí, văn bản hoặc giai đoạn;\n"
    "• xem các câu hỏi theo chủ đề (/chude);\n"
    "• hỏi Văn phòng điều phối nông thôn mới của tỉnh hoặc cán bộ phụ trách của xã."
)
ASK_A_PERSON = (
    "\n\nHoặc bấm <b>🙋 Hỏi điều phối viên</b>: câu hỏi được gửi tới người phụ trách và câu "
    "trả lời về ngay trong cuộc trò chuyện này."
)
COORDINATOR_FILES = (
    "Gửi tệp .xlsx hoặc .csv theo mẫu (ntm-bot template) để nhập danh sách cán bộ, "
    "tình hình xã, khóa học, kết quả đào tạo: trợ lý cho xem trước rồi mới ghi."
)
GREETING_ONLY = "Chào bạn! Bạn cứ gõ câu hỏi về nông thôn mới, hoặc bấm /chude để xem theo chủ đề."
YOU_ARE_WELCOME = "Rất vui được giúp bạn! Cần gì bạn cứ hỏi tiếp nhé."
SMALL_TALK = (
    "Tôi là trợ lý về chương trình nông thôn mới nên chưa trò chuyện được chuyện này. Bạn "
    "hỏi tôi về tiêu chí, chuẩn cán bộ, đào tạo, công nhận xã… hoặc bấm /chude nhé."
)
THANKS_UP = "Cảm ơn bạn! Góp ý đã được ghi nhận."
THANKS_DOWN = "Cảm ơn bạn! Điều phối viên sẽ rà soát lại câu trả lời này."
THANKS_DOWN_ASK = (
    "Cảm ơn bạn đã báo câu trả lời chưa đúng. Muốn người phụ trách trả lời trực tiếp, bấm "
    "<b>🙋 Hỏi điều phối viên</b>."
)
UNKNOWN_COMMAND = "Tôi chưa hiểu lệnh này. Gõ /help để xem các lệnh."
STALE_BUTTON = "Nút này đã cũ hoặc không còn hiệu lực. Gõ /chude để xem lại các chủ đề."
DETAILS_BUTTON = "📄 Chi tiết, căn cứ đầy đủ"
SUGGEST_INTRO = "Có phải bạn muốn hỏi một trong các câu sau? Bấm số tương ứng:"
ASK_SOMETHING = (
    "Bạn cần hỏi gì? Cứ gõ câu hỏi về nông thôn mới, ví dụ: <i>tiêu chí 9 gồm những gì</i>, "
    "<i>xã mình đạt mấy tiêu chí</i>, hoặc bấm /chude để xem theo chủ đề."
)
KEPT = "Vâng, trợ lý giữ nguyên."
NATIONAL_ONLY = (
    "Lệnh này chỉ dành cho điều phối viên cấp trung ương (phạm vi toàn quốc), vì kho câu hỏi "
    "và nhật ký dùng chung cho cả nước."
)


@dataclass(frozen=True)
class Ask:
    """One request for an action: who asks, and how."""

    user: User
    args: str = ""  # what follows a command: "/xa Bình Lợi"
    words: str = ""  # the message, when the action was asked for in words
    confirmed: bool = False  # a typed command, or the "Đồng ý" of a confirmation


Handler = Callable[[Ask], Awaitable[list[Reply]]]
ButtonHandler = Callable[[str, User, "tuple[int, int] | None"], Awaitable[list[Reply]]]


class Assistant:
    def __init__(self, config: Config, knowledge: Knowledge, database: Database) -> None:
        self.config = config
        self.db = database
        # The config's coordinators are national roles; the others live in the database.
        database.call(roles.bootstrap, config.coordinators)
        self.roles = database.call(Roles.load)
        self.imports = ImportDesk(config, database, self.roles)
        self.announcements = AnnounceDesk(config, database, self.roles)
        self._use(knowledge, Matcher(knowledge, config.matching))
        self.helpdesk = HelpDesk(config, database, self.roles, lambda: self.knowledge)
        self.learning = LearningDesk(
            config,
            database,
            self.roles,
            lambda: self.knowledge,
            lambda question: " ".join(self.matcher.query_tokens(question)),
            self._apply,
        )
        self.review = ReviewDesk(
            config, database, self.roles, lambda: self.knowledge, self._answered_by
        )
        self.drafting = EntryDesk(config, database, self.roles, lambda: self.knowledge, self._apply)
        self.coordinators = CoordinatorsDesk(database, self.roles)
        # For invitation links; the running bot sets it from Telegram (bot.telegram_app).
        self.bot_username = config.telegram.bot_username
        # Who opened an invitation link, and which it was, until they share their contact.
        self._invited: dict[int, tuple[float, Invite]] = {}
        # Desks that wait for a person's next message (a line of a dialogue), in order.
        self._dialogues = (self.announcements, self.helpdesk, self.drafting)
        # Each person's last question answered from the FAQ, and with which entry: a 👎 on
        # that answer is stored, and sent to a coordinator, with the question that led to it.
        self._last_answered: dict[int, tuple[str, str]] = {}
        # What an unlinked cadre just asked for, done once the account is linked: the
        # request that led to the contact button, for a few minutes, until the next message.
        self._after_link: dict[int, tuple[float, Callable[[], Awaitable[list[Reply]]]]] = {}
        db, lexicon = database, lambda: self.knowledge.lexicon
        self.actions: dict[str, Handler] = {
            "start": self._start,
            "help": self._help,
            "chude": lambda _ask: _say(self._categories()),
            "xa": self._commune,
            "daotao": lambda ask: account.training(db, self.roles, lexicon(), ask.args, ask.user),
            "chuan": lambda ask: account.standard(db, lexicon(), ask.user),
            "khoahoc": lambda ask: enrolment.course_list(
                db, lexicon(), f"{ask.args} {ask.words}", ask.user
            ),
            "dangky": lambda ask: enrolment.course_list(
                db, lexicon(), f"{ask.args} {ask.words}", ask.user, registering=True
            ),
            "lienket": lambda ask: account.ask_contact(db, ask.user),
            "huylienket": lambda ask: account.unlink(db, ask.user),
            "tatthongbao": lambda ask: enrolment.unsubscribe(db, ask.user),
            "batthongbao": lambda ask: enrolment.subscribe(db, ask.user),
            "hoidieuphoi": lambda ask: self.helpdesk.ask(ask.user),
            "cauhoicuatoi": lambda ask: self.helpdesk.mine(ask.user),
            "hoidap": lambda ask: self.helpdesk.queue(ask.user),
            "hoclai": lambda ask: self.learning.review(ask.user),
            "id": self._whoami,
            "camon": lambda _ask: _say(Reply(YOU_ARE_WELCOME)),
            "chao": lambda _ask: _say(Reply(GREETING_ONLY)),
            "trochuyen": lambda _ask: _say(Reply(SMALL_TALK)),
            "thongbao": lambda ask: self.announcements.start(ask.args, ask.user),
            "huythongbao": lambda ask: self.announcements.scheduled(ask.args, ask.user),
            "dangkykhoahoc": lambda ask: self.announcements.registrations(ask.args, ask.user),
            "chuatraloi": lambda ask: self.review.queue(ask.user),
            "reload": self._reload,
            "dieuphoivien": lambda ask: self.coordinators.manage(ask.args, ask.user),
            "nhatky": lambda ask: self.coordinators.trail(ask.args, ask.user),
            "moi": lambda ask: self.coordinators.invite(ask.args, ask.user, self.bot_username),
            "baocao": lambda ask: self.coordinators.report(ask.args, ask.user),
        }
        self._commands = {spec.command: spec.id for spec in ACTIONS if spec.command}
        self._buttons: dict[str, ButtonHandler] = {
            "a": self._entry_button,
            "src": self._details_button,
            "c": self._category_button,
            "cats": lambda _v, _u, _m: _say(self._categories()),
            "do": self._action_button,
            "tb": self.announcements.button,
            "bc": lambda value, user, _m: self.announcements.cancel(value, user),
            "reg": self._register_button,
            "ok": self._confirmed_button,
            "no": lambda _v, _u, _m: _say(Reply(KEPT, toast=True)),
            "unsub": lambda _v, user, _m: enrolment.unsubscribe(db, user),
            "imp": self._import_button,
            "x": self._commune_button,
            "fb": self._vote_button,
            "hd": self.helpdesk.button,
            "hl": self.learning.button,
            "uq": self.review.button,
            "hn": self.drafting.button,
            "rl": lambda value, user, _m: account.undo_relink(db, value, user, self.roles),
            "dp": self.coordinators.button,
        }

    def _use(self, knowledge: Knowledge, matcher: Matcher) -> None:
        self.knowledge, self.matcher = knowledge, matcher
        self.router = Router(knowledge, matcher)

    # --- entry points ----------------------------------------------------------------

    async def message(
        self, text: str, user: User, reply_to: tuple[int, int] | None = None
    ) -> list[Reply]:
        """A typed message: a command ("/chude", "/xa Bình Lợi") or anything else;
        `reply_to` (chat id, message id): the message it replies to, if any."""
        self._after_link.pop(user.id, None)  # a new message: the cadre has moved on
        if reply_to and not text.startswith("/"):
            answered = await self.helpdesk.replied(text, user, reply_to)
            if answered is not None:
                return answered
        if text.startswith("/"):
            word, _, args = text.partition(" ")
            return await self.command(word[1:].split("@")[0], args.strip(), user)
        return await self.text(text, user)

    async def command(self, name: str, args: str, user: User) -> list[Reply]:
        """A slash command, also typed with diacritics or spaces ("/xã", "/đào tạo khóa"):
        the longest run of first words that names a command the sender may run."""
        words = [name, *args.split()]
        coordinator = self.roles.is_coordinator(user.id)
        for size in range(min(len(words), _COMMAND_WORDS), 0, -1):
            action = self._commands.get(_command_key("".join(words[:size])))
            if action and (coordinator or not BY_ID[action].coordinator or size == 1):
                rest = " ".join(words[size:])
                return await self.run(action, Ask(user, args=rest, confirmed=True))
        return [Reply(UNKNOWN_COMMAND)]

    async def text(self, text: str, user: User) -> list[Reply]:
        for desk in self._dialogues:
            if desk.waiting(user) and (replies := await desk.typed(text, user)):
                return replies
        if account.typed_phone(text):
            return [Reply(account.TYPED_PHONE)]
        route = self.router.route(text, coordinator=self.roles.is_coordinator(user.id))
        if await self._names_commune(route, text):
            route = Route("action", "xa", route.match)
        if route.kind == "action":
            return await self.run(route.target, Ask(user, words=text))
        if route.kind == "answer":
            self._remember_answered(user, route.target, text)
            return [self._answer(self.knowledge.entries[route.target])]
        if route.match is None:
            return [Reply(ASK_SOMETHING)]
        await self._remember_unanswered(text, route, user)
        candidates = tuple(c.id for c in route.match.candidates)
        ask = await self.helpdesk.offer(user, text, candidates)
        if route.kind == "suggest" and (offered := self.router.suggestions(route.match)):
            self.learning.offered(user, text, tuple(offered))
            return [self._suggest(route.match, ask)]
        buttons = [b for b in (ask, Button("📚 Xem theo chủ đề", "cats")) if b]
        return [Reply(NO_ANSWER + (ASK_A_PERSON if ask else ""), rows(buttons))]

    async def _names_commune(self, route: Route, text: str) -> bool:
        """Words that name a real commune ("xã Tân Nhựt đạt mấy tiêu chí", "Phường Phú An")
        ask for its status unless the FAQ answers them for sure (not with a how-to page)."""
        how_to = route.kind == "answer" and "xa" in self.knowledge.entries[route.target].actions
        unsure = route.kind in ("suggest", "none") or route.target == "trochuyen" or how_to
        return unsure and bool(await self.db.run(communes.commune_in_words, text))

    async def run(self, action: str, ask: Ask) -> list[Reply]:
        """Run an action for `ask.user`; every right is checked here or in the action."""
        spec = BY_ID[action]
        if spec.coordinator and not self.roles.is_coordinator(ask.user.id):
            return [Reply(COORDINATORS_ONLY)]
        if spec.national and not self.roles.is_national(ask.user.id):
            return [Reply(NATIONAL_ONLY)]
        if spec.confirm and not ask.confirmed:
            buttons = (Button("✅ Đồng ý", f"ok:{action}"), Button("✖️ Không", "no"))
            return [Reply(spec.confirm, (buttons,))]
        replies = await self.actions[action](ask)
        if action != "lienket" and any(r.contact_button for r in replies):
            self._wait_for_link(ask.user, lambda: self.run(action, ask))
        return replies

    def _wait_for_link(self, user: User, then: Callable[[], Awaitable[list[Reply]]]) -> None:
        """An unlinked cadre was shown the contact button: `then` runs once linked."""
        now = time.monotonic()
        for user_id in [u for u, (at, _) in self._after_link.items() if at < now]:
            del self._after_link[user_id]
        if len(self._after_link) < _WAITING_LIMIT:
            self._after_link[user.id] = (now + _WAITING_SECONDS, then)

    async def contact(
        self, phone_number: str, contact_user_id: int | None, user: User
    ) -> list[Reply]:
        """A phone number shared with Telegram's contact button."""
        until, invite = self._invited.pop(user.id, (0.0, None))
        if until < time.monotonic():
            invite = None
        replies = await account.contact(
            self.db, phone_number, contact_user_id, user, self.roles, invite
        )
        replies = [replace(r, keyboard=MAIN_KEYBOARD) for r in replies]
        deadline, then = self._after_link.pop(user.id, (0.0, None))
        if then and deadline >= time.monotonic() and await account.is_linked(self.db, user):
            replies += await then()
        return replies

    async def document(
        self,
        filename: str,
        size: int | None,
        caption: str | None,
        fetch: Callable[[], Awaitable[bytes]],
        user: User,
    ) -> list[Reply]:
        """A file sent in the chat: a coordinator's import, previewed before it is written."""
        return await self.imports.receive(filename, size, caption, fetch, user)

    async def button(
        self, data: str, user: User, message: tuple[int, int] | None = None
    ) -> list[Reply]:
        """A button pressed under `message` (chat id, message id). The data is only a hint
        of what was pressed: every right is checked again from `user`."""
        self._after_link.pop(user.id, None)
        kind, _, value = data.partition(":")
        handler = self._buttons.get(kind)
        replies = await handler(value, user, message) if handler else []
        return replies or [Reply(STALE_BUTTON)]

    # --- actions ---------------------------------------------------------------------

    async def _start(self, ask: Ask) -> list[Reply]:
        """/start, or /start TOKEN from an invitation link (bot.invites)."""
        if ask.args:
            invite = await self.db.run(invites.valid, ask.args.split()[0])
            if invite is None:
                return [Reply(account.BAD_INVITE, keyboard=MAIN_KEYBOARD)]
            self._forget_invitations()
            if len(self._invited) < _WAITING_LIMIT:
                self._invited[ask.user.id] = (time.monotonic() + _WAITING_SECONDS, invite)
            text = account.INVITED.format(commune=escape(invite.commune))
            return [Reply(text, contact_button=account.SHARE_CONTACT)]
        name = f" {escape(ask.user.first_name)}" if ask.user.first_name else ""
        return [Reply(GREETING.format(name=name), keyboard=MAIN_KEYBOARD)]

    def _forget_invitations(self) -> None:
        now = time.monotonic()
        for user_id in [u for u, (until, _) in self._invited.items() if until < now]:
            del self._invited[user_id]

    async def _help(self, ask: Ask) -> list[Reply]:
        coordinator = self.roles.is_coordinator(ask.user.id)
        public = [f"/{s.command} – {s.description.lower()}" for s in menu(False)]
        text = HELP.format(commands="\n".join(public))
        if coordinator:
            national = self.roles.is_national(ask.user.id)
            lines = [
                f"/{s.command} – {s.description.lower()}"
                for s in menu(True, national)
                if s.coordinator
            ]
            text += "\n".join(["", "", "<b>Dành cho điều phối viên</b>", *lines, COORDINATOR_FILES])
        return [Reply(text)]

    async def _commune(self, ask: Ask) -> list[Reply]:
        if ask.args:
            return await account.commune(self.db, ask.args, ask.user)
        if ask.words:
            return await account.commune_in_words(self.db, ask.words, ask.user)
        return await account.own_commune(self.db, ask.user)

    async def _whoami(self, ask: Ask) -> list[Reply]:
        """One's own Telegram id: what a coordinator gives to be listed in the config."""
        role = "điều phối viên" if self.roles.is_coordinator(ask.user.id) else "người dùng"
        return [Reply(f"Mã Telegram của bạn: <code>{ask.user.id}</code> (vai: {role}).")]

    async def _reload(self, ask: Ask) -> list[Reply]:
        """Reload the FAQ from disk; an invalid edit leaves the running one in place."""
        try:
            knowledge, matcher = await asyncio.to_thread(self._load, self.config.knowledge_dir)
        except KnowledgeError as exc:
            shown = exc.problems[:_PROBLEMS_SHOWN]
            lines = [
                f"<b>Kho tri thức mới chưa hợp lệ ({len(exc.problems)} lỗi)</b>, "
                "trợ lý vẫn dùng bản cũ. Sửa rồi gõ /reload lại:",
                *(f"• {escape(str(p))}" for p in shown),
            ]
            if len(exc.problems) > len(shown):
                lines.append(f"… và {len(exc.problems) - len(shown)} lỗi khác (xem ntm-bot check).")
            return [Reply("\n".join(lines))]
        self._use(knowledge, matcher)
        detail = {"số mục": len(knowledge.entries), "số chủ đề": len(knowledge.categories)}
        await self.db.run(
            lambda db: audit.log(
                db, "reload", detail, actor=ask.user.id, actor_label=ask.user.first_name
            )
        )
        return [
            Reply(
                f"Đã nạp lại kho tri thức: {len(knowledge.entries)} mục "
                f"trong {len(knowledge.categories)} chủ đề, {len(knowledge.actions)} thao tác."
            )
        ]

    async def _apply(self, knowledge: Knowledge) -> None:
        """Put an edited knowledge in service (bot.learning), as /reload does."""
        matcher = await asyncio.to_thread(Matcher, knowledge, self.config.matching)
        self._use(knowledge, matcher)

    def _load(self, directory: Path) -> tuple[Knowledge, Matcher]:
        knowledge = load_knowledge(directory)
        return knowledge, Matcher(knowledge, self.config.matching)

    def _answered_by(self, question: str) -> str | None:
        """The entry that answers `question` directly now, if any (for the review queue)."""
        route = self.router.route(question)
        return route.target if route.kind == "answer" else None

    async def housekeeping(self) -> None:
        """What the running bot does in the background besides sending (bot.outbox_worker)."""
        await self.helpdesk.announce_again()
        await self.review.digest()

    # --- buttons ---------------------------------------------------------------------

    async def _entry_button(self, value: str, user: User, _m: object) -> list[Reply]:
        entry = self.knowledge.entries.get(value)
        if entry is None:
            return []
        await self.learning.chosen(user, entry.id)  # a suggestion picked is evidence
        return [self._answer(entry)]

    async def _details_button(self, value: str, _user: User, _m: object) -> list[Reply]:
        entry = self.knowledge.entries.get(value)
        return [Reply(render_details(entry))] if entry else []

    async def _category_button(self, value: str, _user: User, _m: object) -> list[Reply]:
        return [self._category(value)] if self.knowledge.category(value) else []

    async def _action_button(self, value: str, user: User, _m: object) -> list[Reply]:
        return await self.run(value, Ask(user)) if value in self.actions else []

    async def _confirmed_button(self, value: str, user: User, _m: object) -> list[Reply]:
        """ "Đồng ý" under a confirmation: the action runs, rights checked as ever."""
        return await self.run(value, Ask(user, confirmed=True)) if value in self.actions else []

    async def _register_button(self, value: str, user: User, _m: object) -> list[Reply]:
        replies = await enrolment.register(self.db, value, user)
        if any(r.contact_button for r in replies):
            self._wait_for_link(user, lambda: enrolment.register(self.db, value, user))
        return replies

    async def _import_button(self, value: str, user: User, _m: object) -> list[Reply]:
        token, _, choice = value.rpartition(":")
        return await self.imports.answer(token, choice, user)

    async def _commune_button(self, value: str, _user: User, _m: object) -> list[Reply]:
        code = button_number(value, _CODE_DIGITS)
        return await account.commune_by_code(self.db, code) if code is not None else []

    async def _vote_button(self, value: str, user: User, _m: object) -> list[Reply]:
        entry_id, _, vote = value.rpartition(":")
        if entry_id not in self.knowledge.entries or vote not in ("0", "1"):
            return []
        asked_entry, question = self._last_answered.get(user.id, ("", ""))
        question = question if asked_entry == entry_id else ""
        await self.db.run(
            feedback.record_vote, user.id, entry_id, int(vote), now_iso(), question or None
        )
        if vote == "1":
            return [Reply(THANKS_UP, toast=True)]
        entry = self.knowledge.entries[entry_id]
        ask = await self.helpdesk.offer(user, question or entry.question, (entry_id,), entry_id)
        if ask is None:
            return [Reply(THANKS_DOWN, toast=True)]
        return [Reply(THANKS_DOWN_ASK, ((ask,),))]

    # --- replies ---------------------------------------------------------------------

    async def _remember_unanswered(self, text: str, route: Route, user: User) -> None:
        """Best effort: a question is still answered "no answer" if it cannot be stored."""
        normalized = " ".join(self.matcher.query_tokens(text))
        if not normalized:
            return
        try:
            await self.db.run(
                feedback.record_unanswered, normalized, text.strip(), route.kind, now_iso(), user.id
            )
        except sqlite3.Error:
            log.warning("Could not store an unanswered question", exc_info=True)

    def _remember_answered(self, user: User, entry_id: str, text: str) -> None:
        self._last_answered.pop(user.id, None)
        if len(self._last_answered) >= _REMEMBERED:  # the oldest goes first
            del self._last_answered[next(iter(self._last_answered))]
        self._last_answered[user.id] = (entry_id, text.strip())

    def _suggest(self, match: Match, ask: Button | None = None) -> Reply:
        """Candidates listed in full in the message (each with its period); buttons by number."""
        lines, buttons = [SUGGEST_INTRO, ""], []
        for number, target in enumerate(self.router.suggestions(match), 1):
            if target in self.knowledge.actions:
                question, data = self.knowledge.actions[target].question, f"do:{target}"
                lines.append(f"{number}. {escape(question)} – trợ lý làm ngay")
            else:
                entry = self.knowledge.entries[target]
                data = f"a:{target}"
                lines.append(f"{number}. {escape(entry.question)} – {escape(entry.period)}")
            buttons.append(Button(str(number), data))
        other = (Button("Không phải – xem theo chủ đề", "cats"),)
        person = ((ask,),) if ask else ()
        return Reply("\n".join(lines), (tuple(buttons), other, *person))

    def _answer(self, entry: Entry) -> Reply:
        """The first message of an answer; an answer no longer in force opens with what is."""
        now = [
            self.knowledge.entries[s] for s in entry.superseded_by if s in self.knowledge.entries
        ]
        buttons = [Button(short_label(f"✅ Đang áp dụng: {e.question}"), f"a:{e.id}") for e in now]
        for action in entry.actions:
            label = f"▶️ {self.knowledge.actions[action].question}"
            buttons.append(Button(short_label(label), f"do:{action}"))
        buttons.append(Button(DETAILS_BUTTON, f"src:{entry.id}"))
        buttons += [
            _entry_button(self.knowledge.entries[r])
            for r in entry.related
            if r in self.knowledge.entries and r not in entry.superseded_by
        ]
        votes = (
            Button("👍 Hữu ích", f"fb:{entry.id}:1"),
            Button("👎 Chưa đúng", f"fb:{entry.id}:0"),
        )
        text = render_answer(entry)
        if now:
            current = "; ".join(f"{escape(e.question)} ({escape(e.period)})" for e in now)
            text = f"⚠️ <b>Không còn áp dụng.</b> Đang áp dụng: {current}\n\n{text}"
        return Reply(text, (*rows(buttons), votes))

    def _categories(self) -> Reply:
        buttons = [Button(c.title, f"c:{c.id}") for c in self.knowledge.categories]
        return Reply("<b>Chọn chủ đề:</b>", rows(buttons))

    def _category(self, category_id: str) -> Reply:
        category = self.knowledge.category(category_id)
        buttons = [_entry_button(self.knowledge.entries[i]) for i in category.entry_ids]
        buttons.append(Button("⬅️ Các chủ đề", "cats"))
        return Reply(f"<b>{escape(category.title)}</b>\nChọn câu hỏi:", rows(buttons))


async def _say(*replies: Reply) -> list[Reply]:
    return list(replies)


def _command_key(name: str) -> str:
    """'/Đào_tạo', '/xã', '/dao tao' -> 'daotao', 'xa': how a typed command is looked up."""
    return "".join(ch for ch in fold(name.lower()) if ch.isalnum())


def _entry_button(entry: Entry) -> Button:
    return Button(short_label(entry.question), f"a:{entry.id}")
