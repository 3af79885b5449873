"""Sends durable broadcasts at a steady pace, in the background of the running bot.

One message is in flight at a time, paced to `rate_per_second`: interactive replies are
never queued behind a broadcast, and a process killed mid-broadcast has at most that
one message to send again (see bot.broadcasts). Telegram's answers decide each
delivery: `RetryAfter` pauses the whole broadcast for as long as asked, `Forbidden`
(blocked, deactivated) unsubscribes the cadre, `BadRequest` records the error, and
network errors or 5xx are retried with backoff a bounded number of times (MAX_ATTEMPTS).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import broadcasts, views
from bot.broadcasts import Broadcast, Delivery
from bot.clock import VIETNAM, utc_now
from bot.db import Database
from bot.loops import keep_running
from bot.replies import Button, Reply, rows
from bot.telegram_send import NO_PREVIEW, markup

log = logging.getLogger(__name__)

# A network error or 5xx is nearly always Telegram's, not the recipient's: the same
# message is retried with a backoff that doubles up to a minute, so an outage of about
# five minutes costs nobody their message. Only then is it recorded as failed.
MAX_ATTEMPTS = 12
BACKOFF_MAX = 60.0
BATCH = 200  # deliveries read from the database at a time


def announcement_buttons(course_code: str | None) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button("✅ Đăng ký tham gia", f"reg:{course_code}")] if course_code else []
    buttons.append(Button("🔕 Không nhận thông báo", "unsub"))
    return rows(buttons)


class BroadcastWorker:
    def __init__(
        self,
        bot: Bot,
        database: Database,
        rate_per_second: float,
        poll_seconds: float = 2.0,
        progress_seconds: float = 3.0,
        retry_first_seconds: float = 0.5,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.bot = bot
        self.db = database
        self.interval = 1.0 / rate_per_second
        self.poll_seconds = poll_seconds
        self.progress_seconds = progress_seconds
        self.retry_first_seconds = retry_first_seconds
        self.clock = clock
        self._reminders_day: dt.date | None = None

    async def run(self) -> None:
        """Forever: make the day's reminders, then send whatever broadcast is due."""
        await keep_running(self.step, self.poll_seconds, "A broadcast step")

    async def step(self) -> bool:
        """Send one due broadcast to the end; False when nothing was due."""
        now = self.clock()
        today = now.astimezone(VIETNAM).date()
        if self._reminders_day != today:
            await self.db.run(broadcasts.create_reminders, views.course_reminder, today, now)
            self._reminders_day = today
        broadcast = await self.db.run(broadcasts.due_broadcast, now)
        if broadcast is None:
            return False
        await self.send(broadcast)
        return True

    async def send(self, broadcast: Broadcast) -> None:
        loop = asyncio.get_running_loop()
        reply_markup = markup(Reply("", announcement_buttons(broadcast.course_code)))
        next_at = last_report = loop.time()
        while batch := await self.db.run(broadcasts.next_deliveries, broadcast.id, BATCH):
            for delivery in batch:
                if (delay := next_at - loop.time()) > 0:
                    await asyncio.sleep(delay)
                await self._deliver(broadcast, delivery, reply_markup)
                next_at = max(next_at + self.interval, loop.time())
                if loop.time() - last_report >= self.progress_seconds:
                    await self._report(broadcast, final=False)
                    last_report = loop.time()
        await self.db.run(broadcasts.finish, broadcast.id, self.clock())
        await self._report(broadcast, final=True)

    async def _deliver(self, broadcast: Broadcast, delivery: Delivery, reply_markup) -> None:
        mark = self._marker(broadcast.id, delivery.cadre_id)
        await mark("sending")
        attempts = delivery.attempts
        while True:
            try:
                await self.bot.send_message(
                    delivery.chat_id,
                    broadcast.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=reply_markup,
                    link_preview_options=NO_PREVIEW,
                )
            except RetryAfter as exc:
                pause = _seconds(exc.retry_after)
                log.warning(
                    "Telegram asked to wait %.0f s; broadcast %s paused", pause, broadcast.id
                )
                await asyncio.sleep(pause)
                continue
            except Forbidden as exc:
                await mark("blocked", exc.message)
            except BadRequest as exc:
                await mark("failed", exc.message)
            except NetworkError as exc:  # timeouts, dropped connections, 5xx
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    await mark("failed", exc.message, attempted=True)
                    return
                await mark("sending", exc.message, attempted=True)
                backoff = self.retry_first_seconds * 2 ** (attempts - 1)
                await asyncio.sleep(min(backoff, BACKOFF_MAX))
                continue
            except TelegramError as exc:
                await mark("failed", exc.message)
            else:
                await mark("sent", attempted=True)
            return

    def _marker(self, broadcast_id: int, cadre_id: int):
        async def mark(status: str, error: str | None = None, attempted: bool = False) -> None:
            await self.db.run(
                broadcasts.mark, broadcast_id, cadre_id, status, self.clock(), error, attempted
            )

        return mark

    async def _report(self, broadcast: Broadcast, final: bool) -> None:
        """Edit the coordinator's preview message with the progress, or the final report."""
        if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
            return
        counts = await self.db.run(broadcasts.progress, broadcast.id)
        text = views.broadcast_progress(broadcast.id, counts, final)
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
                parse_mode=ParseMode.HTML,
            )
        except TelegramError:  # progress is a courtesy; the deliveries are what count
            log.warning("Could not update the progress of broadcast %s", broadcast.id)


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
