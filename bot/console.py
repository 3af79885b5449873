"""`ntm-bot chat`: the assistant in a terminal, showing what the bot would send."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.assistant import Assistant
from bot.replies import Button, Reply, User
from bot.telegram_html import to_plain

CONSOLE_USER = User(1)
EXIT_WORDS = {"/thoat", "/exit", "/quit"}
INTRO = (
    "Trợ lý NTM – trò chuyện trên máy tính. Gõ câu hỏi, một lệnh (/start, /chude, /xa, "
    "/daotao, /help) hoặc số thứ tự của nút để bấm. Gõ /thoat hoặc Ctrl-D để thoát."
)


def chat(
    assistant: Assistant,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    user: User = CONSOLE_USER,
) -> None:
    write(INTRO)
    with asyncio.Runner() as runner:
        _loop(assistant, runner, read, write, user)


def _loop(
    assistant: Assistant,
    runner: asyncio.Runner,
    read: Callable[[str], str],
    write: Callable[[str], None],
    user: User,
) -> None:
    buttons: list[Button] = []
    while True:
        try:
            line = read("\nBạn: ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line in EXIT_WORDS:
            return
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            replies = runner.run(assistant.button(buttons[int(line) - 1].data, user))
        else:
            replies = runner.run(assistant.message(line, user))
        buttons = []
        for reply in replies:
            write(render(reply, first_number=len(buttons) + 1))
            buttons.extend(b for row in reply.buttons for b in row)


def render(reply: Reply, first_number: int = 1) -> str:
    """A reply as plain text, its inline buttons numbered, its keyboard listed."""
    lines = ["", "Trợ lý:", to_plain(reply.text)]
    number = first_number
    for row in reply.buttons:
        for button in row:
            lines.append(f"  [{number}] {button.text}")
            number += 1
    if reply.contact_button:
        lines.append(f"  [{reply.contact_button}] (nút này chỉ có trên Telegram)")
    if reply.keyboard:
        keys = "  ".join(f"[{label}]" for row in reply.keyboard for label in row)
        lines.append(f"  Bàn phím: {keys}")
    return "\n".join(lines)
