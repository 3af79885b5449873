"""The official administrative units since 01/7/2025: 34 provinces, 3,321 communes.

The list comes from the `vietnam-provinces` package (codes and names of the General
Statistics Office), so codes and names match what cadres know.
"""

from __future__ import annotations

import json
import re

import sqlite_utils
import vietnam_provinces

from bot.normalize import clean, fold

_KIND_PREFIX = re.compile(r"^(xa|phuong|dac khu)\s+")


def search_key(name: str) -> str:
    """'Xã Bình Lợi' (or 'xa binh loi') -> 'binh loi': what a commune is looked up by."""
    return _KIND_PREFIX.sub("", folded(name))


def folded(name: str) -> str:
    return " ".join(fold(clean(name)).split())


def seed(db: sqlite_utils.Database) -> int:
    """Insert every unit not yet present; returns how many communes were added."""
    provinces = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text("utf-8"))
    before = db["communes"].count
    db["provinces"].insert_all(
        ({"code": p["code"], "name": p["name"], "kind": p["division_type"]} for p in provinces),
        ignore=True,
    )
    db["communes"].insert_all(
        (
            {
                "code": w["code"],
                "name": w["name"],
                "kind": w["division_type"],
                "province_code": p["code"],
                "search": search_key(w["name"]),
            }
            for p in provinces
            for w in p["wards"]
        ),
        ignore=True,
    )
    return db["communes"].count - before
