"""Invitation links: a Telegram deep link (and its QR code) that opens the bot ready to
link a cadre of one commune in one tap.

The token only says which commune's roster to match: the link is still made from the
cadre's own contact, verified by Telegram, and only to a cadre of that commune. An
unknown or expired token grants nothing. Tokens are random (`secrets`), stored with the
commune, who made them and until when; each creation is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from dataclasses import dataclass

import segno
import sqlite_utils

from bot import audit
from bot.clock import utc_now
from bot.db import transaction

VALID_DAYS = 30
TOKEN_BYTES = 12  # 16 URL-safe characters: Telegram allows up to 64 in a start parameter


@dataclass(frozen=True)
class Invite:
    token: str
    commune_code: int
    commune: str  # the official name with its province: what the cadre is shown
    expires_at: str

    def link(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.token}"


def create(
    db: sqlite_utils.Database,
    commune_code: int,
    *,
    by: int | None,
    by_label: str = "",
    days: int = VALID_DAYS,
) -> Invite:
    """A new invitation for a commune's cadres, valid `days` days, in the trail."""
    now = utc_now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = (now + dt.timedelta(days=days)).isoformat(timespec="seconds")
    with transaction(db):
        db.execute(
            "INSERT INTO invites (token, commune_code, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [token, commune_code, by, now.isoformat(timespec="seconds"), expires],
        )
        detail = {"xã": commune_code, "hết hạn": expires[:10]}
        audit.record(
            db, "invite", detail, actor=by, actor_label=by_label, scope=f"commune:{commune_code}"
        )
    found = valid(db, token)
    assert found is not None
    return found


def valid(db: sqlite_utils.Database, token: str) -> Invite | None:
    """The invitation of `token` if it exists and has not expired; None for anything else."""
    if not token or len(token) > 64:
        return None
    row = db.execute(
        "SELECT i.token, i.commune_code, c.name || ' (' || p.name || ')', i.expires_at"
        " FROM invites i JOIN communes c ON c.code = i.commune_code"
        " JOIN provinces p ON p.code = c.province_code WHERE i.token = ? AND i.expires_at > ?",
        [token, utc_now().isoformat(timespec="seconds")],
    ).fetchone()
    return Invite(*row) if row else None


def used(db: sqlite_utils.Database, token: str) -> None:
    with transaction(db):
        db.execute("UPDATE invites SET uses = uses + 1 WHERE token = ?", [token])


def qr_png(link: str) -> bytes:
    """The link as a QR code image, large enough to scan from a printed page or a screen."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()
