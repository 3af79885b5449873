"""The audit trail: every coordinator action, who did it and when, never deleted.

`record` writes one row with plain SQL and no commit, so it joins the caller's
transaction: the action and its trace are committed together or not at all. The table
refuses UPDATE and DELETE by trigger (migration v8); the application only appends.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.clock import local_time, now_iso
from bot.db import transaction

# What each action is called in the trail, for people reading it.
ACTIONS = {
    "import": "Nhập dữ liệu",
    "broadcast": "Xếp thông báo",
    "broadcast.cancel": "Hủy thông báo",
    "reload": "Nạp lại kho tri thức",
    "role.grant": "Giao vai điều phối viên",
    "role.revoke": "Thu hồi vai điều phối viên",
    "ticket.answer": "Trả lời câu hỏi",
    "phrasing.accept": "Thêm cách hỏi vào FAQ",
    "entry.add": "Thêm mục FAQ",
    "relink": "Hồ sơ chuyển sang tài khoản khác",
    "relink.undo": "Trả hồ sơ về tài khoản cũ",
    "invite": "Tạo lời mời liên kết",
}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: int | None  # Telegram id; None: the server's command line or the bot itself
    actor_label: str
    action: str
    scope: str | None
    detail: dict[str, Any]

    def line(self) -> str:
        """One readable line: when, who, what, the details."""
        who = f"{self.actor_label} ({self.actor})" if self.actor else self.actor_label
        details = "; ".join(f"{k}: {_shown(v)}" for k, v in self.detail.items())
        where = f" [{_scope_words(self.scope)}]" if self.scope else ""
        return f"{local_time(self.at)} — {who} — {ACTIONS.get(self.action, self.action)}{where}" + (
            f" — {details}" if details else ""
        )


def server_actor() -> str:
    """How the server's command line is named in the trail: the account that ran it."""
    try:
        return f"máy chủ ({getpass.getuser()})"
    except (KeyError, OSError):  # no name for this uid, e.g. in a bare container
        return "máy chủ"


def record(
    db: sqlite_utils.Database,
    action: str,
    detail: dict[str, Any],
    *,
    actor: int | None = None,
    actor_label: str = "",
    scope: str | None = None,
) -> None:
    """Append one row inside the caller's transaction (no commit here)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db.conn.execute(
        "INSERT INTO audit (at, actor, actor_label, action, scope, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            now_iso(),
            actor,
            actor_label or (server_actor() if actor is None else ""),
            action,
            scope,
            json.dumps(detail, ensure_ascii=False, sort_keys=True),
        ],
    )


def log(db: sqlite_utils.Database, action: str, detail: dict[str, Any], **who: Any) -> None:
    """`record` in a transaction of its own, for an action whose effect is not in the
    database (a knowledge file written, a reload)."""
    with transaction(db):
        record(db, action, detail, **who)


def entries(
    db: sqlite_utils.Database, since: str | None = None, limit: int | None = None
) -> list[AuditEntry]:
    """Oldest first from `since` (ISO date or time); with `limit`, the newest `limit`."""
    sql = "SELECT id, at, actor, actor_label, action, scope, detail FROM audit"
    params: list[object] = []
    if since:
        sql += " WHERE at >= ?"
        params.append(since)
    if limit is not None:
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?)"
        params.append(limit)
    rows = db.execute(sql + " ORDER BY id", params).fetchall()
    return [AuditEntry(*row[:6], json.loads(row[6])) for row in rows]


def _scope_words(key: str) -> str:
    """'national' -> 'toàn quốc', 'province:79' -> 'tỉnh 79', 'commune:27610' -> 'xã 27610'."""
    kind, _, code = key.partition(":")
    return {"national": "toàn quốc", "province": f"tỉnh {code}", "commune": f"xã {code}"}.get(
        kind, key
    )


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
