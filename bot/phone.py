"""Vietnamese phone numbers, stored in one form: +84 followed by the national number."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-()]")


def normalize_phone(text: str) -> str | None:
    """'0912 345 678', '84912345678', '+84 912345678' -> '+84912345678'; None if not a number.

    A national number is 9 digits (mobile) or 10 (landline with area code) after the
    trunk prefix 0 or the country code 84.
    """
    # A leading apostrophe is a spreadsheet's mark of text (our CSV exports add it).
    digits = _SEPARATORS.sub("", text.strip().lstrip("'"))
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("84"):
            return None
    if not (digits.isascii() and digits.isdigit()):
        return None
    if digits.startswith("84") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0") and len(digits) in (10, 11):
        national = digits[1:]
    else:
        return None
    return None if national.startswith("0") else f"+84{national}"


def mask_phone(phone: str) -> str:
    """'+84912345678' -> '+84912***678': enough to recognise, not enough to misuse."""
    return phone[:6] + "***" + phone[-3:] if len(phone) > 9 else "***"
