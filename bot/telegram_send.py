"""Turning `Reply` objects into Telegram messages: shared by the handlers and the worker."""

from __future__ import annotations

from functools import lru_cache

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode

from bot.replies import Reply
from bot.telegram_html import split_message

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def send_replies(bot: Bot, chat_id: int, replies: list[Reply]) -> list[Message]:
    """Each reply as one or more messages (split under the limit); buttons on the last."""
    sent = []
    for reply in replies:
        parts = split_message(reply.text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent.append(
                await bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup(reply) if last else None,
                    # Only a link can be previewed; without one the option is dead weight.
                    link_preview_options=NO_PREVIEW if "http" in part else None,
                )
            )
    return sent


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
