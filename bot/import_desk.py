"""Imports sent as documents in the chat: preview, then confirm with a button.

Only coordinators may import, and only the coordinator who sent a file may confirm
its preview: both are checked against the sender's Telegram id at every step, never
taken from the button's data. Previews live in memory for a while; after a restart
the coordinator sends the file again.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot import importer
from bot.config import Config
from bot.db import Database
from bot.replies import Button, Reply, User, rows
from bot.roles import Roles
from bot.spreadsheet import SpreadsheetError, read_sheet
from bot.telegram_html import escape

MAX_BYTES = 5 * 1024 * 1024
PREVIEW_TTL = 30 * 60  # seconds a preview can be confirmed
ERRORS_SHOWN = 20
SUFFIXES = (".xlsx", ".csv")
COORDINATORS_ONLY = "Chỉ điều phối viên mới được gửi tệp dữ liệu cho trợ lý."
EXPIRED = "Bản xem trước này đã hết hạn hoặc không phải của bạn. Bạn gửi lại tệp nhé."


@dataclass(frozen=True)
class Pending:
    user_id: int
    filename: str
    plan: importer.ImportPlan
    created: float


class ImportDesk:
    def __init__(self, config: Config, database: Database, roles: Roles) -> None:
        self.config = config
        self.db = database
        self.roles = roles
        self._pending: dict[str, Pending] = {}

    async def receive(
        self,
        filename: str,
        size: int | None,
        caption: str | None,
        fetch: Callable[[], Awaitable[bytes]],
        user: User,
    ) -> list[Reply]:
        """A document from `user`; `fetch` downloads it, and is called only if allowed."""
        if not self.roles.is_coordinator(user.id):
            return [Reply(COORDINATORS_ONLY)]
        suffix = Path(filename).suffix.lower()
        if suffix not in SUFFIXES:
            return [Reply("Trợ lý chỉ nhận tệp .xlsx hoặc .csv theo mẫu (ntm-bot template).")]
        if size is not None and size > MAX_BYTES:
            return [Reply("Tệp lớn quá 5 MB. Bạn chia nhỏ tệp rồi gửi lại.")]
        data = await fetch()
        if len(data) > MAX_BYTES:
            return [Reply("Tệp lớn quá 5 MB. Bạn chia nhỏ tệp rồi gửi lại.")]
        try:
            sheet = await asyncio.to_thread(_read, data, suffix)
        except SpreadsheetError as exc:
            return [Reply(f"Không đọc được tệp {escape(filename)}: {escape(str(exc))}")]
        kind = _kind_from_caption(caption) or _kind_from_headers(sheet.headers)
        if kind is None:
            return [Reply(_ASK_KIND)]
        scope = self.roles.scope_of(user.id)
        plan = await self.db.run(
            lambda db: importer.plan_import(
                db, kind, sheet.rows, sheet.headers, sheet.header_row, scope=scope
            )
        )
        title = escape(importer.SPECS[kind].title)
        if plan.errors:
            shown = importer.format_errors(plan.errors, limit=ERRORS_SHOWN)
            return [
                Reply(
                    f"<b>{escape(filename)}</b> ({title}): có {len(plan.errors)} lỗi, "
                    f"chưa ghi gì.\n\n{escape(shown)}\n\nSửa rồi gửi lại tệp."
                )
            ]
        self._forget_expired()
        token = secrets.token_urlsafe(9)
        self._pending[token] = Pending(user.id, filename, plan, time.monotonic())
        buttons = [
            Button("✅ Ghi vào cơ sở dữ liệu", f"imp:{token}:ok"),
            Button("✖️ Hủy", f"imp:{token}:no"),
        ]
        total = plan.added + plan.changed + plan.unchanged
        return [
            Reply(
                f"<b>Xem trước {escape(filename)}</b> ({title})\n"
                f"{total} dòng hợp lệ: thêm {plan.added}, cập nhật {plan.changed}, "
                f"giữ nguyên {plan.unchanged}.\n\nChưa có gì được ghi. Bấm nút để xác nhận.",
                rows(buttons, per_row=2),
            )
        ]

    async def answer(self, token: str, choice: str, user: User) -> list[Reply]:
        """The coordinator's button on a preview: write it, or drop it."""
        pending = self._pending.get(token)
        if (
            pending is None
            or pending.user_id != user.id
            or self.roles.scope_of(user.id) != pending.plan.scope  # a role changed meanwhile
            or time.monotonic() - pending.created > PREVIEW_TTL
        ):
            return [Reply(EXPIRED)]
        del self._pending[token]
        if choice != "ok":
            return [Reply(f"Đã hủy, không ghi gì từ {escape(pending.filename)}.")]
        try:
            counts = await self.db.run(
                importer.apply_import, pending.plan, pending.filename, user.id, user.first_name
            )
        except importer.ImportRejected as exc:  # the database changed since the preview
            shown = importer.format_errors(exc.errors, limit=ERRORS_SHOWN)
            return [Reply(f"Chưa ghi gì: dữ liệu đã thay đổi từ lúc xem trước.\n\n{escape(shown)}")]
        return [
            Reply(
                f"Đã nhập {escape(pending.filename)}: thêm {counts.added}, "
                f"cập nhật {counts.changed}, giữ nguyên {counts.unchanged}."
            )
        ]

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._pending.items() if now - p.created > PREVIEW_TTL]:
            del self._pending[token]


_ASK_KIND = (
    "Trợ lý chưa nhận ra đây là loại dữ liệu nào. Bạn gửi lại tệp, ghi ở phần chú thích "
    "một trong các từ: <code>xa</code>, <code>tieuchi</code>, <code>canbo</code>, "
    "<code>khoahoc</code>, <code>daotao</code> – và dùng đúng tiêu đề cột của tệp mẫu."
)


def _read(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return read_sheet(path)


def _kind_from_caption(caption: str | None) -> str | None:
    if not caption:
        return None
    return importer.kind_named(caption)


def _kind_from_headers(headers: list[str]) -> str | None:
    """The one kind whose required columns are all present, preferring the fullest match."""
    given = {importer.fold_key(h) for h in headers}
    fits = []
    for kind, spec in importer.SPECS.items():
        required = {importer.fold_key(c.header) for c in spec.columns if c.required}
        if required <= given:
            known = {importer.fold_key(c.header) for c in spec.columns}
            fits.append((len(given & known) - len(given - known), kind))
    fits.sort(reverse=True)
    if not fits or (len(fits) > 1 and fits[0][0] == fits[1][0]):
        return None
    return fits[0][1]
