"""Backups with SQLite's online backup API: safe while the bot runs (WAL lets it read a
consistent snapshot while writes go on), checked before they are trusted."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from bot.db import SCHEMA_VERSION


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator."""


def backup(database: Path, target: Path) -> int:
    """Copy `database` to `target` (replaced atomically); returns the backup's size in bytes."""
    if not database.exists():
        raise BackupError(f"Không có cơ sở dữ liệu {database}.")
    partial = target.with_name(target.name + ".tmp")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(database, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)
            _check(copy, partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Sao lưu không thành công: {exc}.") from None
    return target.stat().st_size


def restore(backup_file: Path, database: Path) -> None:
    """Put a checked backup in place of `database`. Stop the bot first."""
    if not backup_file.exists():
        raise BackupError(f"Không có tệp sao lưu {backup_file}.")
    try:
        with contextlib.closing(sqlite3.connect(backup_file)) as source:
            _check(source, backup_file)
            with contextlib.closing(sqlite3.connect(database, timeout=30)) as live:
                source.backup(live)
    except sqlite3.Error as exc:
        raise BackupError(f"Khôi phục không thành công: {exc}.") from None


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} bị hỏng ({result}).")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise BackupError(f"{path} thuộc phiên bản mới hơn (lược đồ {version}).")
