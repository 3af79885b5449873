"""The SQLite database: one owner thread, versioned schema, WAL.

A sqlite3 connection may not be shared across threads, and database work must not
block the event loop, so every operation runs on one dedicated worker thread that owns
the connection; async code awaits `Database.run`, the CLI calls `Database.call`.
Modules that store things (bot.feedback, …) are plain functions taking the sqlite-utils
`Database`, and are run through this owner.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlite_utils

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


def _v1(db: sqlite_utils.Database) -> None:
    """Questions the FAQ did not answer, and 👍/👎 on answers."""
    db["unanswered"].create(
        {
            "normalized": str,
            "example": str,
            "decision": str,
            "count": int,
            "first_seen": str,
            "last_seen": str,
        },
        pk="normalized",
    )
    db["feedback"].create(
        {"id": int, "user_id": int, "entry_id": str, "vote": int, "question": str, "at": str},
        pk="id",
    )
    db["feedback"].create_index(["entry_id"])


# Each migration upgrades the schema by one version; never edit one that has shipped.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_v1,)
SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseError(Exception):
    """The database file cannot be opened or upgraded; the message is for the operator."""


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite_utils.Database | None = None
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            migrate(db)
        except sqlite3.Error as exc:
            raise DatabaseError(f"Không mở được cơ sở dữ liệu {self.path}: {exc}.") from None
        self._db = db

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(db, *args)` on the owner thread and wait (for sync callers)."""
        return self._executor.submit(self._with_db, fn, *args).result()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(db, *args)` on the owner thread without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._with_db, fn, *args)

    def _with_db(self, fn: Callable[..., T], *args: object) -> T:
        if self._db is None:
            raise DatabaseError("Cơ sở dữ liệu đã đóng.")
        return fn(self._db, *args)

    def close(self) -> None:
        if self._db is not None:
            self._executor.submit(self._db.conn.close).result()
            self._db = None
        self._executor.shutdown(wait=True)


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema to SCHEMA_VERSION, one migration per transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"tệp được tạo bởi phiên bản mới hơn (lược đồ {version} > {SCHEMA_VERSION})"
        )
    for number in range(version, SCHEMA_VERSION):
        # sqlite3 runs DDL in autocommit mode unless a transaction is open: open one, so a
        # migration that fails half-way leaves the previous version intact.
        db.conn.execute("BEGIN")
        with db.conn:
            MIGRATIONS[number](db)
            db.execute(f"PRAGMA user_version = {number + 1}")
    return SCHEMA_VERSION
