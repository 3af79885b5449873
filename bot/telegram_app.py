"""The Telegram side: one place that wires the PTB `Application`, and thin handlers.

Handlers turn an update into a call on the `Assistant` and its `Reply` list into
messages; everything else lives in the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.actions import menu
from bot.assistant import Assistant
from bot.broadcast_worker import BroadcastWorker
from bot.config import Config
from bot.flood import FloodGuard
from bot.loops import keep_running
from bot.outbox_worker import OutboxWorker
from bot.replies import Reply, User
from bot.telegram_bot import SafeBot
from bot.telegram_html import to_plain
from bot.telegram_order import ChatSender
from bot.telegram_send import REPLY_ATTEMPTS, send_replies
from bot.telegram_webhook import run_webhook

log = logging.getLogger(__name__)

SLOW_DOWN = "Bạn gửi hơi nhanh, trợ lý xin phép đợi vài giây rồi trả lời tiếp nhé."
TEXT_ONLY = "Trợ lý chỉ đọc được tin nhắn chữ. Bạn gõ câu hỏi, hoặc bấm /chude để xem theo chủ đề."
PRIVATE_ONLY = "Trợ lý chỉ trả lời trong tin nhắn riêng. Bạn bấm @{name} để nhắn riêng nhé."
SORRY = "Xin lỗi, đã có lỗi khi xử lý tin nhắn này. Bạn vui lòng thử lại sau ít phút."


def build_application(config: Config, assistant: Assistant) -> Application:
    bot = SafeBot(
        config.require_token(),
        base_url=config.telegram.base_url,
        base_file_url=config.telegram.base_file_url,
        # The builder's own sizes: many replies in flight at once, one long poll.
        # A slow answer for one chat no longer holds up the others (bot.telegram_order),
        # so it may take its time rather than time out and leave the reply in doubt.
        request=HTTPXRequest(connection_pool_size=256, read_timeout=20, write_timeout=20),
        get_updates_request=HTTPXRequest(),
        rate_limiter=AIORateLimiter(max_retries=3) if config.telegram.rate_limiter else None,
    )
    app = ApplicationBuilder().bot(bot).post_init(_on_start).post_stop(_on_stop).build()
    app.bot_data["assistant"] = assistant
    app.bot_data["flood"] = FloodGuard()
    app.bot_data["sender"] = ChatSender(lambda chat_id: app.bot.send_message(chat_id, SORRY))

    # Before any handler: a sender who floods is slowed down here, at no cost to others.
    app.add_handler(TypeHandler(Update, on_any_update), group=-1)
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.TEXT, on_message))
    app.add_handler(MessageHandler(private & filters.CONTACT, on_contact))
    app.add_handler(MessageHandler(private & filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, on_other_message))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, on_group_message))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    return app


def run(config: Config, assistant: Assistant) -> None:
    """Run until interrupted: long polling, or a webhook when one is configured."""
    app = build_application(config, assistant)
    webhook = config.telegram.webhook
    if webhook is None:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    else:
        run_webhook(app, webhook)


async def _on_start(app: Application) -> None:
    """Register the command menu and start the broadcast and outbox workers."""
    await app.bot.set_my_commands([BotCommand(s.command, s.description) for s in menu(False)])
    assistant: Assistant = app.bot_data["assistant"]
    assistant.bot_username = app.bot.username  # for invitation links (/moi)
    await _sync_menus(app)
    app.bot_data["roles-task"] = asyncio.create_task(_keep_roles(app), name="roles")
    settings = assistant.config.broadcast
    worker = BroadcastWorker(
        app.bot,
        assistant.db,
        settings.rate_per_second,
        settings.poll_seconds,
        settings.progress_seconds,
        settings.retry_first_seconds,
    )
    app.bot_data["worker"] = asyncio.create_task(worker.run(), name="broadcast-worker")
    # Ticket cards to coordinators, their answers to cadres, the digest (bot.outbox).
    outbox = OutboxWorker(
        app.bot,
        assistant.db,
        retry_first_seconds=settings.retry_first_seconds,
        housekeeping=assistant.housekeeping,
    )
    app.bot_data["outbox"] = asyncio.create_task(outbox.run(), name="outbox-worker")


async def _on_stop(app: Application) -> None:
    await app.bot_data["sender"].drain()
    for name in ("worker", "outbox", "roles-task"):
        task = app.bot_data.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


ROLES_SECONDS = 1.0  # how soon a role changed by `ntm-bot roles` takes effect


async def _keep_roles(app: Application) -> None:
    """Roles changed in the database by another process (`ntm-bot roles`) take effect
    within a second, on a loop of their own that no slow send can hold up; the command
    menus follow (a call to Telegram only for a role that changed)."""
    assistant: Assistant = app.bot_data["assistant"]

    async def turn() -> bool:
        await assistant.db.run(assistant.roles.refresh)
        await _sync_menus(app)
        return False  # wait a second before looking again

    await keep_running(turn, ROLES_SECONDS, "Refreshing the roles")


async def _sync_menus(app: Application) -> None:
    """Coordinators see their own commands too, in their chat's menu only, as their role
    stands (given or removed in the chat or by `ntm-bot roles` while the bot runs)."""
    roles = app.bot_data["assistant"].roles
    shown: dict[int, bool] = app.bot_data.setdefault("menus", {})  # user -> national menu
    wanted = {user_id: roles.is_national(user_id) for user_id in roles.ids()}
    for user_id in sorted(wanted.keys() | shown.keys()):
        if shown.get(user_id) == wanted.get(user_id):
            continue
        scope = BotCommandScopeChat(user_id)
        try:
            if user_id in wanted:
                commands = [
                    BotCommand(s.command, s.description) for s in menu(True, wanted[user_id])
                ]
                await app.bot.set_my_commands(commands, scope=scope)
            else:
                await app.bot.delete_my_commands(scope=scope)
        except TelegramError as exc:  # e.g. a coordinator who has not opened the bot yet
            log.warning("Could not set the coordinator menu for %s: %s", user_id, exc)
        # Once either way: a chat that cannot have a menu is not asked every few seconds.
        if user_id in wanted:
            shown[user_id] = wanted[user_id]
        else:
            shown.pop(user_id, None)


# --- handlers -------------------------------------------------------------------------


async def on_any_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or _assistant(context).roles.is_coordinator(user.id):
        return
    verdict = context.application.bot_data["flood"].check(user.id)
    if verdict == "pass":
        return
    if verdict == "warn" and chat is not None and chat.type == ChatType.PRIVATE:
        await context.bot.send_message(chat.id, SLOW_DOWN)
    raise ApplicationHandlerStop


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    replied = message.reply_to_message
    reply_to = (replied.chat.id, replied.message_id) if replied else None
    await _send(
        context, update, await _assistant(context).message(message.text, _user(update), reply_to)
    )


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    contact = update.effective_message.contact
    replies = await _assistant(context).contact(
        contact.phone_number, contact.user_id, _user(update)
    )
    await _send(context, update, replies)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    document = message.document

    async def fetch() -> bytes:
        return bytes(await (await document.get_file()).download_as_bytearray())

    replies = await _assistant(context).document(
        document.file_name or "tep", document.file_size, message.caption, fetch, _user(update)
    )
    await _send(context, update, replies)


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, locations, polls…: the assistant reads text only."""
    await _send(context, update, [Reply(TEXT_ONLY)])


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group the assistant stays silent unless addressed, then points to a private chat."""
    text = update.effective_message.text
    name = f"@{context.bot.username}".lower()
    if name in text.lower():
        await update.effective_message.reply_text(PRIVATE_ONLY.format(name=context.bot.username))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    message = query.message
    where = (message.chat.id, message.message_id) if message else None
    replies = await _assistant(context).button(query.data or "", _user(update), where)
    toasts = [to_plain(r.text) for r in replies if r.toast]

    async def acknowledge() -> None:
        try:
            await query.answer(toasts[0] if toasts else None)
        except TelegramError as exc:  # it only stops the button's spinner: the reply goes
            log.warning("Could not answer a button press: %s", exc)

    await _send(context, update, [r for r in replies if not r.toast], before=acknowledge)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update is None and isinstance(context.error, NetworkError):
        # A hiccup while polling: the updater retries by itself; no traceback needed.
        log.warning("Network problem while fetching updates: %s", context.error)
        return
    if isinstance(context.error, TimedOut):
        # The reply may well have arrived: an apology after it would only confuse.
        log.warning("Telegram did not confirm a reply in time: %s", context.error)
        return
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, SORRY)
        except Exception:  # the apology is best effort; the error is already logged
            log.warning("Could not send the apology message", exc_info=True)


# --- plumbing -------------------------------------------------------------------------


def _assistant(context: ContextTypes.DEFAULT_TYPE) -> Assistant:
    return context.application.bot_data["assistant"]


def _user(update: Update) -> User:
    user = update.effective_user
    return User(user.id, user.first_name or "") if user else User(0)


async def _send(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    replies: list[Reply],
    before: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Hand the replies to the chat's send chain (bot.telegram_order): the next update is
    handled meanwhile. `before`: a call to make first, in the same turn."""
    # A button under an inline message has no chat: the private chat is the user's id.
    chat = update.effective_chat or update.effective_user
    if chat is None:
        return
    bot = update.get_bot()

    async def job() -> None:
        if before is not None:
            await before()
        if replies:
            await send_replies(bot, chat.id, replies, attempts=REPLY_ATTEMPTS)

    sender: ChatSender = context.application.bot_data["sender"]
    await sender.send(chat.id, job)
