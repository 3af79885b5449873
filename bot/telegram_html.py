"""The subset of HTML that Telegram accepts in `parse_mode=HTML`, checked and rendered.

Telegram rejects a whole message for one unknown tag, an unbalanced tag or a bare `<`
or `&`, so the knowledge validator checks answers with the same rules the bot relies on.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = frozenset({"b", "i", "u", "a", "code", "pre", "blockquote"})
MESSAGE_LIMIT = 4096

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_HREF = re.compile(r"""^\s+href\s*=\s*"[^"<>]*"\s*$""")


def check(text: str) -> list[str]:
    """Every reason Telegram would reject `text`, in Vietnamese; empty when it is fine."""
    problems: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            match = _TAG.match(text, pos)
            if not match:
                problems.append(f"ký tự '<' chưa được viết thành &lt; (vị trí {pos})")
                pos += 1
                continue
            closing, name, attrs = match[1] == "/", match[2].lower(), match[3]
            if name not in ALLOWED_TAGS:
                problems.append(f"thẻ <{name}> không được Telegram hỗ trợ")
            elif closing:
                if not stack or stack[-1] != name:
                    problems.append(f"thẻ đóng </{name}> không khớp với thẻ mở")
                else:
                    stack.pop()
            elif name == "a" and not _HREF.match(attrs):
                problems.append('thẻ <a> cần đúng một thuộc tính href="…"')
                stack.append(name)
            elif name != "a" and attrs.strip():
                problems.append(f"thẻ <{name}> không được có thuộc tính")
                stack.append(name)
            else:
                stack.append(name)
            pos = match.end()
        elif ch == "&":
            if not _ENTITY.match(text, pos):
                problems.append(f"ký tự '&' chưa được viết thành &amp; (vị trí {pos})")
            pos += 1
        elif ch == ">":
            problems.append(f"ký tự '>' chưa được viết thành &gt; (vị trí {pos})")
            pos += 1
        else:
            pos += 1
    problems.extend(f"thẻ <{name}> chưa được đóng" for name in reversed(stack))
    return problems


def to_plain(text: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after parsing."""
    return len(to_plain(text).encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split on paragraph boundaries so each part stays within Telegram's limit.

    Parts are measured in raw HTML, which is never shorter than what Telegram counts.
    A single paragraph longer than the limit is cut on line, then word, boundaries.
    """
    parts: list[str] = []
    current = ""
    for para in _pieces(text, limit):
        candidate = f"{current}\n\n{para}" if current else para
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = para
    if current:
        parts.append(current)
    return parts or [""]


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for para in text.strip().split("\n\n"):
        if len(para) <= limit:
            pieces.append(para)
            continue
        for line in para.split("\n"):
            while len(line) > limit:
                cut = line.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                pieces.append(line[:cut])
                line = line[cut:].lstrip()
            pieces.append(line)
    return pieces
