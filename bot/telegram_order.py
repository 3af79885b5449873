"""Updates of different chats are handled at once; each chat's stay in order.

python-telegram-bot handles one update at a time by default, so a slow call for one chat
(a held `sendMessage`) made every other chat wait. This processor runs updates of
different chats concurrently — at most `in_flight` at a time — and keeps a chat's updates
in the order they came, so a cadre's dialogue (a line added to a question, the steps of
an announcement) never sees its messages swapped. An update waiting for its chat holds
no slot, so one busy or flooding chat cannot take the others' turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

IN_FLIGHT = 64
_WAITING = 100_000  # updates accepted at once before the updater itself waits


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, in_flight: int = IN_FLIGHT) -> None:
        super().__init__(_WAITING)
        self._slots = asyncio.BoundedSemaphore(in_flight)
        self._chats: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # lock, updates holding it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_of(update)
        lock, users = self._chats.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            users[0] -= 1
            if not users[0]:
                del self._chats[key]  # nobody waits: the chat's lock is not kept

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _chat_of(update: object) -> int:
    """The chat whose order matters (the sender for a button under an inline message)."""
    if isinstance(update, Update):
        if update.effective_chat:
            return update.effective_chat.id
        if update.effective_user:
            return update.effective_user.id
    return 0  # anything else queues behind each other, in order
