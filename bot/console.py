"""`ntm-bot chat`: the assistant in a terminal, showing what the bot would send.

Inline buttons and the keys of the persistent keyboard are numbered; typing a number
presses it. Lines can be edited and recalled with the arrow keys (readline).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable

from bot.assistant import Assistant
from bot.normalize import fold
from bot.replies import Reply, User, button_number
from bot.telegram_html import to_plain

CONSOLE_USER = User(1)
EXIT_WORDS = {"/thoat", "/exit", "/quit"}
INTRO = (
    "Trợ lý NTM – trò chuyện trên máy tính. Gõ câu hỏi hoặc điều bạn cần (xã mình đạt mấy "
    "tiêu chí, tôi còn thiếu gì để đạt chuẩn…), một lệnh (/start, /chude, /xa, /daotao, "
    "/help) hoặc số thứ tự của nút để bấm. Gõ /thoat hoặc Ctrl-D để thoát."
)


def chat(
    assistant: Assistant,
    read: Callable[[str], str] | None = None,
    write: Callable[[str], None] = print,
    user: User = CONSOLE_USER,
) -> None:
    write(INTRO)
    if read is None and sys.stdin.isatty():
        _line_editing()
    with asyncio.Runner() as runner:
        _loop(assistant, runner, read or input, write, user)


def _line_editing() -> None:
    """Arrow keys and this session's history for `input`, where the platform has readline.
    Nothing is written to disk: a coordinator's lines may hold phone numbers."""
    with contextlib.suppress(ImportError):  # Windows without pyreadline: plain input works
        import readline

        readline.set_history_length(1000)


def _loop(
    assistant: Assistant,
    runner: asyncio.Runner,
    read: Callable[[str], str],
    write: Callable[[str], None],
    user: User,
) -> None:
    # What each number presses: ("button", callback data) or ("text", a keyboard label).
    pressable: list[tuple[str, str]] = []
    while True:
        try:
            line = read("\nBạn: ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if fold(line.lower()).replace(" ", "") in EXIT_WORDS:
            return
        if not line:
            continue
        number = button_number(line, 3)
        if number is not None and 1 <= number <= len(pressable):
            kind, payload = pressable[number - 1]
            if kind == "button":
                replies = runner.run(assistant.button(payload, user))
            else:
                replies = runner.run(assistant.message(payload, user))
        else:
            replies = runner.run(assistant.message(line, user))
        pressable = []
        for reply in replies:
            write(render(reply, first_number=len(pressable) + 1))
            pressable += [("button", b.data) for row in reply.buttons for b in row]
            pressable += [("text", label) for row in reply.keyboard for label in row]


def render(reply: Reply, first_number: int = 1) -> str:
    """A reply as plain text, its inline buttons and keyboard keys numbered."""
    lines = ["", "Trợ lý:", to_plain(reply.text)]
    number = first_number
    for row in reply.buttons:
        for button in row:
            lines.append(f"  [{number}] {button.text}")
            number += 1
    if reply.contact_button:
        lines.append(f"  [{reply.contact_button}] (nút này chỉ có trên Telegram)")
    for attachment in reply.attachments:
        kind = "ảnh" if attachment.photo else "tệp"
        size = f"{len(attachment.content):,}".replace(",", ".")
        lines.append(f"  [Đính kèm {kind}: {attachment.filename}, {size} byte]")
    if reply.keyboard:
        keys = []
        for row in reply.keyboard:
            for label in row:
                keys.append(f"[{number}] {label}")
                number += 1
        lines.append("  Bàn phím: " + "  ".join(keys))
    return "\n".join(lines)
