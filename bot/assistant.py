"""The assistant's behaviour, shared by the Telegram bot and the console chat.

Every user action comes in as a command, a free text or a button press and goes out
as a list of `Reply`. Nothing here knows about Telegram.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from bot import account, feedback
from bot.account import COORDINATORS_ONLY
from bot.announce import AnnounceDesk
from bot.config import Config
from bot.db import Database
from bot.import_desk import ImportDesk
from bot.knowledge import Entry, Knowledge, KnowledgeError, load_knowledge, render_answer
from bot.matcher import Match, Matcher
from bot.normalize import fold
from bot.replies import Button, Reply, User, rows
from bot.telegram_html import escape

log = logging.getLogger(__name__)

# The persistent keyboard: each label is sent back as text and handled like its command.
KEYBOARD_ACTIONS = {
    "📚 Chủ đề": "chude",
    "🏘 Xã của tôi": "xa",
    "🎓 Đào tạo của tôi": "daotao",
    "ℹ️ Hướng dẫn": "help",
}
MAIN_KEYBOARD = (("📚 Chủ đề", "🏘 Xã của tôi"), ("🎓 Đào tạo của tôi", "ℹ️ Hướng dẫn"))
_BUTTON_TEXT_LIMIT = 60
_PROBLEMS_SHOWN = 10

GREETING = (
    "Xin chào{name}! Tôi là <b>Trợ lý NTM</b>, trợ lý hỏi đáp về Chương trình xây dựng "
    "nông thôn mới dành cho cán bộ, công chức xã.\n\n"
    "Tôi trả lời các câu hỏi về:\n"
    "• bộ tiêu chí nông thôn mới (hiện hành là QĐ 51/2025/QĐ-TTg, giai đoạn 2026-2030) "
    "và các bộ tiêu chí trước đây;\n"
    "• chuẩn cán bộ, công chức xã; đào tạo, bồi dưỡng;\n"
    "• chuẩn tiếp cận pháp luật; xét, công nhận xã đạt chuẩn; bộ máy điều phối.\n\n"
    "Sau khi liên kết tài khoản (/lienket), bạn xem được tình hình nông thôn mới của xã "
    "mình (/xa) và hồ sơ đào tạo của chính mình (/daotao).\n\n"
    "Cứ gõ câu hỏi như khi nhắn tin, có dấu hay không dấu đều được, ví dụ: "
    "<i>tiêu chí 18 là gì</i>. Hoặc bấm <b>📚 Chủ đề</b> để xem theo chủ đề.\n\n"
    "Mỗi câu trả lời đều ghi giai đoạn áp dụng và văn bản căn cứ. "
    "Khi không chắc chắn, tôi sẽ nói rõ là chưa có câu trả lời."
)

HELP = (
    "<b>Cách dùng Trợ lý NTM</b>\n\n"
    "• Gõ câu hỏi bằng tiếng Việt, có dấu hay không dấu, viết tắt quen thuộc "
    "(ntm, cb, tc, qđ…) đều được.\n"
    "• Nếu câu hỏi chưa rõ, tôi sẽ gợi ý vài câu gần nhất để bạn chọn.\n"
    "• Nếu chưa có câu trả lời đáng tin cậy, tôi sẽ nói rõ thay vì đoán.\n\n"
    "<b>Các lệnh</b>\n"
    "/chude – xem câu hỏi theo chủ đề\n"
    "/lienket – liên kết tài khoản với hồ sơ cán bộ (chia sẻ số điện thoại)\n"
    "/xa – tình hình nông thôn mới của xã mình; /xa TÊN XÃ – tra một xã bất kỳ\n"
    "/daotao – hồ sơ đào tạo của chính mình\n"
    "/khoahoc – các khóa học sắp tới\n"
    "/batthongbao – nhận lại thông báo khóa học\n"
    "/huylienket – hủy liên kết tài khoản\n"
    "/help – hướng dẫn này\n"
    "/start – giới thiệu và bàn phím chính"
)

NO_ANSWER = (
    "Xin lỗi, tôi chưa có câu trả lời đáng tin cậy cho câu hỏi này nên không muốn đoán.\n\n"
    "Bạn có thể:\n"
    "• hỏi lại ngắn gọn hơn, nêu rõ tiêu chí, văn bản hoặc giai đoạn;\n"
    "• xem các câu hỏi theo chủ đề (/chude);\n"
    "• hỏi Văn phòng điều phối nông thôn mới của tỉnh hoặc cán bộ phụ trách của xã.\n\n"
    "Câu hỏi của bạn đã được lưu lại để điều phối viên xem và bổ sung vào kho câu hỏi."
)

COORDINATOR_FILES = (
    "Gửi tệp .xlsx hoặc .csv theo mẫu (ntm-bot template) để nhập danh sách cán bộ, "
    "tình hình xã, khóa học, kết quả đào tạo: trợ lý cho xem trước rồi mới ghi."
)
GREETING_ONLY = "Chào bạn! Bạn cứ gõ câu hỏi về nông thôn mới, hoặc bấm /chude để xem theo chủ đề."
YOU_ARE_WELCOME = "Rất vui được giúp bạn! Cần gì bạn cứ hỏi tiếp nhé."
_THANKS = ("cam on", "thank", "tks")
THANKS_UP = "Cảm ơn bạn! Góp ý đã được ghi nhận."
THANKS_DOWN = "Cảm ơn bạn! Điều phối viên sẽ rà soát lại câu trả lời này."
NOTHING_UNANSWERED = "Chưa có câu hỏi nào mà trợ lý chưa trả lời được."
UNKNOWN_COMMAND = "Tôi chưa hiểu lệnh này. Gõ /help để xem các lệnh."
STALE_BUTTON = "Nút này đã cũ hoặc không còn hiệu lực. Gõ /chude để xem lại các chủ đề."


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # shown in the phone's command menu


COMMANDS = (
    Command("start", "Giới thiệu trợ lý"),
    Command("chude", "Xem câu hỏi theo chủ đề"),
    Command("xa", "Tình hình nông thôn mới của xã"),
    Command("daotao", "Hồ sơ đào tạo của tôi"),
    Command("khoahoc", "Các khóa học sắp tới"),
    Command("lienket", "Liên kết tài khoản với hồ sơ cán bộ"),
    Command("huylienket", "Hủy liên kết tài khoản"),
    Command("batthongbao", "Nhận lại thông báo khóa học"),
    Command("help", "Hướng dẫn sử dụng"),
)
# Coordinator commands are not in the public menu.
COORDINATOR_COMMANDS = (
    Command("thongbao", "Soạn thông báo khóa học"),
    Command("huythongbao", "Hủy thông báo đang chờ đến giờ gửi"),
    Command("dangkykhoahoc", "Danh sách đăng ký một khóa (gõ kèm mã khóa)"),
    Command("chuatraloi", "Câu hỏi chưa trả lời được"),
    Command("reload", "Nạp lại kho tri thức"),
)


class Assistant:
    def __init__(self, config: Config, knowledge: Knowledge, database: Database) -> None:
        self.config = config
        self.knowledge = knowledge
        self.matcher = Matcher(knowledge, config.matching)
        self.db = database
        self.imports = ImportDesk(config, database)
        self.announcements = AnnounceDesk(config, database)

    # --- entry points ----------------------------------------------------------------

    async def message(self, text: str, user: User) -> list[Reply]:
        """A typed message: a command ("/chude", "/xa Bình Lợi") or a question."""
        if text.startswith("/"):
            word, _, args = text.partition(" ")
            return await self.command(word[1:].split("@")[0], args.strip(), user)
        return await self.text(text, user)

    async def command(self, name: str, args: str, user: User) -> list[Reply]:
        data = (self.db, self.config)
        handlers: dict[str, Callable[[str, User], Awaitable[list[Reply]]]] = {
            "start": self._start,
            "help": self._help,
            "chude": self._browse,
            "chuatraloi": self._unanswered,
            "reload": self._reload,
            "lienket": partial(account.ask_contact, *data),
            "huylienket": partial(account.unlink, *data),
            "xa": partial(account.commune, *data),
            "daotao": partial(account.training, *data),
            "khoahoc": partial(account.upcoming_courses, *data),
            "batthongbao": partial(account.subscribe, *data),
            "thongbao": self.announcements.start,
            "dangkykhoahoc": self.announcements.registrations,
            "huythongbao": self.announcements.scheduled,
            "id": self._whoami,
        }
        handler = handlers.get(name.lower())
        return await handler(args, user) if handler else [Reply(UNKNOWN_COMMAND)]

    async def contact(
        self, phone_number: str, contact_user_id: int | None, user: User
    ) -> list[Reply]:
        """A phone number shared with Telegram's contact button."""
        replies = await account.contact(self.db, phone_number, contact_user_id, user)
        return [replace(r, keyboard=MAIN_KEYBOARD) for r in replies]

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

    async def text(self, text: str, user: User) -> list[Reply]:
        if self.announcements.waiting(user):
            return await self.announcements.typed(text, user)
        action = KEYBOARD_ACTIONS.get(text.strip())
        if action:
            return await self.command(action, "", user)
        if account.typed_phone(text):
            return [Reply(account.TYPED_PHONE)]
        if _is_thanks(text):
            return [Reply(YOU_ARE_WELCOME)]
        match = self.matcher.match(text)
        if match.decision != "answer":
            await self._remember_unanswered(match)
        return [self._reply_to_match(match)]

    async def button(
        self, data: str, user: User, message: tuple[int, int] | None = None
    ) -> list[Reply]:
        """A button pressed under `message` (chat id, message id). The data is only a hint
        of what was pressed: every right is checked again from `user`."""
        kind, _, value = data.partition(":")
        if kind == "a" and value in self.knowledge.entries:
            return [self._answer(self.knowledge.entries[value])]
        if kind == "c" and self.knowledge.category(value):
            return [self._category(value)]
        if kind == "cats":
            return [self._categories()]
        if kind == "tb":
            return await self.announcements.button(value, user, message)
        if kind == "bc":
            return await self.announcements.cancel(value, user)
        if kind == "reg" and value:
            return await self.announcements.register(value, user)
        if kind == "unsub":
            return await self.announcements.unsubscribe(user)
        if kind == "imp":
            token, _, choice = value.rpartition(":")
            return await self.imports.answer(token, choice, user)
        if kind == "x" and value.isdigit():
            return await account.commune_by_code(self.db, int(value)) or [Reply(STALE_BUTTON)]
        if kind == "fb":
            entry_id, _, vote = value.rpartition(":")
            if entry_id in self.knowledge.entries and vote in ("0", "1"):
                await self.db.run(feedback.record_vote, user.id, entry_id, int(vote), _now())
                return [Reply(THANKS_UP if vote == "1" else THANKS_DOWN, toast=True)]
        return [Reply(STALE_BUTTON)]

    # --- replies ---------------------------------------------------------------------

    async def _start(self, _args: str, user: User) -> list[Reply]:
        name = f" {escape(user.first_name)}" if user.first_name else ""
        return [Reply(GREETING.format(name=name), keyboard=MAIN_KEYBOARD)]

    async def _whoami(self, _args: str, user: User) -> list[Reply]:
        """One's own Telegram id: what a coordinator gives to be listed in the config."""
        role = "điều phối viên" if self.config.is_coordinator(user.id) else "người dùng"
        return [Reply(f"Mã Telegram của bạn: <code>{user.id}</code> (vai: {role}).")]

    async def _help(self, _args: str, user: User) -> list[Reply]:
        if not self.config.is_coordinator(user.id):
            return [Reply(HELP)]
        lines = [f"/{c.name} – {c.description.lower()}" for c in COORDINATOR_COMMANDS]
        extra = "\n".join(["", "<b>Dành cho điều phối viên</b>", *lines, COORDINATOR_FILES])
        return [Reply(HELP + "\n" + extra)]

    async def _browse(self, _args: str, _user: User) -> list[Reply]:
        return [self._categories()]

    async def _reload(self, _args: str, user: User) -> list[Reply]:
        """Reload the FAQ from disk; an invalid edit leaves the running one in place."""
        if not self.config.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
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
        self.knowledge, self.matcher = knowledge, matcher
        return [
            Reply(
                f"Đã nạp lại kho tri thức: {len(knowledge.entries)} mục "
                f"trong {len(knowledge.categories)} chủ đề."
            )
        ]

    def _load(self, directory: Path) -> tuple[Knowledge, Matcher]:
        knowledge = load_knowledge(directory)
        return knowledge, Matcher(knowledge, self.config.matching)

    async def _unanswered(self, _args: str, user: User) -> list[Reply]:
        if not self.config.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
        items = await self.db.run(feedback.top_unanswered, 20)
        if not items:
            return [Reply(NOTHING_UNANSWERED)]
        lines = ["<b>Câu hỏi trợ lý chưa trả lời được</b> (nhiều lần hỏi nhất trước):", ""]
        for number, item in enumerate(items, 1):
            last = dt.datetime.fromisoformat(item.last_seen).strftime("%d/%m/%Y")
            lines.append(f"{number}. «{escape(item.example)}» – {item.count} lần, gần nhất {last}")
        return [Reply("\n".join(lines))]

    async def _remember_unanswered(self, match: Match) -> None:
        """Best effort: a question is still answered "no answer" if it cannot be stored."""
        normalized = " ".join(self.matcher.query_tokens(match.question))
        if not normalized:
            return
        try:
            await self.db.run(
                feedback.record_unanswered,
                normalized,
                match.question.strip(),
                match.decision,
                _now(),
            )
        except sqlite3.Error:
            log.warning("Could not store an unanswered question", exc_info=True)

    def _reply_to_match(self, match: Match) -> Reply:
        if match.decision == "answer":
            return self._answer(self.knowledge.entries[match.id])
        if match.decision == "suggest":
            buttons = [_entry_button(self.knowledge.entries[c.id]) for c in match.suggestions]
            buttons.append(Button("Không phải – xem theo chủ đề", "cats"))
            return Reply("Có phải bạn muốn hỏi:", rows(buttons))
        if not self.matcher.query_tokens(match.question):
            return Reply(GREETING_ONLY)
        return Reply(NO_ANSWER, rows([Button("📚 Xem theo chủ đề", "cats")]))

    def _answer(self, entry: Entry) -> Reply:
        related = [
            _entry_button(self.knowledge.entries[r])
            for r in entry.related
            if r in self.knowledge.entries
        ]
        votes = (
            Button("👍 Hữu ích", f"fb:{entry.id}:1"),
            Button("👎 Chưa đúng", f"fb:{entry.id}:0"),
        )
        return Reply(render_answer(entry), (*rows(related), votes))

    def _categories(self) -> Reply:
        buttons = [Button(c.title, f"c:{c.id}") for c in self.knowledge.categories]
        return Reply("<b>Chọn chủ đề:</b>", rows(buttons))

    def _category(self, category_id: str) -> Reply:
        category = self.knowledge.category(category_id)
        buttons = [_entry_button(self.knowledge.entries[i]) for i in category.entry_ids]
        buttons.append(Button("⬅️ Các chủ đề", "cats"))
        return Reply(f"<b>{escape(category.title)}</b>\nChọn câu hỏi:", rows(buttons))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _is_thanks(text: str) -> bool:
    """A short thank-you ("cảm ơn ad nhiều ạ"), not a question that happens to thank."""
    folded = fold(text.lower())
    return len(folded.split()) <= 6 and any(word in folded for word in _THANKS)


def _entry_button(entry: Entry) -> Button:
    text = entry.question
    if len(text) > _BUTTON_TEXT_LIMIT:
        text = text[: _BUTTON_TEXT_LIMIT - 1].rstrip() + "…"
    return Button(text, f"a:{entry.id}")
