"""Turning `Reply` objects into Telegram messages: shared by the handlers and the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import lru_cache

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.replies import Attachment, Reply
from bot.telegram_html import split_message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
REPLY_ATTEMPTS = 4  # an answer to a person: three more tries, 0.5 + 1 + 2 s, then give up
RETRY_FIRST_SECONDS = 0.5


async def send_replies(
    bot: Bot, chat_id: int, replies: list[Reply], attempts: int = 1
) -> list[Message]:
    """Each reply as one or more messages (split under the limit); buttons on the last.

    With `attempts` > 1 a message is sent again after a 5xx or a failed connection
    (Telegram did not take it: a part already accepted is never sent again) and after
    `RetryAfter` (as long as asked), with a short backoff; never after a timeout, when
    Telegram may have taken it. The last failure is raised.
    """
    sent = []
    for reply in replies:
        parts = split_message(reply.text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            options = {
                "parse_mode": ParseMode.HTML,
                "reply_markup": markup(reply) if last else None,
                # Only a link can be previewed; without one the option is dead weight.
                "link_preview_options": NO_PREVIEW if "http" in part else None,
            }
            sent.append(await _send_one(bot, chat_id, part, options, attempts))
        for attachment in reply.attachments:
            sent.append(await _send_file(bot, chat_id, attachment, attempts))
    return sent


async def _send_file(bot: Bot, chat_id: int, attachment: Attachment, attempts: int) -> Message:
    """One file, retried like a message (`_retrying`)."""
    file = InputFile(attachment.content, filename=attachment.filename)
    send = bot.send_photo if attachment.photo else bot.send_document
    return await _retrying(lambda: send(chat_id, file), attempts)


async def _send_one(bot: Bot, chat_id: int, text: str, options: dict, attempts: int) -> Message:
    return await _retrying(lambda: bot.send_message(chat_id, text, **options), attempts)


async def _retrying(call: Callable[[], Awaitable[Message]], attempts: int) -> Message:
    for attempt in range(attempts - 1):
        try:
            return await call()
        except (BadRequest, TimedOut):
            # PTB's BadRequest is a NetworkError, but sending again cannot help; after a
            # timeout Telegram may have the message already: sending again could double it.
            raise
        except RetryAfter as exc:
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
        except NetworkError:  # a 5xx, a dropped connection, a timeout
            await asyncio.sleep(RETRY_FIRST_SECONDS * 2**attempt)
    return await call()


@lru_cache(maxsize=2048)  # the same answer's buttons, built once: replies are immutable
def markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.contact_button:
        button = KeyboardButton(reply.contact_button, request_contact=True)
        return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    if reply.keyboard:
        return ReplyKeyboardMarkup([list(row) for row in reply.keyboard], resize_keyboard=True)
    return None
