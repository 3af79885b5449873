"""End to end: /baocao sends the scope's charts and the same table as .xlsx, and both
hold the database's numbers; a province of many communes is paged, lagging ones first."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys

from openpyxl import load_workbook
from PIL import Image

from bot import reports
from bot.db import Database
from bot.telegram_html import to_plain
from tests.conftest import FIXTURES, config_for, running_bot
from tests.fake_botapi import FakeBotApi
from tests.test_roles_e2e import COMMUNE_A1, HCMC, NATIONAL_ID, PROVINCE_A, _seed

MINI = FIXTURES / "mini"
COURSE = "BD-2026-01"


def _seed_many(db) -> None:
    """The roles and cadres of the roles tests, then 80 more communes of TP. HCM with three
    cadres each (one, two or three meeting the standard) and a course some completed."""
    _seed(db)
    codes = [
        c
        for (c,) in db.execute(
            "SELECT code FROM communes WHERE province_code = ? ORDER BY code LIMIT 80 OFFSET 5",
            [HCMC],
        )
    ]
    with db.conn:
        db.execute(
            "INSERT INTO courses (code, title, start_date)"
            " VALUES (?, 'Bồi dưỡng NTM', '2026-04-20')",
            [COURSE],
        )
        for index, code in enumerate(codes):
            for n in range(3):
                db.execute(
                    "INSERT INTO cadres (phone, full_name, commune_code, meets_standard,"
                    " telegram_user_id) VALUES (?, ?, ?, ?, ?)",
                    [
                        f"+8491300{index:03d}{n}",
                        f"Cán bộ {index}-{n}",
                        code,
                        int(n <= index % 3),
                        10_000 + 3 * index + n if n == 0 else None,
                    ],
                )
                if n == 0 and index % 2 == 0:
                    db.execute(
                        "INSERT INTO training_records (cadre_id, course_code, status)"
                        " VALUES (last_insert_rowid(), ?, 'completed')",
                        [COURSE],
                    )


def _expected(path, province: int | None) -> dict[int, tuple]:
    """Per commune (or per province with None): cadres, meeting, linked, completed —
    counted here with SQL of the test's own."""
    unit = "c.code" if province else "c.province_code"
    where = "WHERE c.province_code = ?" if province else ""
    rows = (
        sqlite3.connect(path)
        .execute(
            f"SELECT {unit}, count(*), sum(k.meets_standard), count(k.telegram_user_id),"
            " (SELECT count(*) FROM training_records r JOIN cadres k2 ON k2.id = r.cadre_id"
            f"  JOIN communes c2 ON c2.code = k2.commune_code WHERE r.status = 'completed'"
            f"  AND r.course_code = ? AND {unit.replace('c.', 'c2.')} = {unit})"
            f" FROM cadres k JOIN communes c ON c.code = k.commune_code {where} GROUP BY {unit}",
            [COURSE, *([province] if province else [])],
        )
        .fetchall()
    )
    return {code: tuple(rest) for code, *rest in rows}


def _sheet(content: bytes) -> list[tuple]:
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    return rows


async def test_baocao_sends_paged_charts_and_the_table_with_the_databases_numbers(
    fake_api: FakeBotApi, tmp_path
):
    config = config_for(fake_api, tmp_path, coordinators=frozenset({NATIONAL_ID}))
    database = Database(config.database)
    database.call(_seed_many)
    database.close()
    async with running_bot(config, MINI):
        mark = fake_api.mark()
        fake_api.push_message(PROVINCE_A, f"/baocao {COURSE}")
        summary = await fake_api.wait_for_reply(PROVINCE_A, timeout=60)
        await fake_api.wait_for("sendDocument", since=mark, timeout=60)
        sent = fake_api.sent_messages(PROVINCE_A, since=mark)
        fake_api.push_message(COMMUNE_A1, "/baocao")
        own = await fake_api.wait_for_reply(COMMUNE_A1, timeout=60)
        later = fake_api.mark()
        fake_api.push_message(PROVINCE_A, "/baocao KHONG-CO")
        unknown = await fake_api.wait_for_reply(PROVINCE_A, since=later, timeout=60)
    photos = [m for m in sent if m.method == "sendPhoto"]
    sheets = [m for m in sent if m.method == "sendDocument"]
    expected = _expected(config.database, HCMC)
    assert len(expected) == 82  # the two seeded communes with cadres, and the 80
    assert len(photos) == -(-82 // reports.ROWS_PER_PAGE) == 3
    for photo in photos:
        image = Image.open(io.BytesIO(photo.document.content))
        assert image.format == "PNG" and image.width > 800
    table = _sheet(sheets[0].document.content)
    assert table[0][0].startswith("Báo cáo nông thôn mới – Thành phố Hồ Chí Minh – theo xã")
    header, body = table[1], table[2:]
    assert header[:3] == ("Xã, phường, đặc khu", "Mã", "Số cán bộ")
    got = {row[1]: (row[2], row[3], row[5], row[8]) for row in body}
    assert got == expected
    shares = [row[4] for row in body]
    assert shares == sorted(shares)  # lagging first
    total = sum(v[0] for v in expected.values())
    meeting = sum(v[1] for v in expected.values())
    text = to_plain(summary.text)
    assert f"82 xã, {total} cán bộ trong danh sách: đạt chuẩn {meeting}" in text
    assert "Xã Bình Lợi (Thành phố Hồ Chí Minh)" in to_plain(own.text)
    assert "1 xã, 2 cán bộ" in to_plain(own.text)
    assert "Không có khóa học mã KHONG-CO" in unknown.text


def test_ntm_bot_report_writes_the_national_table_per_province(tmp_path):
    path = tmp_path / "ntm.sqlite3"
    database = Database(path)
    database.call(_seed_many)
    database.close()
    config = tmp_path / "config.yaml"
    config.write_text("database: ntm.sqlite3\n", encoding="utf-8")

    def report(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "report", "--config", str(config), *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    made = report(str(tmp_path / "ca-nuoc.xlsx"), "--course", COURSE)
    assert made.returncode == 0, made.stderr
    body = _sheet((tmp_path / "ca-nuoc.xlsx").read_bytes())[2:]
    assert {row[1]: (row[2], row[3], row[5], row[8]) for row in body} == _expected(path, None)
    assert report(str(tmp_path / "tinh.png"), "--scope", f"province:{HCMC}").returncode == 0
    assert sorted(p.name for p in tmp_path.glob("tinh*.png")) == [
        "tinh-1.png",
        "tinh-2.png",
        "tinh-3.png",
    ]
    bad = report(str(tmp_path / "x.png"), "--scope", "province:999")
    assert bad.returncode == 1 and "Không có tỉnh, thành phố nào mã 999" in bad.stderr
