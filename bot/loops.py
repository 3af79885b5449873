"""The one loop of the bot's background work (broadcasts, the outbox, roles)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def keep_running(step: Callable[[], Awaitable[bool]], poll_seconds: float, what: str) -> None:
    """Forever: `step()`, at once again while it finds work (True), after `poll_seconds`
    when it finds none or fails. The loop outlives any one bad item, a locked database or
    an outage; cancelling the task stops it."""
    while True:
        try:
            busy = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying", what)
            busy = False
        if not busy:
            await asyncio.sleep(poll_seconds)
