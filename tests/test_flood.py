"""Flood control: bursts pass, a flood is warned once and then dropped, time refills."""

from __future__ import annotations

from bot.flood import FloodGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_warning_then_silence_then_refill():
    clock = Clock()
    guard = FloodGuard(burst=3, refill_seconds=1.0, clock=clock)
    assert [guard.check(1) for _ in range(6)] == ["pass", "pass", "pass", "warn", "drop", "drop"]
    assert guard.check(2) == "pass"  # another user is not affected
    clock.now = 1.0
    assert guard.check(1) == "pass"
    assert guard.check(1) == "warn"  # a new flood gets its own warning


def test_a_steady_sender_is_never_slowed():
    clock = Clock()
    guard = FloodGuard(burst=3, refill_seconds=1.0, clock=clock)
    for second in range(100):
        clock.now = float(second)
        assert guard.check(7) == "pass"
