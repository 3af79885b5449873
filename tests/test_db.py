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


def test_an_action_and_its_audit_row_commit_together_or_not_at_all(tmp_path):
    """With the trail made to refuse every row (a trigger, as a full disk would), each
    action fails whole: nothing of it is left in the database."""
    import datetime as dt

    from bot import broadcasts, invites, roles, tickets
    from bot.broadcasts import Audience
    from bot.replies import Reply

    database = Database(tmp_path / "ntm.sqlite3")
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

    def seed(db: sqlite_utils.Database) -> int:
        db.execute(
            "INSERT INTO cadres (phone, full_name, commune_code, telegram_user_id)"
            " VALUES ('+84912000001', 'An', 27610, 701)"
        )
        ticket = tickets.create_draft(db, 701, 701, "hỏi", (), now.isoformat())
        tickets.send(db, ticket, 701, lambda _c: [[900]], lambda t: Reply("thẻ"), now.isoformat())
        db.execute(
            "CREATE TRIGGER no_trail BEFORE INSERT ON audit"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        return ticket

    ticket = database.call(seed)
    held = database.call(roles.Roles.load)
    actions = {
        "broadcast": lambda db: broadcasts.create_broadcast(db, "x", Audience("all"), now),
        "invite": lambda db: invites.create(db, 27610, by=900),
        "role": lambda db: roles.grant(db, held, 555, roles.NATIONAL, by=None),
        "ticket": lambda db: tickets.finish(
            db, ticket, 900, "reply", lambda t: Reply("đáp"), now.isoformat(), "đáp"
        ),
    }
    for action in actions.values():
        with pytest.raises(sqlite3.IntegrityError, match="disk is full"):
            database.call(action)
    left = database.call(
        lambda db: [
            db.execute(sql).fetchone()[0]
            for sql in (
                "SELECT count(*) FROM broadcasts",
                "SELECT count(*) FROM deliveries",
                "SELECT count(*) FROM invites",
                "SELECT count(*) FROM roles",
                "SELECT state FROM tickets",
                "SELECT count(*) FROM outbox",  # the card sent before the trigger, only
            )
        ]
    )
    database.close()
    assert left == [0, 0, 0, 0, "open", 1]


def test_a_commit_that_fails_leaves_no_transaction_open(tmp_path):
    """A COMMIT refused at the end (here a deferred foreign key; in life a full disk) is
    rolled back: the next change is a transaction of its own, not a savepoint in limbo."""
    from bot.db import transaction

    database = Database(tmp_path / "ntm.sqlite3")

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("PRAGMA defer_foreign_keys = ON")
        with transaction(db):
            db.execute("PRAGMA defer_foreign_keys = ON")
            db.execute(
                "INSERT INTO cadres (phone, full_name, commune_code) VALUES ('+84912000001',"
                " 'An', 99999)"  # no such commune: refused only at COMMIT
            )

    with pytest.raises(sqlite3.IntegrityError):
        database.call(broken)

    def after(db: sqlite_utils.Database) -> tuple[bool, int]:
        open_before = db.conn.in_transaction
        with transaction(db):
            db.execute("INSERT INTO digests (week, sent_at) VALUES ('2026-W49', 'x')")
        return open_before, db.execute("SELECT count(*) FROM cadres").fetchone()[0]

    assert database.call(after) == (False, 0)
    database.close()
    assert sqlite3.connect(tmp_path / "ntm.sqlite3").execute(
        "SELECT week FROM digests"
    ).fetchall() == [("2026-W49",)]
