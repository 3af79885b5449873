"""Logging without secrets: the bot token and phone numbers are masked in every line,
tracebacks included, whatever library wrote them. And logging that no failure can turn
into a flood: the same message from the same place is written at most a few times a
minute, then counted, so a fault that repeats for hours cannot fill the disk."""

from __future__ import annotations

import logging
import re
import time

from bot.phone import mask_phone

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)\d{9,10}(?!\d)")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(FORMAT)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


class RepeatFilter(logging.Filter):
    """Lets a message (by logger, place and template) through `burst` times per `window`
    seconds; the next one written after a quiet spell says how many were held back."""

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple[str, str, int], list[float]] = {}  # key -> [start, count, held]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.pathname, record.lineno)
        now = time.monotonic()
        start, count, held = self._seen.get(key, (now, 0, 0))
        if now - start >= self.window:
            start, count = now, 0
        count += 1
        if count > self.burst:
            self._seen[key] = [start, count, held + 1]
            return False
        if held:
            record.msg = f"{record.msg} (and {held} more like it held back)"
        self._seen[key] = [start, count, 0]
        if len(self._seen) > 10_000:  # places, not messages: this stays small
            self._seen.clear()
        return True


def mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return _PHONE.sub(lambda m: mask_phone(_plus84(m[0])), text)


def setup(secrets: list[str] | None = None) -> None:
    """Log to stderr at INFO, masked; call again once the token is known."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(MaskingFormatter(secrets or []))
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
    # httpx logs every request URL at INFO, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _plus84(number: str) -> str:
    digits = number.lstrip("+")
    return "+84" + digits[2:] if digits.startswith("84") else "+84" + digits[1:]
