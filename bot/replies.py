"""What the assistant says, independent of Telegram: text plus buttons.

The Telegram layer turns a `Reply` into `send_message` calls; the console chat prints
it with numbered buttons. Both therefore show exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Telegram refuses callback data over 64 bytes.
CALLBACK_DATA_LIMIT = 64


@dataclass(frozen=True)
class Button:
    text: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"callback data too long: {self.data!r}")


@dataclass(frozen=True)
class Attachment:
    """A file sent after the reply's text: a picture (shown in the chat) or a document."""

    filename: str
    content: bytes
    photo: bool = False


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram HTML
    buttons: tuple[tuple[Button, ...], ...] = ()  # inline buttons, row by row
    keyboard: tuple[tuple[str, ...], ...] = field(default=())  # the persistent reply keyboard
    toast: bool = False  # a short acknowledgement of a button press, not a new message
    contact_button: str | None = None  # label of a one-time "share my phone number" button
    attachments: tuple[Attachment, ...] = ()  # sent after the text, in order


@dataclass(frozen=True)
class User:
    id: int
    first_name: str = ""


def short_label(text: str, limit: int = 60) -> str:
    """A button's text: cut at a word boundary with "…", so no word is cut in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-(") + "…"


def rows(buttons: list[Button], per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))


def button_number(text: str, digits: int = 12) -> int | None:
    """A number in button data, read strictly (ASCII digits, bounded): None otherwise, so
    a forged or oversized value never reaches a lookup."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def excerpt(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with "…" (plain text, not escaped)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
