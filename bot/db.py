"""The SQLite database: one owner thread, versioned schema, WAL.

A sqlite3 connection may not be shared across threads, and database work must not
block the event loop, so every operation runs on one dedicated worker thread that owns
the connection; async code awaits `Database.run`, the CLI calls `Database.call`.
Modules that store things (bot.feedback, …) are plain functions taking the sqlite-utils
`Database`, and are run through this owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from bot import units

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


def _v2(db: sqlite_utils.Database) -> None:
    """Administrative units, NTM status, cadres, courses and training records."""
    db["provinces"].create({"code": int, "name": str, "kind": str}, pk="code")
    db["communes"].create(
        {
            "code": int,
            "name": str,  # official name with its kind: "Xã Bình Lợi"
            "kind": str,  # xã / phường / đặc khu
            "province_code": int,
            "search": str,  # folded name without the kind, for lookups: "binh loi"
            "ntm_group": int,  # nhóm 1, 2, 3 under QĐ 51/2025; NULL when not set
            "level": str,  # chưa đạt / đạt chuẩn / nâng cao / kiểu mẫu / hiện đại
            "level_year": int,
            "level_decision": str,
            "updated": str,  # date the NTM data was last updated (ISO)
            "demo": int,
        },
        pk="code",
        foreign_keys=[("province_code", "provinces", "code")],
        defaults={"level": "chưa đạt", "demo": 0},
        not_null={"name", "kind", "province_code", "search", "level", "demo"},
    )
    db["communes"].create_index(["province_code"])
    db["criteria_status"].create(
        {"commune_code": int, "criterion": int, "met": int, "total": int, "note": str},
        pk=("commune_code", "criterion"),
        foreign_keys=[("commune_code", "communes", "code")],
        not_null={"met", "total"},
    )
    db["cadres"].create(
        {
            "id": int,
            "phone": str,  # normalised +84…
            "full_name": str,
            "position": str,
            "commune_code": int,
            "meets_standard": int,
            "missing": str,  # what is missing to meet the standard, in Vietnamese
            "deadline": str,  # ISO date by which the standard must be met, if the roster says
            "telegram_user_id": int,
            "subscribed": int,
            "demo": int,
        },
        pk="id",
        foreign_keys=[("commune_code", "communes", "code")],
        defaults={"subscribed": 1, "demo": 0, "meets_standard": 0},
        not_null={"phone", "full_name", "commune_code", "subscribed", "demo"},
    )
    db["cadres"].create_index(["phone"], unique=True)
    db["cadres"].create_index(["telegram_user_id"], unique=True)
    db["cadres"].create_index(["commune_code"])
    db["courses"].create(
        {
            "code": str,
            "title": str,
            "organiser": str,
            "start_date": str,
            "end_date": str,
            "place": str,
            "online_link": str,
            "capacity": int,
            "registration_deadline": str,
            "demo": int,
        },
        pk="code",
        defaults={"demo": 0},
        not_null={"title", "start_date", "demo"},
    )
    db["training_records"].create(
        {
            "cadre_id": int,
            "course_code": str,
            "status": str,  # registered / attended / completed
            "certificate_no": str,
            "date": str,
            "demo": int,
        },
        pk=("cadre_id", "course_code"),
        foreign_keys=[("cadre_id", "cadres", "id"), ("course_code", "courses", "code")],
        defaults={"demo": 0},
        not_null={"status", "demo"},
    )
    db["training_records"].create_index(["course_code"])
    units.seed(db)


def _v3(db: sqlite_utils.Database) -> None:
    """Broadcasts: one row per announcement, one delivery row per recipient."""
    db["broadcasts"].create(
        {
            "id": int,
            "kind": str,  # announcement / reminder
            "course_code": str,  # the course announced, if any
            "text": str,  # the message, Telegram HTML
            "audience": str,  # JSON: how the recipients were chosen
            "created_by": int,  # Telegram id of the coordinator; NULL from the CLI
            "created_at": str,
            "scheduled_at": str,  # ISO UTC; sending starts at or after it
            "status": str,  # scheduled / sending / done / cancelled
            "progress_chat_id": int,  # the coordinator's message edited with progress
            "progress_message_id": int,
            "finished_at": str,
        },
        pk="id",
        not_null={"kind", "text", "audience", "created_at", "scheduled_at", "status"},
    )
    db["broadcasts"].create_index(["status", "scheduled_at"])
    # A reminder is created once per course, whoever's worker gets there first.
    db.execute(
        "CREATE UNIQUE INDEX idx_broadcasts_reminder ON broadcasts (course_code)"
        " WHERE kind = 'reminder'"
    )
    db["deliveries"].create(
        {
            "broadcast_id": int,
            "cadre_id": int,
            "chat_id": int,
            "status": str,  # pending / sending / sent / blocked / failed
            "attempts": int,
            "error": str,
            "sent_at": str,
        },
        pk=("broadcast_id", "cadre_id"),
        foreign_keys=[("broadcast_id", "broadcasts", "id"), ("cadre_id", "cadres", "id")],
        defaults={"status": "pending", "attempts": 0},
        not_null={"chat_id", "status", "attempts"},
    )
    db["deliveries"].create_index(["broadcast_id", "status"])


def _v4(db: sqlite_utils.Database) -> None:
    """Questions sent to the coordinators (bot.tickets), and the outbox of messages to
    other people's chats that their changes cause (bot.outbox)."""
    db["tickets"].create(
        {
            "id": int,
            "asker_id": int,  # the cadre's Telegram id
            "chat_id": int,
            "question": str,
            "note": str,  # a line the cadre added
            "candidates": str,  # JSON: the ids the matcher offered, best first
            "judged_entry": str,  # the entry marked 👎, when the ticket began there
            "asker_label": str,  # position and commune when sent (never the phone)
            "commune_code": int,
            "state": str,  # draft / noting / open / claimed / answered / closed
            "resolution": str,  # reply / faq / out_of_scope / withdrawn
            "claimed_by": int,
            "claimed_name": str,
            "claimed_at": str,
            "answer": str,
            "answered_by": int,
            "faq_entry": str,
            "helped": int,  # the cadre's 👍 (1) / 👎 (0) on the answer
            "created_at": str,
            "opened_at": str,
            "announced_at": str,  # last time the coordinators were told of it
            "closed_at": str,
        },
        pk="id",
        not_null={"asker_id", "chat_id", "question", "state", "created_at"},
    )
    db["tickets"].create_index(["state", "opened_at"])
    db["tickets"].create_index(["asker_id", "state"])
    db["outbox"].create(
        {
            "id": int,
            "chat_id": int,
            "text": str,  # Telegram HTML
            "buttons": str,  # JSON: rows of [text, data]
            "ticket_id": int,
            "status": str,  # pending / sending / sent / blocked / failed
            "attempts": int,
            "error": str,
            "telegram_message_id": int,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"chat_id", "text", "status", "attempts", "created_at"},
    )
    db["outbox"].create_index(["status", "id"])
    db["outbox"].create_index(["chat_id", "telegram_message_id"])


def _v5(db: sqlite_utils.Database) -> None:
    """Evidence that a question means an entry (bot.learning): a suggestion a cadre chose,
    or a ticket a coordinator closed with it; reviewed before it becomes a phrasing."""
    db["learned"].create(
        {
            "id": int,
            "normalized": str,  # the question as the matcher reads it
            "example": str,  # its latest wording, what would be added
            "entry_id": str,
            "count": int,
            "first_seen": str,
            "last_seen": str,
            "state": str,  # pending / accepted / rejected
        },
        pk="id",
        not_null={"normalized", "example", "entry_id", "count", "state"},
    )
    db["learned"].create_index(["normalized", "entry_id"], unique=True)
    db["learned"].create_index(["state", "count"])


def _v6(db: sqlite_utils.Database) -> None:
    """The review queue (bot.review): unanswered questions and 👎 votes can be worked
    through, and the weekly digest is sent once a week."""
    db["unanswered"].add_column("state", str, not_null_default="open")  # open/covered/dismissed
    db["unanswered"].add_column("entry_id", str)  # the entry that covers it now, if any
    db["unanswered"].add_column("closed_at", str)
    db["feedback"].add_column("reviewed", int, not_null_default=0)
    db["digests"].create({"week": str, "sent_at": str}, pk="week")


def _v7(db: sqlite_utils.Database) -> None:
    """A cadre's record moved from one Telegram account to another (bot.roster.link):
    kept so the old account and the coordinators are told, and a coordinator can undo it."""
    db["relinks"].create(
        {
            "id": int,
            "cadre_id": int,
            "from_user": int,
            "to_user": int,
            "at": str,
            "undone_by": int,
            "undone_at": str,
        },
        pk="id",
        not_null={"cadre_id", "from_user", "to_user", "at"},
    )


def _v8(db: sqlite_utils.Database) -> None:
    """Coordinators' roles and their scope (bot.roles); the audit trail (bot.audit), which
    refuses updates and deletions; the province that runs a course (NULL: national); how
    far up the levels of coordinators a ticket has gone; invitation links."""
    db["roles"].create(
        {
            "user_id": int,  # Telegram id
            "scope": str,  # national / province:79 / commune:27610
            "source": str,  # config / chat / cli
            "granted_by": int,  # Telegram id; NULL: the server (config or command line)
            "granted_at": str,
        },
        pk="user_id",
        not_null={"scope", "source", "granted_at"},
    )
    db["audit"].create(
        {
            "id": int,
            "at": str,
            "actor": int,  # Telegram id; NULL: the server's command line or the bot itself
            "actor_label": str,
            "action": str,
            "scope": str,
            "detail": str,  # JSON
        },
        pk="id",
        not_null={"at", "action", "detail"},
    )
    db["audit"].create_index(["at"])
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_no_{verb.lower()} BEFORE {verb} ON audit"
            " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        )
    db["courses"].add_column("province_code", int)
    # How far up a ticket has gone: 0 the narrowest coordinators of the asker's commune,
    # then one level up each time it is announced again unanswered (bot.helpdesk).
    db["tickets"].add_column("level", int, not_null_default=0)
    # Invitation links (bot.invites): the token names a commune's roster, nothing more.
    db["invites"].create(
        {
            "token": str,
            "commune_code": int,
            "created_by": int,  # Telegram id; NULL: the server's command line
            "created_at": str,
            "expires_at": str,
            "uses": int,
        },
        pk="token",
        foreign_keys=[("commune_code", "communes", "code")],
        defaults={"uses": 0},
        not_null={"commune_code", "created_at", "expires_at", "uses"},
    )


def _v9(db: sqlite_utils.Database) -> None:
    """Where unanswered questions come from, counted per commune and never per person:
    province and commune coordinators see what their cadres could not get answered."""
    db["unanswered_places"].create(
        {"normalized": str, "commune_code": int, "count": int},
        pk=("normalized", "commune_code"),
        not_null={"count"},
    )


# Each migration upgrades the schema by one version; never edit one that has shipped.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
    _v9,
)
SCHEMA_VERSION = len(MIGRATIONS)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """Everything inside commits together or not at all; a nested one joins it.

    sqlite-utils 4 commits a write made with `db.execute` at once unless a transaction is
    already open, and `with db.conn:` opens none, so every change of more than one
    statement opens one here. IMMEDIATE takes the write lock at the start: a second
    writer (the command line beside the bot) waits its turn (busy_timeout) instead of
    failing half-way when it upgrades from reading to writing.
    """
    if db.conn.in_transaction:
        with db.atomic():  # a savepoint: the outer transaction decides
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.conn.commit()
    except BaseException:
        # Also when COMMIT itself fails (a full disk): a transaction left open would turn
        # every later one into a savepoint that never commits, and hold the write lock.
        db.conn.rollback()
        raise


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
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed
            # process loses nothing (the WAL is in the OS's hands); only a power cut can
            # roll back the last few commits, and never corrupts the file.
            conn.execute("PRAGMA synchronous = NORMAL")
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
    """Bring the schema to SCHEMA_VERSION, one migration per transaction.

    The version is read inside each migration's transaction (which holds the write lock):
    two processes opening an old file at once (the bot restarting while `ntm-bot roles`
    runs) migrate it once, the second finding the work done. A migration that fails
    half-way leaves the previous version intact.
    """
    while True:
        with transaction(db):
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"tệp được tạo bởi phiên bản mới hơn (lược đồ {version} > {SCHEMA_VERSION})"
                )
            if version == SCHEMA_VERSION:
                return SCHEMA_VERSION
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
