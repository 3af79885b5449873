"""Replies go out in the background, in order per chat, so no chat waits on another.

Updates are still handled one at a time — the assistant's work is short and runs without
contention — but sending a reply is handed to a per-chat chain of tasks, waited for only a
quarter of a second: while Telegram holds one chat's `sendMessage`, the next updates are
handled and other chats answered. Each chat's messages leave in the order they were
made; at most `in_flight` sends are in the air. A send that fails is logged and the
person gets one apology, as a handler's error would have given them.

(Handling updates concurrently was measured too, with python-telegram-bot's
`BaseUpdateProcessor`: it cost 40% of the throughput in CPU contention between the event
loop and the database thread, for the same effect on a slow chat.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram.error import TimedOut

log = logging.getLogger(__name__)

IN_FLIGHT = 64
PATIENCE = 0.25  # seconds a reply is waited for before the next update is handled

Job = Callable[[], Awaitable[object]]


class ChatSender:
    def __init__(self, apologise: Callable[[int], Awaitable[object]], in_flight: int = IN_FLIGHT):
        self._apologise = apologise  # what a person gets when their reply could not go out
        self._slots = asyncio.Semaphore(in_flight)
        self._tails: dict[int, asyncio.Task] = {}

    async def send(self, chat_id: int, job: Job) -> None:
        """Run `job` after the chat's earlier sends; wait for it only `PATIENCE` seconds.

        A reply that goes out at once is awaited as if sent inline (nothing overlaps, which
        keeps the event loop and the database thread from contending); a slow one carries
        on in the background while the next update is handled.
        """
        task = asyncio.create_task(self._run(chat_id, self._tails.get(chat_id), job))
        self._tails[chat_id] = task
        task.add_done_callback(lambda done: self._forget(chat_id, done))
        await asyncio.wait([task], timeout=PATIENCE)

    async def drain(self) -> None:
        """Wait for every send in flight (when the bot stops)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))

    async def _run(self, chat_id: int, previous: asyncio.Task | None, job: Job) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own
        async with self._slots:
            try:
                await job()
            except TimedOut as exc:
                # The reply may well have arrived: an apology after it would only confuse.
                log.warning("Telegram did not confirm a reply in time: %s", exc)
            except Exception:
                log.error("Error while handling an update (sending its reply)", exc_info=True)
                try:
                    await self._apologise(chat_id)
                except Exception:  # the apology is best effort; the error is logged
                    log.warning("Could not send the apology message", exc_info=True)

    def _forget(self, chat_id: int, done: asyncio.Task) -> None:
        if self._tails.get(chat_id) is done:
            del self._tails[chat_id]
