"""Importing the coordinators' tables: validation, all-or-nothing writes, round trips,
templates and hostile files."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bot import importer
from bot.db import Database
from bot.importer import ImportCounts, ImportRejected, RowError
from bot.spreadsheet import MAX_ROWS, SpreadsheetError, read_rows, read_sheet, write_rows

BINH_LOI, DAU_TIENG = 27610, 25777  # Xã Bình Lợi, Xã Dầu Tiếng (TP. Hồ Chí Minh)
TABLES = ("communes", "criteria_status", "cadres", "courses", "training_records")

# Two good rows per kind, written the way coordinators type them (mixed spellings).
SAMPLES: dict[str, list[dict[str, str]]] = {
    "communes": [
        {
            "Mã xã": str(BINH_LOI),
            "Tên xã": "Bình Lợi",
            "Nhóm xã": "2",
            "Mức đạt chuẩn": "dat chuan",
            "Năm công nhận": "2023",
            "Quyết định công nhận": "Quyết định số 12/QĐ-UBND",
            "Ngày cập nhật": "15/3/2026",
        },
        {
            "Mã xã": str(DAU_TIENG),
            "Tên xã": "xã Dầu Tiếng",
            "Nhóm xã": "",
            "Mức đạt chuẩn": "Nâng cao",
            "Năm công nhận": "",
            "Quyết định công nhận": "",
            "Ngày cập nhật": "2026-03-16",
        },
    ],
    "criteria": [
        {"Mã xã": str(BINH_LOI), "Tiêu chí": "4", "Số chỉ tiêu đạt": "3",
         "Tổng số chỉ tiêu": "4", "Ghi chú": "thiếu 4.3"},
        {"Mã xã": str(BINH_LOI), "Tiêu chí": "10", "Số chỉ tiêu đạt": "5",
         "Tổng số chỉ tiêu": "5", "Ghi chú": ""},
    ],
    "cadres": [
        {"Họ và tên": "Trần Thị Bình", "Chức vụ": "Công chức Văn hóa - Xã hội",
         "Mã xã": str(BINH_LOI), "Số điện thoại": "0912 345 678", "Đạt chuẩn": "Không",
         "Còn thiếu": "chưa có bằng đại học", "Hạn đạt chuẩn": "31/12/2027"},
        {"Họ và tên": "Lê Văn Cường", "Chức vụ": "", "Mã xã": str(DAU_TIENG),
         "Số điện thoại": "+84 987 654 321", "Đạt chuẩn": "co", "Còn thiếu": "",
         "Hạn đạt chuẩn": ""},
    ],
    "courses": [
        {"Mã khóa": "BD-2026-01", "Tên khóa học": "Bồi dưỡng kiến thức NTM 2026-2030",
         "Đơn vị tổ chức": "Văn phòng điều phối NTM", "Ngày bắt đầu": "20/04/2026",
         "Ngày kết thúc": "22/04/2026", "Địa điểm": "UBND xã Bình Lợi",
         "Đường dẫn trực tuyến": "https://example.org/lop", "Số chỗ": "60",
         "Hạn đăng ký": "15/04/2026"},
        {"Mã khóa": "BD-2026-02", "Tên khóa học": "Chuyển đổi số cấp xã",
         "Đơn vị tổ chức": "", "Ngày bắt đầu": "2026-05-04", "Ngày kết thúc": "",
         "Địa điểm": "", "Đường dẫn trực tuyến": "", "Số chỗ": "", "Hạn đăng ký": ""},
    ],
    "training": [
        {"Số điện thoại": "0912345678", "Mã khóa": "BD-2026-01",
         "Trạng thái": "da hoan thanh", "Số chứng chỉ": "CC-153", "Ngày": "22/04/2026"},
        {"Số điện thoại": "0987654321", "Mã khóa": "bd-2026-02", "Trạng thái": "Đã đăng ký",
         "Số chứng chỉ": "", "Ngày": ""},
    ],
}  # fmt: skip
# What training needs in the database first.
PREREQUISITES = {"training": ("cadres", "courses")}


@pytest.fixture
def database(tmp_path):
    db = Database(tmp_path / "x.sqlite3")
    yield db
    db.close()


def dump(database: Database) -> dict[str, list[tuple]]:
    def rows(db):
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}

    return database.call(rows)


def write_table(path: Path, rows: list[dict[str, str]], headers: list[str] | None = None) -> Path:
    write_rows(path, headers or list(rows[0]), rows)
    return path


def plan_file(database: Database, kind: str, path: Path) -> importer.ImportPlan:
    sheet = read_sheet(path)  # read off the database thread, as the bot does
    return database.call(importer.plan_import, kind, sheet.rows, sheet.headers, sheet.header_row)


def import_file(database: Database, kind: str, path: Path) -> ImportCounts:
    plan = plan_file(database, kind, path)
    assert plan.errors == []
    return database.call(importer.apply_import, plan)


def import_rows(database: Database, kind: str, rows: list[dict[str, str]]) -> ImportCounts:
    plan = database.call(importer.plan_import, kind, rows)
    assert plan.errors == []
    return database.call(importer.apply_import, plan)


def seed(database: Database, kind: str) -> None:
    for needed in PREREQUISITES.get(kind, ()):
        import_rows(database, needed, SAMPLES[needed])


def query(database: Database, sql: str) -> list[tuple]:
    return database.call(lambda db: db.execute(sql).fetchall())


# --- each kind imports -----------------------------------------------------------------------

EXPECTED = {
    "communes": (
        "SELECT code, ntm_group, level, level_year, level_decision, updated FROM communes"
        " WHERE updated IS NOT NULL ORDER BY code",
        [
            (DAU_TIENG, None, "nâng cao", None, None, "2026-03-16"),
            (BINH_LOI, 2, "đạt chuẩn", 2023, "Quyết định số 12/QĐ-UBND", "2026-03-15"),
        ],
    ),
    "criteria": (
        "SELECT * FROM criteria_status ORDER BY criterion",
        [(BINH_LOI, 4, 3, 4, "thiếu 4.3"), (BINH_LOI, 10, 5, 5, None)],
    ),
    "cadres": (
        "SELECT phone, full_name, position, commune_code, meets_standard, missing, deadline,"
        " telegram_user_id, subscribed FROM cadres ORDER BY id",
        [
            ("+84912345678", "Trần Thị Bình", "Công chức Văn hóa - Xã hội", BINH_LOI, 0,
             "chưa có bằng đại học", "2027-12-31", None, 1),
            ("+84987654321", "Lê Văn Cường", None, DAU_TIENG, 1, None, None, None, 1),
        ],
    ),
    "courses": (
        "SELECT code, title, organiser, start_date, end_date, place, online_link, capacity,"
        " registration_deadline FROM courses ORDER BY code",
        [
            ("BD-2026-01", "Bồi dưỡng kiến thức NTM 2026-2030", "Văn phòng điều phối NTM",
             "2026-04-20", "2026-04-22", "UBND xã Bình Lợi", "https://example.org/lop", 60,
             "2026-04-15"),
            ("BD-2026-02", "Chuyển đổi số cấp xã", None, "2026-05-04", None, None, None, None,
             None),
        ],
    ),
    "training": (
        "SELECT c.phone, t.course_code, t.status, t.certificate_no, t.date"
        " FROM training_records t JOIN cadres c ON c.id = t.cadre_id ORDER BY c.phone",
        [
            ("+84912345678", "BD-2026-01", "completed", "CC-153", "2026-04-22"),
            ("+84987654321", "BD-2026-02", "registered", None, None),
        ],
    ),
}  # fmt: skip


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("kind", importer.KINDS)
def test_each_kind_imports_from_xlsx_and_csv(database, tmp_path, kind, suffix):
    seed(database, kind)
    path = write_table(tmp_path / f"{kind}{suffix}", SAMPLES[kind])
    # Communes are seeded: an import can only change them.
    expected_counts = ImportCounts(0, 2, 0) if kind == "communes" else ImportCounts(2, 0, 0)
    assert import_file(database, kind, path) == expected_counts
    sql, expected = EXPECTED[kind]
    assert query(database, sql) == expected


def test_excel_typed_cells_become_the_text_people_see(database, tmp_path):
    """Numbers typed as numbers (phone without its 0, code as float) and real dates."""
    path = tmp_path / "can-bo.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Họ và tên", "Mã xã", "Số điện thoại", "Đạt chuẩn", "Hạn đạt chuẩn"])
    sheet.append(["  Phạm Thị Dung ", 27610.0, 912345678, 1, dt.datetime(2027, 6, 30)])
    sheet.append(["Võ Văn Em", 25777, 84987654321, "x", dt.date(2028, 1, 2)])
    workbook.save(path)
    assert read_rows(path)[0] == {
        "Họ và tên": "Phạm Thị Dung",
        "Mã xã": "27610",
        "Số điện thoại": "912345678",
        "Đạt chuẩn": "1",
        "Hạn đạt chuẩn": "30/06/2027",
    }
    assert import_file(database, "cadres", path) == ImportCounts(2, 0, 0)
    assert query(database, "SELECT phone, commune_code, meets_standard, deadline FROM cadres") == [
        ("+84912345678", BINH_LOI, 1, "2027-06-30"),
        ("+84987654321", DAU_TIENG, 1, "2028-01-02"),
    ]


def test_csv_with_bom_and_semicolons(database, tmp_path):
    path = tmp_path / "khoa-hoc.csv"
    path.write_bytes(
        "\ufeffMã khóa;Tên khóa học;Ngày bắt đầu\r\nK1;Tập huấn chuyển đổi số;4/5/2026\r\n".encode()
    )
    assert import_file(database, "courses", path) == ImportCounts(1, 0, 0)
    assert query(database, "SELECT code, title, start_date FROM courses") == [
        ("K1", "Tập huấn chuyển đổi số", "2026-05-04")
    ]


def test_headers_match_without_diacritics_or_case(database):
    rows = [{"HO VA TEN": "Ngô Thị Giang", "ma  xa": "27610", "so dien thoai": "0912000111",
             "Dat Chuan": "khong"}]  # fmt: skip
    assert import_rows(database, "cadres", rows) == ImportCounts(1, 0, 0)


@pytest.mark.parametrize(
    ("text", "iso"),
    [("15/03/2026", "2026-03-15"), ("5/3/2026", "2026-03-05"), ("2026-03-05", "2026-03-05")],
)
def test_date_formats(text, iso):
    assert importer.parse_date(text) == iso


# --- bad rows: reported with row and column, nothing written ---------------------------------


def bad(kind: str, row: int, changes: dict[str, str | None]) -> list[dict[str, str]]:
    """SAMPLES[kind] with data row `row` (2 = first) changed; None drops the column."""
    rows = [dict(r) for r in SAMPLES[kind]]
    for header, value in changes.items():
        for r in rows:
            if value is None:
                r.pop(header, None)
        if value is not None:
            rows[row - 2][header] = value
    return rows


BAD_ROWS = {
    "unknown commune code": (
        "cadres", bad("cadres", 3, {"Mã xã": "99999"}),
        RowError(3, "Mã xã", "không có xã nào mã 99999 trong danh mục"),
    ),
    "malformed phone": (
        "cadres", bad("cadres", 2, {"Số điện thoại": "0912"}),
        RowError(2, "Số điện thoại", "số điện thoại không hợp lệ (0912)"),
    ),
    "bad date": (
        "courses", bad("courses", 3, {"Ngày bắt đầu": "31/02/2026"}),
        RowError(3, "Ngày bắt đầu", "ngày không có thật (31/02/2026)"),
    ),
    "date in another shape": (
        "cadres", bad("cadres", 2, {"Hạn đạt chuẩn": "cuối năm 2027"}),
        RowError(2, "Hạn đạt chuẩn",
                 "ngày không đúng dạng ngày/tháng/năm, ví dụ 15/03/2026 (cuối năm 2027)"),
    ),
    "duplicate key": (
        "cadres", bad("cadres", 3, {"Số điện thoại": "84912345678"}),
        RowError(3, "Số điện thoại", "trùng với dòng 2 (cùng «Số điện thoại»)"),
    ),
    "missing required column": (
        "cadres", bad("cadres", 2, {"Đạt chuẩn": None}),
        RowError(1, "Đạt chuẩn", "thiếu cột bắt buộc"),
    ),
    "bad choice": (
        "communes", bad("communes", 2, {"Mức đạt chuẩn": "xuất sắc"}),
        RowError(2, "Mức đạt chuẩn",
                 "«xuất sắc» không phải giá trị hợp lệ; chọn một trong: «chưa đạt», "
                 "«đạt chuẩn», «nâng cao», «kiểu mẫu», «hiện đại»"),
    ),
    "empty required cell": (
        "cadres", bad("cadres", 3, {"Họ và tên": ""}),
        RowError(3, "Họ và tên", "ô bắt buộc đang trống"),
    ),
    "unknown column (a typo)": (
        "cadres", [{**r, "Còn thíu": "x"} for r in SAMPLES["cadres"]],
        RowError(1, "Còn thíu", "cột không có trong mẫu; có phải «Còn thiếu»?"),
    ),
    "commune name does not match the code": (
        "communes", bad("communes", 3, {"Tên xã": "Bình Lợi"}),
        RowError(3, "Tên xã", "tên không khớp mã: mã 25777 là «Xã Dầu Tiếng»"),
    ),
    "number out of range": (
        "criteria", bad("criteria", 2, {"Tiêu chí": "19"}),
        RowError(2, "Tiêu chí", "phải là số từ 1 đến 10 (19)"),
    ),
    "more met than total": (
        "criteria", bad("criteria", 3, {"Số chỉ tiêu đạt": "6"}),
        RowError(3, "Số chỉ tiêu đạt", "số chỉ tiêu đạt (6) lớn hơn tổng số chỉ tiêu (5)"),
    ),
    "course ends before it starts": (
        "courses", bad("courses", 2, {"Ngày kết thúc": "19/04/2026"}),
        RowError(2, "Ngày kết thúc", "ngày kết thúc trước ngày bắt đầu"),
    ),
    "registration closes after the start": (
        "courses", bad("courses", 2, {"Hạn đăng ký": "21/04/2026"}),
        RowError(2, "Hạn đăng ký", "hạn đăng ký sau ngày bắt đầu khóa học"),
    ),
    "course code too long for a button": (
        "courses", bad("courses", 2, {"Mã khóa": "BỒI-DƯỠNG-CÁN-BỘ-XÃ-VỀ-CHUYỂN-ĐỔI-SỐ-2026"}),
        RowError(2, "Mã khóa", "mã khóa phải liền nhau, không dấu cách, tối đa 40 ký tự không"
                 " dấu (ví dụ BD-2026-01)"),
    ),
    "link that is not a web address": (
        "courses", bad("courses", 2, {"Đường dẫn trực tuyến": "zalo nhóm lớp"}),
        RowError(2, "Đường dẫn trực tuyến",
                 "đường dẫn phải bắt đầu bằng http:// hoặc https:// (zalo nhóm lớp)"),
    ),
    "training of an unknown cadre": (
        "training", bad("training", 3, {"Số điện thoại": "0900000000"}),
        RowError(3, "Số điện thoại", "không có cán bộ nào có số 0900000000 trong danh sách"),
    ),
    "training in an unknown course": (
        "training", bad("training", 2, {"Mã khóa": "BD-1999"}),
        RowError(2, "Mã khóa", "không có khóa học nào mã «BD-1999»"),
    ),
    "completed in the future": (
        "training", bad("training", 2, {"Ngày": "01/01/2099"}),
        RowError(2, "Ngày", "ngày 01/01/2099 chưa tới mà trạng thái đã là «đã hoàn thành»"),
    ),
    "completed before the course started": (
        "training", bad("training", 2, {"Ngày": "19/04/2026"}),
        RowError(2, "Ngày", "ngày 19/04/2026 trước ngày khóa học bắt đầu (20/04/2026)"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_reported_with_row_and_column_and_nothing_is_written(database, tmp_path, case):
    kind, rows, expected = BAD_ROWS[case]
    seed(database, kind)
    before = dump(database)
    headers = list(dict.fromkeys(h for r in rows for h in r))
    plan = plan_file(database, kind, write_table(tmp_path / "bad.xlsx", rows, headers))
    assert plan.errors == [expected]
    with pytest.raises(ImportRejected):
        database.call(importer.apply_import, plan)
    assert dump(database) == before


def test_every_error_of_the_file_is_reported_at_once(database):
    rows = bad("cadres", 2, {"Số điện thoại": "0912", "Mã xã": "1"})
    rows[1].update({"Đạt chuẩn": "có lẽ", "Hạn đạt chuẩn": "32/1/2027"})
    plan = database.call(importer.plan_import, "cadres", rows)
    assert [(e.row, e.column) for e in plan.errors] == [
        (2, "Mã xã"),
        (2, "Số điện thoại"),
        (3, "Đạt chuẩn"),
        (3, "Hạn đạt chuẩn"),
    ]


def test_format_errors_gives_one_vietnamese_line_per_error():
    errors = [
        RowError(1, "Đạt chuẩn", "thiếu cột bắt buộc"),
        RowError(5, "Số điện thoại", "số điện thoại không hợp lệ (0912)"),
        RowError(7, "", "đây là dòng ví dụ của mẫu; hãy xóa dòng này"),
    ]
    assert importer.format_errors(errors) == (
        "Dòng 1, cột «Đạt chuẩn»: thiếu cột bắt buộc\n"
        "Dòng 5, cột «Số điện thoại»: số điện thoại không hợp lệ (0912)\n"
        "Dòng 7: đây là dòng ví dụ của mẫu; hãy xóa dòng này"
    )
    assert importer.format_errors(errors, limit=1).endswith("\n… và 2 lỗi khác.")


def test_row_numbers_are_those_of_the_file(database, tmp_path):
    """Blank lines above the header and between rows do not shift the numbers."""
    path = tmp_path / "co-dong-trong.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A2"] = None  # openpyxl writes nothing for an empty row; style one instead
    sheet["A2"].number_format = "@"
    sheet.append(["Họ và tên", "Mã xã", "Số điện thoại", "Đạt chuẩn"])  # line 3
    sheet.append(["Trần Thị Bình", 27610, "0912345678", "Có"])
    sheet.append([])
    sheet.append(["Lê Văn Cường", 27610, "0912", "Có"])  # line 6
    workbook.save(path)
    plan = plan_file(database, "cadres", path)
    assert [(e.row, e.column) for e in plan.errors] == [(6, "Số điện thoại")]


def test_a_title_above_the_header_is_explained(database, tmp_path):
    path = tmp_path / "co-tieu-de.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["DANH SÁCH CÁN BỘ XÃ BÌNH LỢI"])
    workbook.active.append(["Họ và tên", "Mã xã", "Số điện thoại", "Đạt chuẩn"])
    workbook.save(path)
    [error] = plan_file(database, "cadres", path).errors
    assert (error.row, error.column) == (1, "")
    assert error.message.startswith("dòng này không phải dòng tiêu đề của mẫu")


def test_data_under_a_column_without_header_is_reported(database, tmp_path):
    rows = [{**SAMPLES["courses"][0], "": "ghi chú lạc"}]
    path = tmp_path / "khoa.xlsx"
    write_rows(path, [*SAMPLES["courses"][0], ""], rows)
    plan = plan_file(database, "courses", path)
    assert [(e.row, e.column) for e in plan.errors] == [(1, "Cột J")]


def test_a_failure_while_writing_leaves_nothing_behind(database):
    """All or nothing, even when the database itself refuses half-way."""
    database.call(
        lambda db: db.execute(
            "CREATE TRIGGER no_second AFTER INSERT ON cadres WHEN NEW.full_name = 'Lê Văn Cường'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    )
    before = dump(database)
    plan = database.call(importer.plan_import, "cadres", SAMPLES["cadres"])
    with pytest.raises(sqlite3.IntegrityError):
        database.call(importer.apply_import, plan)
    assert dump(database) == before


def test_apply_checks_again_against_the_current_database(database):
    seed(database, "training")
    plan = database.call(importer.plan_import, "training", SAMPLES["training"])
    assert plan.errors == []
    database.call(lambda db: db.execute("DELETE FROM courses WHERE code = 'BD-2026-02'"))
    with pytest.raises(ImportRejected) as refused:
        database.call(importer.apply_import, plan)
    assert refused.value.errors == [RowError(3, "Mã khóa", "không có khóa học nào mã «bd-2026-02»")]
    assert query(database, "SELECT count(*) FROM training_records") == [(0,)]


# --- re-import, updates and round trips ------------------------------------------------------


@pytest.mark.parametrize("kind", importer.KINDS)
def test_reimport_is_idempotent(database, tmp_path, kind):
    seed(database, kind)
    path = write_table(tmp_path / f"{kind}.xlsx", SAMPLES[kind])
    import_file(database, kind, path)
    before = dump(database)
    assert import_file(database, kind, path) == ImportCounts(added=0, changed=0, unchanged=2)
    assert dump(database) == before


def test_changed_rows_are_counted_and_named(database):
    import_rows(database, "cadres", SAMPLES["cadres"])
    rows = bad("cadres", 3, {"Chức vụ": "Phó Chủ tịch UBND xã"})
    plan = database.call(importer.plan_import, "cadres", [*rows, SAMPLES["cadres"][0] | {
        "Số điện thoại": "0911222333", "Họ và tên": "Đỗ Văn Hải"}])  # fmt: skip
    assert plan.counts == ImportCounts(added=1, changed=1, unchanged=1)
    assert [(p.row, p.action, p.changed) for p in plan.planned] == [
        (2, "same", ()),
        (3, "change", ("Chức vụ",)),
        (4, "add", ()),
    ]


def test_updating_a_cadre_keeps_the_telegram_link(database):
    import_rows(database, "cadres", SAMPLES["cadres"])
    database.call(
        lambda db: db.execute(
            "UPDATE cadres SET telegram_user_id = 4242, subscribed = 0 WHERE full_name LIKE 'Tr%'"
        )
    )
    rows = bad("cadres", 2, {"Họ và tên": "Trần Thị Bình An", "Đạt chuẩn": "Có"})
    assert import_rows(database, "cadres", rows) == ImportCounts(0, 1, 1)
    assert query(
        database,
        "SELECT id, full_name, meets_standard, telegram_user_id, subscribed FROM cadres"
        " WHERE phone = '+84912345678'",
    ) == [(1, "Trần Thị Bình An", 1, 4242, 0)]


def test_a_column_left_out_is_left_alone_an_empty_cell_clears(database):
    import_rows(database, "cadres", SAMPLES["cadres"])
    without = [{k: v for k, v in r.items() if k != "Chức vụ"} for r in SAMPLES["cadres"]]
    assert import_rows(database, "cadres", without) == ImportCounts(0, 0, 2)
    assert query(database, "SELECT position FROM cadres WHERE id = 1") == [
        ("Công chức Văn hóa - Xã hội",)
    ]
    assert import_rows(database, "cadres", bad("cadres", 2, {"Chức vụ": ""})) == ImportCounts(
        0, 1, 1
    )
    assert query(database, "SELECT position FROM cadres WHERE id = 1") == [(None,)]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("kind", importer.KINDS)
def test_export_then_import_changes_nothing(database, tmp_path, kind, suffix):
    seed(database, kind)
    import_rows(database, kind, SAMPLES[kind])
    before = dump(database)
    path = tmp_path / f"xuat{suffix}"
    assert database.call(importer.export, kind, path) == 2
    assert read_sheet(path).headers == [c.header for c in importer.SPECS[kind].columns]
    assert import_file(database, kind, path) == ImportCounts(added=0, changed=0, unchanged=2)
    assert dump(database) == before


def test_export_writes_text_never_formulas(database, tmp_path):
    rows = [SAMPLES["courses"][1] | {"Tên khóa học": '=HYPERLINK("http://x")'}]
    import_rows(database, "courses", rows)
    path = tmp_path / "khoa.xlsx"
    database.call(importer.export, "courses", path)
    cell = openpyxl.load_workbook(path).active["B2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", importer.KINDS)
def test_template_has_headers_an_example_and_a_note_per_column(database, tmp_path, kind):
    path = tmp_path / f"mau-{kind}.xlsx"
    importer.template(kind, path)
    sheet = openpyxl.load_workbook(path).active
    columns = importer.SPECS[kind].columns
    assert [c.value for c in sheet[1]] == [c.header for c in columns]
    assert all(c.font.bold for c in sheet[1])
    assert [c.value for c in sheet[2]] == [c.example for c in columns]
    notes = [c.comment.text for c in sheet[1]]
    assert all(notes) and notes[0].startswith("Bắt buộc.")
    # Imported as is, the example row is caught instead of becoming data.
    seed(database, kind)
    plan = plan_file(database, kind, path)
    assert plan.errors == [RowError(2, "", "đây là dòng ví dụ của mẫu; hãy xóa dòng này")]


# --- hostile files -----------------------------------------------------------------------------


def small_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Mã khóa", "Tên khóa học", "Ngày bắt đầu"])
    workbook.active.append(["K1", "Tập huấn", "04/05/2026"])
    workbook.save(path)
    return path


def rewrite_sheet(path: Path, edit) -> Path:
    """Rewrite the first sheet's XML inside the xlsx zip with `edit(xml) -> xml`."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = edit(parts[name].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return path


def refused(path: Path) -> str:
    with pytest.raises(SpreadsheetError) as error:
        read_rows(path)
    return str(error.value)


def test_text_file_named_xlsx_is_refused(tmp_path):
    path = tmp_path / "ds.xlsx"
    path.write_text("Họ và tên,Mã xã\n")
    assert "không phải bảng tính Excel (.xlsx) hợp lệ" in refused(path)


def test_renamed_image_is_refused(tmp_path):
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(range(256)) * 8
    (tmp_path / "anh.xlsx").write_bytes(jpeg)
    (tmp_path / "anh.csv").write_bytes(jpeg)
    assert "không phải bảng tính Excel (.xlsx) hợp lệ" in refused(tmp_path / "anh.xlsx")
    assert "không phải tệp CSV" in refused(tmp_path / "anh.csv")


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "nen.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "không phải Excel")
    assert "không phải bảng tính Excel (.xlsx) hợp lệ" in refused(path)


def test_huge_declared_dimension_is_refused_before_reading(tmp_path):
    path = rewrite_sheet(
        small_xlsx(tmp_path / "bom.xlsx"),
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C1000000"', xml),
    )
    assert refused(path) == "Bảng có quá nhiều dòng; tối đa 20.000 dòng. Hãy chia thành nhiều tệp."


def test_too_many_declared_columns_is_refused(tmp_path):
    path = rewrite_sheet(
        small_xlsx(tmp_path / "rong.xlsx"),
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:ZZ3"', xml),
    )
    assert "quá nhiều cột" in refused(path)


def test_rows_past_the_cap_are_refused_even_if_the_dimension_lies(tmp_path):
    far = MAX_ROWS + 5
    path = rewrite_sheet(
        small_xlsx(tmp_path / "doi.xlsx"),
        lambda xml: xml.replace(
            "</sheetData>",
            f'<row r="{far}"><c r="A{far}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        ),
    )
    assert "quá nhiều dòng" in refused(path)


def test_a_dimension_that_is_too_small_does_not_hide_rows(tmp_path):
    path = rewrite_sheet(
        small_xlsx(tmp_path / "nho.xlsx"),
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', xml),
    )
    assert read_rows(path) == [
        {"Mã khóa": "K1", "Tên khóa học": "Tập huấn", "Ngày bắt đầu": "04/05/2026"}
    ]


def test_file_over_5_mb_is_refused(tmp_path):
    path = tmp_path / "lon.csv"
    path.write_bytes(b"Ma khoa\n" + b"K1\n" * (2 * 1024 * 1024))
    assert refused(path).startswith("Tệp lon.csv quá lớn (6.0 MB)")


def test_zip_that_unpacks_to_far_too_much_is_refused(tmp_path):
    path = small_xlsx(tmp_path / "bom-zip.xlsx")
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(120):
            member.write(bytes(1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    assert "nội dung giải nén quá lớn" in refused(path)


def test_legacy_xls_and_other_formats_are_refused_with_advice(tmp_path):
    (tmp_path / "cu.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    (tmp_path / "ds.docx").write_bytes(b"PK")
    assert "định dạng Excel cũ (.xls)" in refused(tmp_path / "cu.xls")
    assert "chỉ nhận bảng tính Excel (.xlsx) hoặc CSV (.csv)" in refused(tmp_path / "ds.docx")


def test_csv_in_a_windows_encoding_is_refused_with_advice(tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes("Họ và tên\nNguyễn Văn An\n".encode("cp1258", errors="replace"))
    assert "không phải CSV mã UTF-8" in refused(path)


# --- the command line --------------------------------------------------------------------------


def ntm_bot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {tmp_path / 'cli.sqlite3'}\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


def test_cli_dry_run_and_errors_write_nothing(tmp_path):
    assert ntm_bot(tmp_path, "init").returncode == 0
    good = write_table(tmp_path / "can-bo.csv", SAMPLES["cadres"])
    broken = write_table(tmp_path / "loi.csv", bad("cadres", 3, {"Số điện thoại": "0912"}))
    result = ntm_bot(tmp_path, "import", "cadres", str(broken))
    assert result.returncode == 1
    assert "Dòng 3, cột «Số điện thoại»: số điện thoại không hợp lệ (0912)" in result.stdout
    assert "chưa ghi gì" in result.stderr
    result = ntm_bot(tmp_path, "import", "--dry-run", "cadres", str(good))
    assert result.returncode == 0, result.stderr
    assert "thêm 2, cập nhật 0, giữ nguyên 0" in result.stdout and "--dry-run" in result.stdout
    conn = sqlite3.connect(tmp_path / "cli.sqlite3")
    assert conn.execute("SELECT count(*) FROM cadres").fetchone() == (0,)


def test_cli_import_export_and_template(tmp_path):
    assert ntm_bot(tmp_path, "init").returncode == 0
    path = write_table(tmp_path / "can-bo.xlsx", SAMPLES["cadres"])
    result = ntm_bot(tmp_path, "import", "cadres", str(path))
    assert result.returncode == 0, result.stderr
    assert "Đã ghi: thêm 2, cập nhật 0, giữ nguyên 0." in result.stdout
    result = ntm_bot(tmp_path, "export", "cadres", "xuat.csv")
    assert (result.returncode, result.stdout.strip()) == (0, "Đã xuất 2 dòng vào xuat.csv.")
    result = ntm_bot(tmp_path, "import", "cadres", "xuat.csv")
    assert "Đã ghi: thêm 0, cập nhật 0, giữ nguyên 2." in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "bot", "template", "courses", "mau.xlsx"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_sheet(tmp_path / "mau.xlsx").headers[0] == "Mã khóa"


def test_csv_export_neutralises_formulas_and_import_keeps_the_text(database, tmp_path):
    title = '=HYPERLINK("http://x","bam")'
    rows = [SAMPLES["courses"][1] | {"Tên khóa học": title}]
    import_rows(database, "courses", rows)
    assert query(database, "SELECT title FROM courses WHERE title LIKE '=%'") == [(title,)]
    path = tmp_path / "khoa.csv"
    database.call(importer.export, "courses", path)
    text = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert not any(
        line.split(",")[1:2] == ['"=HYPERLINK(""http://x""'] for line in text.splitlines()
    )
