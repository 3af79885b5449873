"""The database owner: schema versions, WAL, and access from async code."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from bot import feedback
from bot.db import SCHEMA_VERSION, Database, DatabaseError


def test_new_database_is_at_latest_version_in_wal_mode(tmp_path):
    path = tmp_path / "ntm.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "ntm.sqlite3"
    db = Database(path)
    db.call(feedback.record_unanswered, "gia lua", "giá lúa?", "none", "2026-11-26T10:00:00+00:00")
    db.close()
    db = Database(path)
    [item] = db.call(feedback.open_unanswered, 5)
    db.close()
    assert (item.normalized, item.count) == ("gia lua", 1)


def test_database_from_a_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "ntm.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(DatabaseError, match="phiên bản mới hơn"):
        Database(path)


def test_not_a_database_is_refused_clearly(tmp_path):
    path = tmp_path / "ntm.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="Không mở được cơ sở dữ liệu"):
        Database(path)


async def test_async_callers_share_one_owner_thread(tmp_path):
    import asyncio

    db = Database(tmp_path / "ntm.sqlite3")
    now = "2026-11-26T10:00:00+00:00"
    await asyncio.gather(
        *(db.run(feedback.record_unanswered, "cau hoi", "câu hỏi", "none", now) for _ in range(50))
    )
    [item] = await db.run(feedback.open_unanswered, 5)
    db.close()
    assert item.count == 50


def test_a_first_version_database_migrates_in_place(tmp_path):
    from bot.db import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    old = sqlite_utils.Database(path)
    old.conn.execute("BEGIN")
    with old.conn:
        MIGRATIONS[0](old)
        old.execute("PRAGMA user_version = 1")
    feedback.record_unanswered(old, "gia lua", "giá lúa?", "none", "2026-01-02T03:04:05+00:00")
    old.close()

    db = Database(path)
    version = db.call(lambda d: d.execute("PRAGMA user_version").fetchone()[0])
    [item] = db.call(feedback.open_unanswered, 5)
    communes = db.call(lambda d: d["communes"].count)
    db.close()
    assert version == SCHEMA_VERSION
    assert (item.normalized, item.count) == ("gia lua", 1)  # old data kept
    assert communes == 3321  # the new tables arrived, seeded
