"""Per-user flood control: a token bucket for each sender.

A cadre may send a burst of messages (BURST) and then one every REFILL_SECONDS; beyond
that, messages are dropped before any work is done, with one polite warning per flood,
so one sender cannot slow the assistant down for everyone else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

BURST = 12
REFILL_SECONDS = 1.0
Verdict = Literal["pass", "warn", "drop"]


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class FloodGuard:
    def __init__(
        self,
        burst: int = BURST,
        refill_seconds: float = REFILL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def check(self, user_id: int) -> Verdict:
        """'pass' to handle the message, 'warn' to say "slow down" once, 'drop' to ignore."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
            self._forget_idle(now)
        bucket.tokens = min(
            self.burst, bucket.tokens + (now - bucket.updated) / self.refill_seconds
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return "pass"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"

    def _forget_idle(self, now: float) -> None:
        """Drop full buckets now and then, so the table does not grow with every user."""
        if len(self._buckets) < 10_000:
            return
        idle = self.burst * self.refill_seconds
        for user_id in [u for u, b in self._buckets.items() if now - b.updated > idle]:
            del self._buckets[user_id]
