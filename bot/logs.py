"""Logging without secrets: the bot token and phone numbers are masked in every line,
tracebacks included, whatever library wrote them."""

from __future__ import annotations

import logging
import re

from bot.phone import mask_phone

_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)\d{9,10}(?!\d)")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(FORMAT)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


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
    # httpx logs every request URL at INFO, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _plus84(number: str) -> str:
    digits = number.lstrip("+")
    return "+84" + digits[2:] if digits.startswith("84") else "+84" + digits[1:]
