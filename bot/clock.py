"""Time as the programme counts it: UTC in storage, Vietnam time (UTC+7, no DST) for people."""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def vietnam_today() -> dt.date:
    return utc_now().astimezone(VIETNAM).date()


def now_iso() -> str:
    """Now, as stored: UTC, ISO 8601 to the second."""
    return utc_now().isoformat(timespec="seconds")


def local_time(iso: str) -> str:
    """A stored moment as people read it: '09:31 01/12/2026', Vietnam time."""
    return dt.datetime.fromisoformat(iso).astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")


def local_date(iso: str) -> str:
    """A stored moment's day, Vietnam time: '01/12/2026'."""
    return dt.datetime.fromisoformat(iso).astimezone(VIETNAM).strftime("%d/%m/%Y")
