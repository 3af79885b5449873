"""Time as the programme counts it: UTC in storage, Vietnam time (UTC+7, no DST) for people."""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def vietnam_today() -> dt.date:
    return utc_now().astimezone(VIETNAM).date()
