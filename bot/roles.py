"""Who coordinates what: national, province and commune coordinators and their scope.

Roles live in the `roles` table (migration v8); the config's `coordinators` are
national bootstrap accounts, written there at every start (`bootstrap`). The running
bot reads roles from `Roles`, an in-memory copy that is reloaded when another process
(`ntm-bot roles`) has changed the database. Every right is checked from the sender's
id against their scope, never from button data.

Plain functions over a sqlite-utils `Database` change roles, each with its audit row in
the same transaction; `Roles` answers the questions the desks ask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sqlite_utils

from bot import audit
from bot.clock import now_iso
from bot.db import transaction

Kind = Literal["national", "province", "commune"]
_RANK = {"national": 0, "province": 1, "commune": 2}


@dataclass(frozen=True)
class Scope:
    kind: Kind
    code: int | None = None  # the province or commune code; None for national

    def key(self) -> str:
        """'national', 'province:79', 'commune:27610': how it is stored and logged."""
        return self.kind if self.code is None else f"{self.kind}:{self.code}"

    @classmethod
    def parse(cls, key: str | None) -> Scope:
        kind, _, code = (key or "national").partition(":")
        valid = code.isascii() and code.isdigit() and len(code) <= CODE_DIGITS
        if kind not in _RANK or (kind == "national") != (code == "") or (code and not valid):
            raise ValueError(f"not a scope: {key!r}")
        return cls(kind, int(code) if code else None)  # type: ignore[arg-type]


CODE_DIGITS = 6  # province codes have 2 digits, commune codes 5: anything longer is no code
NATIONAL = Scope("national")
NOWHERE = Scope("commune", 0)  # holds no commune: what someone without a role acts on


@dataclass(frozen=True)
class Role:
    user_id: int
    scope: Scope
    source: str  # config / chat / cli
    granted_by: int | None
    granted_at: str


class RoleError(Exception):
    """A role change that is not allowed or names nothing; the message is for people."""


class Roles:
    """The roles in force, and the geography needed to judge scopes."""

    def __init__(self, roles: list[Role], province_of: dict[int, int]) -> None:
        self._by_user = {r.user_id: r for r in roles}
        self._session: dict[int, Role] = {}  # roles of this process only (`allow`)
        self._province_of = province_of  # commune code -> province code
        self.data_version = -1

    @classmethod
    def load(cls, db: sqlite_utils.Database) -> Roles:
        loaded = cls(all_roles(db), dict(db.execute("SELECT code, province_code FROM communes")))
        loaded.data_version = _data_version(db)
        return loaded

    def refresh(self, db: sqlite_utils.Database) -> bool:
        """Reload if another connection has committed since (`PRAGMA data_version`)."""
        version = _data_version(db)
        if version == self.data_version:
            return False
        self._by_user = {r.user_id: r for r in all_roles(db)} | self._session
        self.data_version = version
        return True

    def replace(self, roles: list[Role]) -> None:
        """After a change made by this process (which data_version does not show)."""
        self._by_user = {r.user_id: r for r in roles} | self._session

    def allow(self, user_id: int, scope: Scope) -> None:
        """A role for this process only, never stored (`ntm-bot chat --dieu-phoi`)."""
        self._session[user_id] = Role(user_id, scope, "session", None, "")
        self._by_user[user_id] = self._session[user_id]

    # --- questions ------------------------------------------------------------------

    def scope_of(self, user_id: int | None) -> Scope | None:
        role = self._by_user.get(user_id) if user_id is not None else None
        return role.scope if role else None

    def role_of(self, user_id: int | None) -> Role | None:
        return self._by_user.get(user_id) if user_id is not None else None

    def is_coordinator(self, user_id: int | None) -> bool:
        return self.scope_of(user_id) is not None

    def is_national(self, user_id: int | None) -> bool:
        return self.scope_of(user_id) == NATIONAL

    def ids(self) -> frozenset[int]:
        return frozenset(self._by_user)

    def national_ids(self) -> list[int]:
        return sorted(u for u, r in self._by_user.items() if r.scope == NATIONAL)

    def province_of(self, commune_code: int) -> int | None:
        return self._province_of.get(commune_code)

    def contains(self, outer: Scope, inner: Scope) -> bool:
        """Whether `inner` lies within `outer` (a scope contains itself)."""
        if outer.kind == "national":
            return True
        if inner.kind == "national":
            return False
        if outer.kind == "province":
            province = inner.code if inner.kind == "province" else self.province_of(inner.code)
            return province == outer.code
        return inner == outer

    def covers(self, user_id: int | None, commune_code: int | None) -> bool:
        """Whether the user coordinates the commune (None: only national coordinators)."""
        scope = self.scope_of(user_id)
        if scope is None:
            return False
        if commune_code is None:
            return scope == NATIONAL
        return self.contains(scope, Scope("commune", commune_code))

    def responsible(self, commune_code: int | None) -> list[list[int]]:
        """Who answers for a commune, narrowest level first: its commune coordinators,
        then its province's, then the national ones; levels nobody holds are left out."""
        levels: list[Scope] = [NATIONAL]
        if commune_code is not None and (province := self.province_of(commune_code)):
            levels = [Scope("commune", commune_code), Scope("province", province), NATIONAL]
        found = [sorted(u for u, r in self._by_user.items() if r.scope == s) for s in levels]
        return [ids for ids in found if ids]

    def first_responsible(self, commune_code: int | None) -> list[int]:
        levels = self.responsible(commune_code)
        return levels[0] if levels else []


def scope_sql(scope: Scope, commune_column: str) -> tuple[str, list[object]]:
    """A SQL condition keeping rows whose `commune_column` lies within `scope`."""
    if scope.kind == "national":
        return "1", []
    if scope.kind == "province":
        sub = "SELECT code FROM communes WHERE province_code = ?"
        return f"{commune_column} IN ({sub})", [scope.code]
    return f"{commune_column} = ?", [scope.code]


def _data_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA data_version").fetchone()[0]


# --- storage -------------------------------------------------------------------------


def all_roles(db: sqlite_utils.Database) -> list[Role]:
    rows = db.execute(
        "SELECT user_id, scope, source, granted_by, granted_at FROM roles ORDER BY user_id"
    ).fetchall()
    return [Role(u, Scope.parse(s), src, by, at) for u, s, src, by, at in rows]


def scope_label(db: sqlite_utils.Database, scope: Scope) -> str:
    """'toàn quốc', 'Thành phố Hồ Chí Minh', 'Xã Bình Lợi (Thành phố Hồ Chí Minh)'."""
    if scope.kind == "national":
        return "toàn quốc"
    if scope.kind == "province":
        row = db.execute("SELECT name FROM provinces WHERE code = ?", [scope.code]).fetchone()
        return row[0] if row else f"tỉnh mã {scope.code}"
    row = db.execute(
        "SELECT c.name, p.name FROM communes c JOIN provinces p ON p.code = c.province_code"
        " WHERE c.code = ?",
        [scope.code],
    ).fetchone()
    return f"{row[0]} ({row[1]})" if row else f"xã mã {scope.code}"


def check_exists(db: sqlite_utils.Database, scope: Scope) -> None:
    table = {"province": "provinces", "commune": "communes"}.get(scope.kind)
    if table and not 0 < (scope.code or 0) < 10**CODE_DIGITS:
        what = "tỉnh, thành phố" if scope.kind == "province" else "xã, phường, đặc khu"
        raise RoleError(f"Không có {what} nào mã {scope.code}.")
    if table and not db.execute(f"SELECT 1 FROM {table} WHERE code = ?", [scope.code]).fetchone():
        what = "tỉnh, thành phố" if scope.kind == "province" else "xã, phường, đặc khu"
        raise RoleError(f"Không có {what} nào mã {scope.code}.")


def grant(
    db: sqlite_utils.Database,
    roles: Roles,
    user_id: int,
    scope: Scope,
    *,
    by: int | None,
    by_label: str = "",
    source: str = "chat",
    then: Callable[[sqlite_utils.Database], None] | None = None,
) -> list[Role]:
    """Give `user_id` the role `scope`, as `by` (None: the server, which may do anything).
    `by` may only give scopes within their own, and only change roles within it; the
    target's current role is read in the transaction, not from memory. `then` runs in the
    same transaction (a welcome message queued, say)."""
    check_exists(db, scope)
    with transaction(db):
        current = _stored_role(db, user_id)
        _check_rights(roles, by, scope, current)
        if current is not None and current.source == "config":
            raise RoleError("Tài khoản này được khai trong tệp cấu hình: sửa tệp cấu hình để đổi.")
        db.conn.execute(
            "INSERT INTO roles (user_id, scope, source, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET scope = excluded.scope,"
            " source = excluded.source, granted_by = excluded.granted_by,"
            " granted_at = excluded.granted_at",
            [user_id, scope.key(), source, by, now_iso()],
        )
        detail = {"người nhận": user_id, "phạm vi": scope_label(db, scope)}
        if current is not None and current.scope != scope:
            detail["trước đó"] = current.scope.key()
            _release_claims(db, user_id)  # tickets of the old scope go back to the queue
        audit.record(db, "role.grant", detail, actor=by, actor_label=by_label, scope=scope.key())
        if then is not None:
            then(db)
    return all_roles(db)


def revoke(
    db: sqlite_utils.Database,
    roles: Roles,
    user_id: int,
    *,
    by: int | None,
    by_label: str = "",
) -> list[Role]:
    """Take the role away; the tickets they were answering go back to the queue."""
    with transaction(db):
        current = _stored_role(db, user_id)
        if current is None:
            raise RoleError(f"Mã Telegram {user_id} không giữ vai điều phối viên nào.")
        if by is not None:
            mine = roles.scope_of(by)
            if mine is None or not roles.contains(mine, current.scope):
                raise RoleError("Người này giữ vai ngoài phạm vi của bạn.")
        if current.source == "config":
            raise RoleError("Tài khoản này được khai trong tệp cấu hình: sửa tệp cấu hình để gỡ.")
        db.conn.execute("DELETE FROM roles WHERE user_id = ?", [user_id])
        _release_claims(db, user_id)
        detail = {"người bị gỡ": user_id, "phạm vi": scope_label(db, current.scope)}
        audit.record(
            db, "role.revoke", detail, actor=by, actor_label=by_label, scope=current.scope.key()
        )
    return all_roles(db)


def _check_rights(roles: Roles, by: int | None, scope: Scope, current: Role | None) -> None:
    if by is None:
        return  # the server
    mine = roles.scope_of(by)
    if mine is None or not roles.contains(mine, scope):
        raise RoleError("Bạn chỉ giao được vai trong phạm vi mình phụ trách.")
    if current is not None and not roles.contains(mine, current.scope):
        raise RoleError("Người này đang giữ vai ngoài phạm vi của bạn.")


def _stored_role(db: sqlite_utils.Database, user_id: int) -> Role | None:
    row = db.execute(
        "SELECT user_id, scope, source, granted_by, granted_at FROM roles WHERE user_id = ?",
        [user_id],
    ).fetchone()
    return Role(row[0], Scope.parse(row[1]), *row[2:]) if row else None


def _release_claims(db: sqlite_utils.Database, user_id: int) -> None:
    from bot import tickets  # here: bot.tickets reads scopes from this module

    tickets.release_claims(db, user_id, now_iso(), "vai điều phối viên của bạn đã thay đổi")


def bootstrap(db: sqlite_utils.Database, config_ids: frozenset[int]) -> list[Role]:
    """The config's coordinators as national roles; config roles no longer listed there
    are removed. Each change is in the trail, as done by the server."""
    stored = {r.user_id: r for r in all_roles(db)}
    with transaction(db):
        for user_id in sorted(config_ids):
            role = stored.get(user_id)
            if role is not None and role.source == "config" and role.scope == NATIONAL:
                continue
            db.conn.execute(
                "INSERT OR REPLACE INTO roles (user_id, scope, source, granted_by, granted_at)"
                " VALUES (?, 'national', 'config', NULL, ?)",
                [user_id, now_iso()],
            )
            detail = {"người nhận": user_id, "phạm vi": "toàn quốc", "theo": "tệp cấu hình"}
            audit.record(db, "role.grant", detail, scope="national")
        for user_id, role in stored.items():
            if role.source == "config" and user_id not in config_ids:
                db.conn.execute("DELETE FROM roles WHERE user_id = ?", [user_id])
                detail = {"người bị gỡ": user_id, "theo": "không còn trong tệp cấu hình"}
                audit.record(db, "role.revoke", detail, scope="national")
    return all_roles(db)
