"""The coordinator's send time, typed the ways people type it, in Vietnam time."""

from __future__ import annotations

import datetime as dt

from bot.announce import parse_time

NOW = dt.datetime(2026, 11, 26, 22, 0, tzinfo=dt.UTC)  # 05:00 on 27/11 in Vietnam


def test_time_then_day_in_vietnam_time():
    expected = dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.UTC)  # 07:30 on 02/12, UTC+7
    for text in ("07:30 02/12", "7h30 02/12/2026", "gửi lúc 07:30 ngày 02/12", "Lúc 07g30 02/12"):
        assert parse_time(text, NOW) == expected, text


def test_a_day_without_year_in_the_past_means_next_year():
    assert parse_time("08:00 01/01", NOW) == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)


def test_past_impossible_or_garbled_times_are_refused():
    for text in ("04:00 27/11/2026", "25:99 01/01", "07:30 31/02", "mai gửi", "", "07:30"):
        assert parse_time(text, NOW) is None, text
