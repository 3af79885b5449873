"""Reading and writing the coordinators' tables: .xlsx (Excel) and .csv (UTF-8).

Files come from people (and may come from anyone who can send the bot a document), so
reading is defensive: the size, the zip content and the sheet's declared dimension are
checked before anything is parsed, and reading stops at the row cap even when the
declared dimension lies. Every cell becomes a trimmed string; the importer parses them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000  # rows of the sheet, header included
MAX_COLUMNS = 50
# A 5 MB xlsx may unpack to gigabytes; a legitimate 20,000 × 50 sheet stays well below.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 500

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and encrypted .xlsx


class SpreadsheetError(Exception):
    """The file cannot be read as a table; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class Sheet:
    """A table as read: `rows[i]` is on line `header_row + 1 + i` of the file.

    Blank lines between data rows are kept as all-empty rows so that line numbers stay
    those the person sees; trailing blank lines are dropped.
    """

    headers: list[str]
    rows: list[dict[str, str]]
    header_row: int = 1


def read_rows(path: Path | str) -> list[dict[str, str]]:
    """The data rows of a .xlsx or .csv file as {header: text}; see `read_sheet`."""
    return read_sheet(path).rows


def read_sheet(path: Path | str) -> Sheet:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise SpreadsheetError(f"Không đọc được tệp {path.name}.") from None
    if size > MAX_BYTES:
        raise SpreadsheetError(
            f"Tệp {path.name} quá lớn ({size / 1024 / 1024:.1f} MB); "
            f"chỉ nhận tệp đến {MAX_BYTES // 1024 // 1024} MB."
        )
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _table(_xlsx_rows(path), letters=True)
    if suffix == ".csv":
        return _table(_csv_rows(path), letters=False)
    if suffix == ".xls":
        raise SpreadsheetError(_OLD_EXCEL)
    raise SpreadsheetError(
        f"Không nhận tệp «{path.name}»: chỉ nhận bảng tính Excel (.xlsx) hoặc CSV (.csv)."
    )


_OLD_EXCEL = (
    "Tệp là định dạng Excel cũ (.xls). Hãy mở bằng Excel, chọn Lưu thành "
    "«Sổ làm việc Excel (.xlsx)» rồi gửi lại."
)


def cell_text(value: object) -> str:
    """A cell as the person reads it: 123.0 -> '123', a date -> 'dd/mm/yyyy', trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps every number as a float; a phone typed as a number is a whole one.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    # macOS may hand over decomposed (NFD) Vietnamese; everything else compares NFC.
    return unicodedata.normalize("NFC", str(value)).strip()


def _table(lines: Iterator[tuple[int, list[str]]], letters: bool) -> Sheet:
    """Header = first non-empty line; data = every line after it, keyed by header.

    `lines` yields (line number, cell texts) for every line, blank ones included. A
    column without a header but with data gets the label the person sees ("Cột F"), so
    the importer reports it as an unknown column instead of dropping what was typed.
    """
    header_row = 0
    headers: list[str] = []
    raw: list[list[str]] = []
    for number, cells in lines:
        if header_row:
            raw.append(cells)
        elif any(cells):
            header_row, headers = number, list(cells)
    if not header_row:
        raise SpreadsheetError("Tệp trống: không có dòng tiêu đề nào.")
    width = max([len(headers), *(len(c) for c in raw)])
    if width > MAX_COLUMNS:
        raise SpreadsheetError(f"Bảng có quá nhiều cột ({width}); tối đa {MAX_COLUMNS} cột.")
    headers += [""] * (width - len(headers))
    named: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if not header and any(index < len(c) and c[index] for c in raw):
            header = f"Cột {_label(index, letters)}"
        if not header:
            continue
        if header in seen:
            raise SpreadsheetError(
                f"Cột «{header}» có hai lần (cột {_label(seen[header], letters)} "
                f"và {_label(index, letters)}); mỗi cột chỉ được có một lần."
            )
        seen[header] = index
        named.append((index, header))
    rows = [{k: c[i] if i < len(c) else "" for i, k in named} for c in raw]
    while rows and not any(rows[-1].values()):
        rows.pop()
    return Sheet([k for _, k in named], rows, header_row)


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _label(index: int, letters: bool) -> str:
    return _letter(index) if letters else str(index + 1)


def _too_many_rows() -> SpreadsheetError:
    limit = f"{MAX_ROWS:,}".replace(",", ".")  # Vietnamese groups thousands with dots
    return SpreadsheetError(
        f"Bảng có quá nhiều dòng; tối đa {limit} dòng. Hãy chia thành nhiều tệp."
    )


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    _check_zip(path)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about harmless things (missing default style, extensions).
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # hostile or broken files fail in many ways inside openpyxl
        raise SpreadsheetError(_NOT_XLSX) from None
    try:
        if not workbook.worksheets:
            raise SpreadsheetError("Tệp Excel không có trang tính nào.")
        sheet = workbook.worksheets[0]
        if not hasattr(sheet, "reset_dimensions"):  # a chartsheet, not a worksheet
            raise SpreadsheetError("Trang đầu tiên của tệp Excel không phải bảng dữ liệu.")
        # The declared dimension is checked first so a bomb is refused before parsing…
        if (sheet.max_row or 0) > MAX_ROWS:
            raise _too_many_rows()
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise SpreadsheetError(
                f"Bảng có quá nhiều cột ({sheet.max_column}); tối đa {MAX_COLUMNS} cột."
            )
        # …then ignored: a dimension that is too small would otherwise cut rows silently.
        sheet.reset_dimensions()
        yield from _capped_xlsx_rows(sheet)
    except SpreadsheetError:
        raise
    except Exception:
        raise SpreadsheetError(_NOT_XLSX) from None
    finally:
        workbook.close()


_NOT_XLSX = (
    "Tệp không phải bảng tính Excel (.xlsx) hợp lệ, hoặc đã bị hỏng. "
    "Hãy mở bằng Excel, lưu lại dạng .xlsx rồi gửi lại."
)


def _capped_xlsx_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > MAX_ROWS:
            raise _too_many_rows()
        cells = [cell_text(v) for v in values]
        if len(cells) > MAX_COLUMNS:
            if any(cells[MAX_COLUMNS:]):
                raise SpreadsheetError(
                    f"Bảng có quá nhiều cột ({len(cells)}); tối đa {MAX_COLUMNS} cột."
                )
            cells = cells[:MAX_COLUMNS]  # formatted but empty cells far to the right
        yield number, cells


def _check_zip(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(8)
    if head == _OLE2_MAGIC:
        raise SpreadsheetError(_OLD_EXCEL)
    if not zipfile.is_zipfile(path):
        raise SpreadsheetError(_NOT_XLSX)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SpreadsheetError(_NOT_XLSX) from None
    # zipfile never inflates a member past its declared size, so these bound the work.
    unpacked = sum(m.file_size for m in members)
    if len(members) > MAX_ZIP_MEMBERS or unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetError(
            "Tệp Excel bất thường (nội dung giải nén quá lớn); "
            "hãy sao chép dữ liệu sang một tệp mới rồi gửi lại."
        )


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    if b"\x00" in data or data.startswith(_OLE2_MAGIC) or data.startswith(b"PK\x03\x04"):
        raise SpreadsheetError(
            f"Tệp «{path.name}» không phải tệp CSV (văn bản). "
            "Hãy gửi bảng tính Excel (.xlsx) hoặc CSV UTF-8."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            f"Tệp «{path.name}» không phải CSV mã UTF-8. Trong Excel, chọn Lưu thành "
            "«CSV UTF-8 (phân tách bằng dấu phẩy)», hoặc gửi tệp .xlsx."
        ) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if "," not in first and ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise _too_many_rows()
            yield number, [cell_text(c) for c in record]
    except csv.Error as exc:
        raise SpreadsheetError(f"Tệp CSV bị lỗi ở dòng {reader.line_num}: {exc}.") from None


_FORMULA_STARTS = frozenset("=+-@\t\r")


def write_rows(
    path: Path | str,
    headers: Sequence[str],
    rows: Iterable[Mapping[str, object]],
    notes: Mapping[str, str] | None = None,
) -> None:
    """Write a table to .xlsx (bold header, widths, notes as comments) or .csv (UTF-8).

    In .xlsx every column is formatted as text, so a phone typed later keeps its 0 and a
    date typed as 03/04/2026 is not turned into 4 March by an English-locale Excel.
    The file is replaced atomically.
    """
    path = Path(path)
    table = [[_out(row.get(h)) for h in headers] for row in rows]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _atomic(path, lambda f: _write_csv(f, headers, table))
    elif suffix == ".xlsx":
        _atomic(path, lambda f: _write_xlsx(f, headers, table, notes or {}))
    else:
        raise SpreadsheetError(f"Chỉ ghi được tệp .xlsx hoặc .csv, không ghi được «{path.name}».")


def _out(value: object) -> str:
    return "" if value is None else str(value)


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_csv(f, headers: Sequence[str], table: list[list[str]]) -> None:
    # With a BOM, Excel opens the file as UTF-8 and shows the diacritics right.
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows([_inert(cell) for cell in row] for row in table)
    text.flush()
    text.detach()


def _inert(cell: str) -> str:
    """A CSV cell that a spreadsheet would run as a formula ("=HYPERLINK(…)", "+cmd|…",
    "@SUM(…)") gets a leading apostrophe, as OWASP recommends; .xlsx stores text inertly."""
    return f"'{cell}" if cell[:1] in _FORMULA_STARTS else cell


def _write_xlsx(f, headers: Sequence[str], table: list[list[str]], notes: Mapping) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Dữ liệu"
    bold = Font(bold=True)
    for col, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=col, value=header)
        cell.font = bold
        if notes.get(header):
            comment = Comment(notes[header], "Trợ lý NTM")
            comment.width, comment.height = 320, 40 + 18 * (len(notes[header]) // 40 + 1)
            cell.comment = comment
    for r, values in enumerate(table, start=2):
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=col)
            cell.value = value
            # A value starting with "=" is text from the database, never a formula.
            cell.data_type = "s"
            cell.number_format = "@"
    for col, header in enumerate(headers, start=1):
        letter = get_column_letter(col)
        longest = max([len(header), *(len(v[col - 1]) for v in table[:2000])])
        sheet.column_dimensions[letter].width = min(max(longest + 3, 10), 60)
        sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    workbook.save(f)
