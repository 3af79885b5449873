"""Sends the outbox (bot.outbox) in the background of the running bot: ticket cards to
coordinators, their answers to cadres.

Each message is marked `sending` before the call and `sent` after it. `RetryAfter` waits
as long as Telegram asks; network errors and 5xx are retried with a backoff up to a
minute, MAX_ATTEMPTS times; `Forbidden` (the person blocked the bot) and `BadRequest`
are recorded and not retried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import outbox
from bot.clock import utc_now
from bot.db import Database
from bot.loops import keep_running
from bot.outbox import MAX_ATTEMPTS, Message
from bot.telegram_send import send_replies

log = logging.getLogger(__name__)

BACKOFF_MAX = 60.0


class OutboxWorker:
    def __init__(
        self,
        bot: Bot,
        database: Database,
        poll_seconds: float = 1.0,
        retry_first_seconds: float = 0.5,
        housekeeping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.db = database
        self.poll_seconds = poll_seconds
        self.retry_first_seconds = retry_first_seconds
        self.housekeeping = housekeeping  # e.g. announcing long-open tickets again

    async def run(self) -> None:
        await keep_running(self._turn, self.poll_seconds, "An outbox step")

    async def _turn(self) -> bool:
        if self.housekeeping:
            await self.housekeeping()
        return await self.step()

    async def step(self) -> bool:
        """Send what is due; False when nothing was."""
        batch = await self.db.run(outbox.due)
        for message in batch:
            await self._send(message)
        return bool(batch)

    async def _send(self, message: Message) -> None:
        attempts = message.attempts
        await self._mark(message, "sending")
        while True:
            try:
                sent = await send_replies(self.bot, message.chat_id, [message.reply])
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (Forbidden, BadRequest) as exc:
                status = "blocked" if isinstance(exc, Forbidden) else "failed"
                log.warning("Outbox message %s not delivered: %s", message.id, exc.message)
                await self._mark(message, status, error=exc.message)
            except NetworkError as exc:  # timeouts, dropped connections, 5xx
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    await self._mark(message, "failed", error=exc.message, attempted=True)
                    return
                await self._mark(message, "sending", error=exc.message, attempted=True)
                backoff = self.retry_first_seconds * 2 ** (attempts - 1)
                await asyncio.sleep(min(backoff, BACKOFF_MAX))
                continue
            except TelegramError as exc:
                await self._mark(message, "failed", error=exc.message)
            else:
                # The last part carries the buttons: a reply to it finds the ticket.
                await self._mark(message, "sent", sent[-1].message_id, attempted=True)
            return

    async def _mark(
        self,
        message: Message,
        status: str,
        telegram_message_id: int | None = None,
        error: str | None = None,
        attempted: bool = False,
    ) -> None:
        now = utc_now().isoformat(timespec="seconds")
        await self.db.run(
            outbox.mark, message.id, status, now, telegram_message_id, error, attempted
        )


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
