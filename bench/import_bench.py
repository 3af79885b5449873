"""Import speed: a 10,000-row cadre roster (.xlsx) into a fresh database, then again.

Run: python bench/import_bench.py

The roster uses the real commune codes of TP. Hồ Chí Minh (province 79), distinct
mobile numbers, every optional column filled. Timed separately: reading the file
(`spreadsheet.read_sheet`), planning (validation against the database and comparison),
applying (one transaction; it re-checks the rows, so it includes a second planning
pass). The second import of the same file must report every row unchanged.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bot import importer
from bot.db import Database
from bot.spreadsheet import read_sheet, write_rows

ROWS = 10_000
SEED = 20261126
POSITIONS = (
    "Chủ tịch UBND xã",
    "Phó Chủ tịch UBND xã",
    "Công chức Văn phòng - Thống kê",
    "Công chức Văn hóa - Xã hội",
    "Công chức Địa chính - Nông nghiệp - Xây dựng và Môi trường",
)
NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Võ"), ("Văn", "Thị", "Minh"), ("An", "Bình", "Cường")


def roster(codes: list[int], rng: random.Random) -> list[dict[str, str]]:
    phones = rng.sample(range(10_000_000, 99_999_999), ROWS)
    rows = []
    for number in phones:
        meets = rng.random() < 0.6
        rows.append(
            {
                "Họ và tên": " ".join(rng.choice(part) for part in NAMES),
                "Chức vụ": rng.choice(POSITIONS),
                "Mã xã": str(rng.choice(codes)),
                "Số điện thoại": f"09{number:08d}",
                "Đạt chuẩn": "Có" if meets else "Không",
                "Còn thiếu": "" if meets else "chưa có bằng đại học",
                "Hạn đạt chuẩn": "" if meets else f"{rng.randint(1, 28):02d}/12/2027",
            }
        )
    return rows


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def run_import(database: Database, path: Path) -> tuple[importer.ImportCounts, dict[str, float]]:
    sheet, read = timed(read_sheet, path)
    plan, planned = timed(
        database.call, importer.plan_import, "cadres", sheet.rows, sheet.headers, sheet.header_row
    )
    assert plan.errors == [], importer.format_errors(plan.errors, limit=5)
    counts, applied = timed(database.call, importer.apply_import, plan)
    return counts, {"read": read, "plan": planned, "apply": applied}


def main() -> None:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(Path(tmp) / "bench.sqlite3")
        codes = database.call(
            lambda db: [
                c for (c,) in db.execute("SELECT code FROM communes WHERE province_code=79")
            ]
        )
        path = Path(tmp) / "can-bo.xlsx"
        spec = importer.SPECS["cadres"]
        _, written = timed(write_rows, path, [c.header for c in spec.columns], roster(codes, rng))
        print(f"{ROWS} cadres, {len(codes)} communes of TP.HCM; file {path.stat().st_size} bytes")
        print(f"  writing the .xlsx          {written:6.2f} s")
        for label in ("first import", "re-import (unchanged)"):
            counts, times = run_import(database, path)
            total = sum(times.values())
            print(
                f"  {label:<22} read {times['read']:5.2f} s  plan {times['plan']:5.2f} s"
                f"  apply {times['apply']:5.2f} s  total {total:5.2f} s  -> {counts}"
            )
        database.close()


if __name__ == "__main__":
    main()
