"""Reports: how long /baocao takes to read the numbers and draw them, at the scale of a
large province and of the whole country.

Run: python bench/report_bench.py [--rounds R]

A fresh database in a temporary folder with the real units (34 provinces, 3,321
communes) and a generated roster: 30 cadres in every commune (99,630 in all, about the
country's), a third meeting the standard, a fifth linked to Telegram, and one course
with records for half of them. Measured, median of R rounds (default 3):

- build: the SQL that counts per commune (a province) or per province (national);
- render: the matplotlib pages (35 rows a page, at most 12) and the .xlsx.

The largest province by number of communes is used for the province figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import reports
from bot.db import Database
from bot.roles import NATIONAL, Scope

PER_COMMUNE = 30
COURSE = "BD-2026-01"


def seed(db) -> None:
    communes = [c for (c,) in db.execute("SELECT code FROM communes ORDER BY code")]
    with db.conn:
        db.execute(
            "INSERT INTO courses (code, title, start_date) VALUES (?, 'Bồi dưỡng', '2026-04-20')",
            [COURSE],
        )
        rows = (
            (
                f"+849{index:06d}{n:02d}",
                f"Cán bộ {index}-{n}",
                code,
                int((index + n) % 3 == 0),
                index * 100 + n if (index + n) % 5 == 0 else None,
            )
            for index, code in enumerate(communes)
            for n in range(PER_COMMUNE)
        )
        db.conn.executemany(
            "INSERT INTO cadres (phone, full_name, commune_code, meets_standard,"
            " telegram_user_id) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        db.execute(
            "INSERT INTO training_records (cadre_id, course_code, status)"
            " SELECT id, ?, CASE WHEN id % 3 = 0 THEN 'completed' ELSE 'registered' END"
            " FROM cadres WHERE id % 2 = 0",
            [COURSE],
        )


def measure(database: Database, scope: Scope, rounds: int) -> tuple[float, float, int, int]:
    builds, renders = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        made = database.call(reports.build, scope, dt.date(2026, 12, 1), COURSE)
        middle = time.perf_counter()
        pages = reports.render_pages(made)
        reports.xlsx_bytes(made)
        builds.append(middle - start)
        renders.append(time.perf_counter() - middle)
    return statistics.median(builds), statistics.median(renders), len(made.rows), len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = Database(Path(folder) / "bench.sqlite3")
        database.call(seed)
        province = database.call(
            lambda db: db.execute(
                "SELECT province_code FROM communes GROUP BY province_code"
                " ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()[0]
        )
        reports.render_pages(database.call(reports.build, NATIONAL, dt.date(2026, 12, 1)))  # warm
        cadres = database.call(lambda db: db.execute("SELECT count(*) FROM cadres").fetchone()[0])
        print(f"Roster: {cadres:,} cadres in 3,321 communes; {args.rounds} rounds, medians")
        for label, scope in (
            ("national", NATIONAL),
            (f"province {province}", Scope("province", province)),
        ):
            build, render, rows, pages = measure(database, scope, args.rounds)
            print(
                f"{label:>14}: {rows} rows, {pages} page(s): build {build * 1000:.0f} ms,"
                f" render + xlsx {render * 1000:.0f} ms"
            )
        database.close()


if __name__ == "__main__":
    main()
