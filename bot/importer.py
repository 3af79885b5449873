"""Import, template and export of the coordinators' tables (one spec per kind of data).

A coordinator keeps the NTM status of communes, criteria scores, the cadre roster,
courses and training records in Excel. `plan_import` checks every row against the
database and reports every problem at once, with the row and column as the person sees
them; `apply_import` then writes the whole file in one transaction, or nothing. Rows are
matched on a natural key (commune code, phone, course code…) so importing the same file
twice changes nothing, and `export` writes files that import back unchanged.

A column left out of the file leaves that field alone; a column present with an empty
cell clears it. Plain functions over a sqlite-utils `Database`; run them through
`bot.db.Database`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

from bot import audit
from bot.clock import vietnam_today
from bot.communes import LEVELS
from bot.normalize import fold
from bot.phone import normalize_phone
from bot.roles import NATIONAL, Scope
from bot.roster import STATUS_LABELS
from bot.spreadsheet import write_rows
from bot.units import search_key

TEXT_LIMIT = 1000


class CellError(ValueError):
    """A cell's text is not a valid value; the message is Vietnamese, for the person."""


class ImportRejected(Exception):
    """`apply_import` refused: the file has errors (now, against the current database)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"Tệp có {len(errors)} lỗi, chưa ghi gì vào cơ sở dữ liệu.")
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    row: int  # as the person sees it: header = 1, first data row = 2
    column: str  # the Vietnamese header; "" when the whole row is concerned
    message: str


@dataclass(frozen=True)
class ImportCounts:
    added: int
    changed: int
    unchanged: int


@dataclass(frozen=True)
class PlannedRow:
    row: int
    action: str  # "add" / "change" / "same"
    record: dict[str, object]  # database columns to write: the key and the fields present
    changed: tuple[str, ...] = ()  # headers whose value differs from the database


@dataclass
class ImportPlan:
    kind: str
    errors: list[RowError]
    planned: list[PlannedRow]
    added: int
    changed: int
    unchanged: int
    # What the plan was made from, so `apply_import` can check it again at write time.
    source: tuple[list[dict[str, str]], list[str], int] = field(
        repr=False, default_factory=lambda: ([], [], 1)
    )
    scope: Scope = NATIONAL  # whose import it is: checked again at write time

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def counts(self) -> ImportCounts:
        return ImportCounts(self.added, self.changed, self.unchanged)


# --- cell parsers: text -> value, or CellError --------------------------------------------


def fold_key(text: str) -> str:
    """How headers and choices are compared: no diacritics, lower case, single spaces."""
    return " ".join(fold(text).lower().split())


def _text(text: str) -> str:
    value = " ".join(text.split())
    if len(value) > TEXT_LIMIT:
        raise CellError(f"nội dung quá dài ({len(value)} ký tự; tối đa {TEXT_LIMIT})")
    return value


COURSE_CODE_BYTES = 40  # a course code travels in button data, which Telegram caps at 64 bytes


def _course_code(text: str) -> str:
    value = _text(text)
    if " " in value or len(value.encode()) > COURSE_CODE_BYTES:
        raise CellError(
            f"mã khóa phải liền nhau, không dấu cách, tối đa {COURSE_CODE_BYTES} ký tự "
            "không dấu (ví dụ BD-2026-01)"
        )
    return value


def _integer(low: int, high: int | None = None, prefix: str = "") -> Callable[[str], int]:
    """An int in [low, high]; `prefix` is a word people put before it ("nhóm 2")."""

    def parse(text: str) -> int:
        digits = fold_key(text)
        if prefix and digits.startswith(prefix):
            digits = digits[len(prefix) :].strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", digits):
            raise CellError(f"không phải số nguyên ({text})")
        value = int(digits)
        if value < low or (high is not None and value > high):
            bound = f"từ {low} đến {high}" if high is not None else f"từ {low} trở lên"
            raise CellError(f"phải là số {bound} ({text})")
        return value

    return parse


_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(text: str) -> str:
    """'15/3/2026', '15/03/2026', '2026-03-15' -> '2026-03-15'."""
    value = text.strip()
    if match := _ISO.fullmatch(value):
        year, month, day = match.groups()
    elif match := _DMY.fullmatch(value):
        day, month, year = match.groups()
    else:
        raise CellError(f"ngày không đúng dạng ngày/tháng/năm, ví dụ 15/03/2026 ({text})")
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        raise CellError(f"ngày không có thật ({text})") from None
    if not 1990 <= date.year <= 2100:
        raise CellError(f"năm không hợp lý ({text})")
    return date.isoformat()


def parse_phone(text: str) -> str:
    phone = normalize_phone(text)
    # Excel drops the leading 0 of a phone typed as a number: 912345678 is 0912345678.
    if phone is None and re.fullmatch(r"[1-9]\d{8}", text.strip()):
        phone = normalize_phone("0" + text.strip())
    if phone is None:
        raise CellError(f"số điện thoại không hợp lệ ({text})")
    return phone


def _choice(values: Mapping[str, object], shown: Sequence[str], ignore: str = ""):
    """One of `values` (keys already folded); `ignore` is a regex of filler words."""

    def parse(text: str) -> object:
        key = fold_key(text)
        if ignore:
            key = " ".join(re.sub(ignore, " ", key).split())
        if key not in values:
            allowed = ", ".join(f"«{s}»" for s in shown)
            raise CellError(f"«{text}» không phải giá trị hợp lệ; chọn một trong: {allowed}")
        return values[key]

    return parse


_level = _choice({fold_key(v): v for v in LEVELS}, LEVELS, ignore=r"\b(xa|ntm|nong thon moi)\b")

_YES = ("có", "x", "yes", "y", "1", "true", "đạt")
_NO = ("không", "k", "no", "n", "0", "false", "chưa đạt", "chưa")
_yes_no = _choice(
    {**{fold_key(v): 1 for v in _YES}, **{fold_key(v): 0 for v in _NO}}, ("Có", "Không")
)

STATUSES = STATUS_LABELS  # registered / attended / completed, as people write them
_status = _choice(
    {
        **{fold_key(label): code for code, label in STATUSES.items()},
        **{fold_key(label.removeprefix("đã ")): code for code, label in STATUSES.items()},
        "da dang ki": "registered",
        "dang ki": "registered",
        **{code: code for code in STATUSES},
    },
    tuple(STATUSES.values()),
)


def _url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text.strip():
        raise CellError(f"đường dẫn phải bắt đầu bằng http:// hoặc https:// ({text})")
    return _text(text)


# --- export renderers: stored value -> cell text ------------------------------------------


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def _date_text(value: object) -> str:
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y") if value else ""


def _phone_text(value: object) -> str:
    # People write national numbers; normalize_phone reads them back to the same +84 form.
    return f"0{value[3:]}" if isinstance(value, str) and value.startswith("+84") else _plain(value)


def _yes_no_text(value: object) -> str:
    return "" if value is None else ("Có" if value else "Không")


def _status_text(value: object) -> str:
    return STATUSES.get(value, _plain(value))


# --- specs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    field: str  # database column, or a name only the resolver uses (stored=False)
    parse: Callable[[str], object]
    required: bool = False
    stored: bool = True
    note: str = ""
    example: str = ""
    render: Callable[[object], str] = _plain


@dataclass
class Refs:
    """What rows are checked against, loaded once per plan."""

    communes: dict[int, str]  # code -> official name
    courses: set[str] = field(default_factory=set)
    courses_folded: dict[str, str] = field(default_factory=dict)  # casefolded -> stored code
    cadres: dict[str, int] = field(default_factory=dict)  # +84 phone -> id
    course_starts: dict[str, str] = field(default_factory=dict)  # code -> ISO start date
    today: str = ""  # ISO, Vietnam time: no record is completed after it
    # The importer's scope: rows outside it are errors (bot.roles).
    scope: Scope = NATIONAL
    province_of: dict[int, int] = field(default_factory=dict)  # commune -> province
    cadre_communes: dict[str, int] = field(default_factory=dict)  # +84 phone -> commune
    course_owners: dict[str, int | None] = field(default_factory=dict)  # code -> province

    def in_scope(self, commune_code: int) -> bool:
        if self.scope.kind == "national":
            return True
        if self.scope.kind == "province":
            return self.province_of.get(commune_code) == self.scope.code
        return commune_code == self.scope.code


Resolver = Callable[[dict[str, object], Refs], list[tuple[str, str]]]


@dataclass(frozen=True)
class Spec:
    kind: str
    title: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # database columns of the natural key
    key_columns: tuple[str, ...]  # the fields of the file's columns that make the key
    resolve: Resolver  # checks against the database; may fill key fields (cadre_id)
    export_sql: str
    insert: bool = True  # False: every key must already exist (communes are seeded)


def _commune_exists(values: dict[str, object], refs: Refs, name: str) -> list[tuple[str, str]]:
    code = values.get(name)
    if code is not None and code not in refs.communes:
        return [(name, f"không có xã nào mã {code} trong danh mục")]
    if isinstance(code, int) and not refs.in_scope(code):
        return [(name, f"xã mã {code} ({refs.communes[code]}) {OUTSIDE}")]
    return []


OUTSIDE = "ngoài phạm vi bạn phụ trách"


def _cadre_in_scope(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    """An existing cadre (by phone) of a commune outside the scope is not the importer's
    to change, nor to move into their scope."""
    commune = refs.cadre_communes.get(values.get("phone"))  # type: ignore[arg-type]
    if commune is not None and not refs.in_scope(commune):
        return [("phone", f"cán bộ có số này thuộc xã {OUTSIDE}")]
    return []


def _resolve_communes(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    problems = _commune_exists(values, refs, "code")
    name, official = values.get("name"), refs.communes.get(values.get("code"))
    if not problems and name and official and search_key(str(name)) != search_key(official):
        problems.append(("name", f"tên không khớp mã: mã {values['code']} là «{official}»"))
    return problems


def _resolve_criteria(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    problems = _commune_exists(values, refs, "commune_code")
    met, total = values.get("met"), values.get("total")
    if isinstance(met, int) and isinstance(total, int) and met > total:
        problems.append(("met", f"số chỉ tiêu đạt ({met}) lớn hơn tổng số chỉ tiêu ({total})"))
    return problems


def _resolve_cadres(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    return _commune_exists(values, refs, "commune_code") + _cadre_in_scope(values, refs)


def _resolve_courses(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    """Dates in order; a province's coordinators keep their own courses (a new one is
    theirs), commune coordinators import none."""
    problems = []
    if refs.scope.kind == "commune":
        problems.append(("code", "khóa học do điều phối viên cấp tỉnh hoặc trung ương nhập"))
    elif refs.scope.kind == "province":
        code = values.get("code")
        owner = refs.course_owners.get(code, refs.scope.code)  # type: ignore[arg-type]
        if owner != refs.scope.code:
            problems.append(("code", f"khóa học mã «{code}» do nơi khác quản lý"))
        values["province_code"] = refs.scope.code
    start, end = values.get("start_date"), values.get("end_date")
    deadline = values.get("registration_deadline")
    if start and end and end < start:
        problems.append(("end_date", "ngày kết thúc trước ngày bắt đầu"))
    if start and deadline and deadline > start:
        problems.append(("registration_deadline", "hạn đăng ký sau ngày bắt đầu khóa học"))
    return problems


def _resolve_training(values: dict[str, object], refs: Refs) -> list[tuple[str, str]]:
    """Phone -> the cadre's id; course code -> the stored code (case-insensitively)."""
    problems = []
    phone, course = values.get("phone"), values.get("course_code")
    if phone is not None:
        if phone in refs.cadres:
            values["cadre_id"] = refs.cadres[phone]
            problems += _cadre_in_scope(values, refs)
        else:
            shown = _phone_text(phone)
            problems.append(("phone", f"không có cán bộ nào có số {shown} trong danh sách"))
    if course is not None:
        stored = course if course in refs.courses else refs.courses_folded.get(course.casefold())
        if stored is None:
            problems.append(("course_code", f"không có khóa học nào mã «{course}»"))
        else:
            values["course_code"] = stored
            problems += _impossible_date(values, refs.course_starts[stored], refs.today)
    return problems


def _impossible_date(values: dict[str, object], start: str, today: str) -> list[tuple[str, str]]:
    """Attending or completing a course happens neither before it starts nor in the future
    (a registration may well come before the start)."""
    date, status = values.get("date"), values.get("status")
    if not isinstance(date, str) or status not in ("attended", "completed"):
        return []
    done = STATUSES[status]
    if date > today:
        return [("date", f"ngày {_date_text(date)} chưa tới mà trạng thái đã là «{done}»")]
    if date < start:
        return [
            ("date", f"ngày {_date_text(date)} trước ngày khóa học bắt đầu ({_date_text(start)})")
        ]
    return []


_CRITERIA = (
    "1 Quy hoạch; 2 Hạ tầng kinh tế - xã hội; 3 Phát triển kinh tế nông thôn; "
    "4 Đào tạo nguồn nhân lực nông thôn; 5 Văn hóa, giáo dục, y tế; "
    "6 Giảm nghèo và an sinh xã hội; 7 Khoa học công nghệ và chuyển đổi số; "
    "8 Môi trường và cảnh quan nông thôn; 9 Xây dựng hệ thống chính trị và hành chính công; "
    "10 Tiếp cận pháp luật và an ninh, quốc phòng"
)
_REQUIRED, _OPTIONAL = "Bắt buộc. ", "Không bắt buộc. "
_DATE_NOTE = "Ghi ngày/tháng/năm, ví dụ 15/03/2026."
_COMMUNE_NOTE = "Mã xã/phường/đặc khu (5 chữ số) theo danh mục của Tổng cục Thống kê."

SPECS: dict[str, Spec] = {
    spec.kind: spec
    for spec in (
        Spec(
            kind="communes",
            title="Mức đạt chuẩn nông thôn mới của xã",
            table="communes",
            key=("code",),
            key_columns=("code",),
            insert=False,
            resolve=_resolve_communes,
            export_sql="SELECT code, name, ntm_group, level, level_year, level_decision, updated"
            " FROM communes WHERE updated IS NOT NULL ORDER BY province_code, code",
            columns=(
                Column("Mã xã", "code", _integer(1), True, note=_REQUIRED + _COMMUNE_NOTE,
                       example="27610"),
                Column("Tên xã", "name", _text, stored=False, example="Xã Bình Lợi",
                       note=_OPTIONAL + "Chỉ để đối chiếu: phải khớp tên chính thức của mã xã."),
                Column("Nhóm xã", "ntm_group", _integer(1, 3, "nhom"), example="2",
                       note=_OPTIONAL + "Nhóm 1, 2 hoặc 3 theo QĐ 51/2025/QĐ-TTg."),
                Column("Mức đạt chuẩn", "level", _level, True, example="đạt chuẩn",
                       note=_REQUIRED + "Một trong: " + ", ".join(LEVELS) + "."),
                Column("Năm công nhận", "level_year", _integer(2010, 2035), example="2024",
                       note=_OPTIONAL + "Năm được công nhận mức đạt chuẩn (2010–2035)."),
                Column("Quyết định công nhận", "level_decision", _text,
                       example="Quyết định số 1234/QĐ-UBND ngày 20/12/2024",
                       note=_OPTIONAL + "Số, ngày của quyết định công nhận."),
                Column("Ngày cập nhật", "updated", parse_date, True, render=_date_text,
                       example="15/03/2026",
                       note=_REQUIRED + "Ngày số liệu được cập nhật. " + _DATE_NOTE),
            ),
        ),
        Spec(
            kind="criteria",
            title="Kết quả thực hiện 10 tiêu chí của xã",
            table="criteria_status",
            key=("commune_code", "criterion"),
            key_columns=("commune_code", "criterion"),
            resolve=_resolve_criteria,
            export_sql="SELECT commune_code, criterion, met, total, note FROM criteria_status"
            " ORDER BY commune_code, criterion",
            columns=(
                Column("Mã xã", "commune_code", _integer(1), True, example="27610",
                       note=_REQUIRED + _COMMUNE_NOTE),
                Column("Tiêu chí", "criterion", _integer(1, 10, "tieu chi"), True, example="4",
                       note=_REQUIRED + "Số thứ tự tiêu chí (1–10) theo QĐ 51/2025/QĐ-TTg: "
                       + _CRITERIA + "."),
                Column("Số chỉ tiêu đạt", "met", _integer(0), True, example="3",
                       note=_REQUIRED + "Số chỉ tiêu của tiêu chí mà xã đã đạt (từ 0)."),
                Column("Tổng số chỉ tiêu", "total", _integer(1), True, example="4",
                       note=_REQUIRED + "Tổng số chỉ tiêu của tiêu chí (từ 1, không nhỏ hơn số"
                       " chỉ tiêu đạt)."),
                Column("Ghi chú", "note", _text, example="Còn thiếu chỉ tiêu 4.3",
                       note=_OPTIONAL),
            ),
        ),
        Spec(
            kind="cadres",
            title="Danh sách cán bộ, công chức xã",
            table="cadres",
            key=("phone",),
            key_columns=("phone",),
            resolve=_resolve_cadres,
            export_sql="SELECT full_name, position, commune_code, phone, meets_standard, missing,"
            " deadline, telegram_user_id IS NOT NULL AS linked FROM cadres"
            " ORDER BY commune_code, full_name, id",
            columns=(
                Column("Họ và tên", "full_name", _text, True, example="Nguyễn Văn An",
                       note=_REQUIRED),
                Column("Chức vụ", "position", _text, example="Công chức Văn hóa - Xã hội",
                       note=_OPTIONAL),
                Column("Mã xã", "commune_code", _integer(1), True, example="27610",
                       note=_REQUIRED + _COMMUNE_NOTE),
                Column("Số điện thoại", "phone", parse_phone, True, render=_phone_text,
                       example="0912345678",
                       note=_REQUIRED + "Số di động hoặc cố định, ví dụ 0912345678. Mỗi cán bộ"
                       " một số; nhập lại cùng số sẽ cập nhật cán bộ đó."),
                Column("Đạt chuẩn", "meets_standard", _yes_no, True, render=_yes_no_text,
                       example="Không", note=_REQUIRED + "Có hoặc Không."),
                Column("Còn thiếu", "missing", _text, example="chưa có bằng đại học",
                       note=_OPTIONAL + "Điều kiện còn thiếu để đạt chuẩn."),
                Column("Hạn đạt chuẩn", "deadline", parse_date, render=_date_text,
                       example="31/12/2027",
                       note=_OPTIONAL + "Hạn phải đạt chuẩn. " + _DATE_NOTE),
                # The office follows up who has not linked yet; an import ignores it.
                Column("Đã liên kết Telegram", "linked", lambda _text: None, stored=False,
                       render=_yes_no_text, example="Không",
                       note="Chỉ để theo dõi khi xuất: Có nếu cán bộ đã liên kết tài khoản "
                       "Telegram với trợ lý. Khi nhập, cột này được bỏ qua."),
            ),
        ),
        Spec(
            kind="courses",
            title="Khóa bồi dưỡng, tập huấn",
            table="courses",
            key=("code",),
            key_columns=("code",),
            resolve=_resolve_courses,
            export_sql="SELECT code, title, organiser, start_date, end_date, place, online_link,"
            " capacity, registration_deadline FROM courses ORDER BY start_date, code",
            columns=(
                Column("Mã khóa", "code", _course_code, True, example="BD-2026-01",
                       note=_REQUIRED + "Mã do Văn phòng điều phối đặt, mỗi khóa một mã."),
                Column("Tên khóa học", "title", _text, True,
                       example="Bồi dưỡng kiến thức xây dựng nông thôn mới 2026-2030",
                       note=_REQUIRED),
                Column("Đơn vị tổ chức", "organiser", _text,
                       example="Văn phòng điều phối NTM Thành phố", note=_OPTIONAL),
                Column("Ngày bắt đầu", "start_date", parse_date, True, render=_date_text,
                       example="20/04/2026", note=_REQUIRED + _DATE_NOTE),
                Column("Ngày kết thúc", "end_date", parse_date, render=_date_text,
                       example="22/04/2026",
                       note=_OPTIONAL + "Không trước ngày bắt đầu. " + _DATE_NOTE),
                Column("Địa điểm", "place", _text, example="Hội trường UBND xã Bình Lợi",
                       note=_OPTIONAL),
                Column("Đường dẫn trực tuyến", "online_link", _url,
                       example="https://example.org/lop-hoc",
                       note=_OPTIONAL + "Bắt đầu bằng http:// hoặc https://."),
                Column("Số chỗ", "capacity", _integer(1), example="60",
                       note=_OPTIONAL + "Số học viên tối đa (từ 1)."),
                Column("Hạn đăng ký", "registration_deadline", parse_date, render=_date_text,
                       example="15/04/2026",
                       note=_OPTIONAL + "Không sau ngày bắt đầu. " + _DATE_NOTE),
            ),
        ),
        Spec(
            kind="training",
            title="Kết quả đào tạo, bồi dưỡng của cán bộ",
            table="training_records",
            key=("cadre_id", "course_code"),
            key_columns=("phone", "course_code"),
            resolve=_resolve_training,
            export_sql="SELECT c.phone, t.course_code, t.status, t.certificate_no, t.date"
            " FROM training_records t JOIN cadres c ON c.id = t.cadre_id"
            " ORDER BY t.course_code, c.commune_code, c.full_name, c.id",
            columns=(
                Column("Số điện thoại", "phone", parse_phone, True, stored=False,
                       render=_phone_text, example="0912345678",
                       note=_REQUIRED + "Số điện thoại của cán bộ, đã có trong danh sách cán bộ."),
                Column("Mã khóa", "course_code", _text, True, example="BD-2026-01",
                       note=_REQUIRED + "Mã khóa học đã có trong danh sách khóa học."),
                Column("Trạng thái", "status", _status, True, render=_status_text,
                       example="đã hoàn thành",
                       note=_REQUIRED + "Một trong: " + ", ".join(STATUSES.values()) + "."),
                Column("Số chứng chỉ", "certificate_no", _text, example="CC-2026-0153",
                       note=_OPTIONAL),
                Column("Ngày", "date", parse_date, render=_date_text, example="22/04/2026",
                       note=_OPTIONAL + "Ngày đăng ký, tham gia hoặc hoàn thành. " + _DATE_NOTE),
            ),
        ),
    )
}  # fmt: skip
KINDS = tuple(SPECS)


# The Vietnamese names coordinators use for the kinds, in a caption or on the command line.
KIND_NAMES = {
    "xa": "communes",
    "tieu chi": "criteria",
    "tieuchi": "criteria",
    "can bo": "cadres",
    "canbo": "cadres",
    "khoa hoc": "courses",
    "khoahoc": "courses",
    "dao tao": "training",
    "daotao": "training",
}


def kind_named(text: str) -> str | None:
    """'canbo', 'Cán bộ', 'cadres' -> 'cadres'; None when it names no kind."""
    key = fold_key(text)
    return key if key in SPECS else KIND_NAMES.get(key)


def spec_for(kind: str) -> Spec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(
            f"Không có loại dữ liệu «{kind}»; chọn một trong: {', '.join(KINDS)}."
        ) from None


# --- planning -------------------------------------------------------------------------------


def _refs(db: sqlite_utils.Database, spec: Spec, scope: Scope) -> Refs:
    refs = Refs(dict(db.execute("SELECT code, name FROM communes").fetchall()), scope=scope)
    if scope.kind != "national":
        refs.province_of = dict(db.execute("SELECT code, province_code FROM communes"))
        refs.cadre_communes = dict(db.execute("SELECT phone, commune_code FROM cadres"))
        refs.course_owners = dict(db.execute("SELECT code, province_code FROM courses"))
    if spec.kind == "training":
        refs.course_starts = dict(db.execute("SELECT code, start_date FROM courses").fetchall())
        refs.courses = set(refs.course_starts)
        refs.today = vietnam_today().isoformat()
        refs.courses_folded = {c.casefold(): c for c in sorted(refs.courses)}
        refs.cadres = dict(db.execute("SELECT phone, id FROM cadres").fetchall())
    return refs


def _existing(db: sqlite_utils.Database, spec: Spec, fields: list[str]) -> dict[tuple, tuple]:
    """Natural key -> current values of `fields`, for every row of the table."""
    columns = ", ".join(f'"{f}"' for f in (*spec.key, *fields))
    width = len(spec.key)
    return {
        tuple(row[:width]): tuple(row[width:])
        for row in db.execute(f'SELECT {columns} FROM "{spec.table}"')
    }


def _match_headers(
    spec: Spec, headers: Sequence[str], header_row: int
) -> tuple[dict[str, Column], list[RowError]]:
    """File header -> column; errors for unknown, doubled and missing columns."""
    by_key = {fold_key(c.header): c for c in spec.columns}
    if headers and not any(fold_key(h) in by_key for h in headers):
        # Most often a title ("DANH SÁCH CÁN BỘ…") above the real header row.
        expected = ", ".join(f"«{c.header}»" for c in spec.columns)
        message = (
            "dòng này không phải dòng tiêu đề của mẫu: dòng đầu tiên có chữ của bảng phải là"
            f" tên các cột ({expected}); hãy xóa các dòng tiêu đề chung phía trên"
        )
        return {}, [RowError(header_row, "", message)]
    found: dict[str, Column] = {}
    first: dict[str, str] = {}
    errors: list[RowError] = []
    for header in headers:
        column = by_key.get(fold_key(header))
        if column is None:
            close = difflib.get_close_matches(fold_key(header), list(by_key), n=1, cutoff=0.75)
            hint = (
                f"có phải «{by_key[close[0]].header}»?"
                if close
                else "các cột dùng được: " + ", ".join(f"«{c.header}»" for c in spec.columns)
            )
            errors.append(RowError(header_row, header, f"cột không có trong mẫu; {hint}"))
        elif column.field in first:
            errors.append(RowError(header_row, header, f"trùng với cột «{first[column.field]}»"))
        else:
            found[header] = column
            first[column.field] = header
    for column in spec.columns:
        if column.required and column.field not in first:
            errors.append(RowError(header_row, column.header, "thiếu cột bắt buộc"))
    return found, errors


def _is_example(row: Mapping[str, str], columns: Mapping[str, Column]) -> bool:
    """The template's example row, imported by mistake as if it were data."""
    return bool(columns) and all(row.get(h, "") == c.example for h, c in columns.items())


def plan_import(
    db: sqlite_utils.Database,
    kind: str,
    rows: Sequence[Mapping[str, str]],
    headers: Sequence[str] | None = None,
    header_row: int = 1,
    scope: Scope = NATIONAL,
) -> ImportPlan:
    """Check every row of `rows` (from `spreadsheet.read_sheet`) and compare with the db.

    `headers` defaults to the keys of the rows; `header_row` is the line of the header
    in the file, so errors name the lines the person sees.
    """
    spec = spec_for(kind)
    if headers is None:
        headers = list(dict.fromkeys(h for row in rows for h in row))
    columns, errors = _match_headers(spec, headers, header_row)
    by_field = {c.field: h for h, c in columns.items()}
    present = [c for c in spec.columns if c.field in by_field]
    missing_required = {c.field for c in spec.columns if c.required and c.field not in by_field}
    write_fields = [c.field for c in present if c.stored and c.field not in spec.key]
    refs = _refs(db, spec, scope)
    existing = _existing(db, spec, write_fields)
    header_of = {c.field: by_field.get(c.field, c.header) for c in spec.columns}

    planned: list[PlannedRow] = []
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        number = header_row + 1 + index
        if not any(v for h, v in row.items() if h in columns):
            continue  # blank line, or text only in unknown columns (already reported)
        if _is_example(row, columns):
            errors.append(RowError(number, "", "đây là dòng ví dụ của mẫu; hãy xóa dòng này"))
            continue
        values: dict[str, object] = {}
        bad: set[str] = set()
        for column in present:
            text = row.get(by_field[column.field], "")
            if not text:
                if column.required:
                    errors.append(
                        RowError(number, header_of[column.field], "ô bắt buộc đang trống")
                    )
                    bad.add(column.field)
                else:
                    values[column.field] = None
                continue
            try:
                values[column.field] = column.parse(text)
            except CellError as exc:
                errors.append(RowError(number, header_of[column.field], str(exc)))
                bad.add(column.field)
        for name, message in spec.resolve(values, refs):
            errors.append(RowError(number, header_of[name], message))
            bad.add(name)
        if bad or missing_required:
            continue
        key = tuple(values[k] for k in spec.key)
        if key in seen:
            same = " và ".join(f"«{header_of[f]}»" for f in spec.key_columns)
            message = f"trùng với dòng {seen[key]} (cùng {same})"
            errors.append(RowError(number, header_of[spec.key_columns[0]], message))
            continue
        seen[key] = number
        record = {f: values[f] for f in (*spec.key, *write_fields)}
        if "province_code" in values:  # a province's course (bot.roles): every row has it
            record["province_code"] = values["province_code"]
        current = existing.get(key)
        new = tuple(record[f] for f in write_fields)
        if current is None:
            if not spec.insert:  # a resolver has already reported an unknown key
                continue
            planned.append(PlannedRow(number, "add", record))
        elif current == new:
            planned.append(PlannedRow(number, "same", record))
        else:
            changed = tuple(
                header_of[f] for f, a, b in zip(write_fields, current, new, strict=True) if a != b
            )
            planned.append(PlannedRow(number, "change", record, changed))
    position = {h: i for i, h in enumerate(headers)}
    errors.sort(
        key=lambda e: (e.row, position.get(e.column, -1 if not e.column else len(position)))
    )
    count = {a: sum(1 for p in planned if p.action == a) for a in ("add", "change", "same")}
    return ImportPlan(
        kind,
        errors,
        planned,
        count["add"],
        count["change"],
        count["same"],
        source=([dict(r) for r in rows], list(headers), header_row),
        scope=scope,
    )


def apply_import(
    db: sqlite_utils.Database,
    plan: ImportPlan,
    filename: str = "",
    actor: int | None = None,
    actor_label: str = "",
) -> ImportCounts:
    """Write the plan in one transaction, all or nothing, with its line in the audit
    trail (bot.audit); refuses a plan with errors.

    The rows are checked again inside the transaction, because the database may have
    changed since the plan was shown (a course removed, a cadre added by the bot).
    """
    if plan.errors:
        raise ImportRejected(plan.errors)
    spec = spec_for(plan.kind)
    conn = db.conn
    if conn.in_transaction:
        raise RuntimeError("apply_import must own its transaction")
    conn.execute("BEGIN IMMEDIATE")
    with conn:  # commits, or rolls back on any exception
        fresh = plan_import(db, plan.kind, *plan.source, scope=plan.scope)
        if fresh.errors:
            raise ImportRejected(fresh.errors)
        writes = [p.record for p in fresh.planned if p.action != "same"]
        if writes:
            fields = list(writes[0])
            sql, order = _write_sql(spec, fields)
            conn.executemany(sql, ([record[f] for f in order] for record in writes))
        counts = fresh.counts
        detail = {
            "loại": spec.title,
            "tệp": filename,
            "thêm": counts.added,
            "cập nhật": counts.changed,
            "giữ nguyên": counts.unchanged,
        }
        audit.record(
            db, "import", detail, actor=actor, actor_label=actor_label, scope=plan.scope.key()
        )
    return counts


def _write_sql(spec: Spec, fields: list[str]) -> tuple[str, list[str]]:
    """The statement writing one record, and the order of its parameters."""
    updates = [f for f in fields if f not in spec.key]
    if not spec.insert:
        assignments = ", ".join(f'"{f}" = ?' for f in updates)
        where = " AND ".join(f'"{k}" = ?' for k in spec.key)
        return f'UPDATE "{spec.table}" SET {assignments} WHERE {where}', [*updates, *spec.key]
    columns = ", ".join(f'"{f}"' for f in fields)
    conflict = ", ".join(f'"{k}"' for k in spec.key)
    action = (
        "DO UPDATE SET " + ", ".join(f'"{f}" = excluded."{f}"' for f in updates)
        if updates
        else "DO NOTHING"
    )
    sql = (
        f'INSERT INTO "{spec.table}" ({columns}) VALUES ({", ".join("?" * len(fields))})'
        f" ON CONFLICT ({conflict}) {action}"
    )
    return sql, fields


def format_errors(errors: Sequence[RowError], limit: int | None = None) -> str:
    """'Dòng 5, cột «Số điện thoại»: số điện thoại không hợp lệ (0912)', one per line."""
    shown = errors if limit is None else errors[:limit]
    lines = [
        f"Dòng {e.row}, cột «{e.column}»: {e.message}" if e.column else f"Dòng {e.row}: {e.message}"
        for e in shown
    ]
    if len(errors) > len(shown):
        lines.append(f"… và {len(errors) - len(shown)} lỗi khác.")
    return "\n".join(lines)


# --- templates and exports ------------------------------------------------------------------


def template(kind: str, path: Path | str) -> None:
    """An empty table for `kind`: the headers, one example row, a note on each column."""
    spec = spec_for(kind)
    headers = [c.header for c in spec.columns]
    example = {c.header: c.example for c in spec.columns}
    write_rows(path, headers, [example], {c.header: c.note for c in spec.columns})


def export(db: sqlite_utils.Database, kind: str, path: Path | str) -> int:
    """The current data of `kind`, in the import format; returns the number of rows.

    For communes, only those whose NTM status has been entered (the others have no
    update date, which the import requires).
    """
    spec = spec_for(kind)
    cursor = db.execute(spec.export_sql)
    names = [d[0] for d in cursor.description]
    render = {c.field: c for c in spec.columns}
    rows = [
        {render[n].header: render[n].render(v) for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]
    headers = [c.header for c in spec.columns]
    write_rows(path, headers, rows, {c.header: c.note for c in spec.columns})
    return len(rows)


REGISTRATION_HEADERS = ("Họ và tên", "Chức vụ", "Xã", "Số điện thoại", "Trạng thái", "Số chứng chỉ")


def export_registrations(db: sqlite_utils.Database, course_code: str, path: Path) -> int | None:
    """The cadres registered for a course (any status), for the organiser; None: no course."""
    if db.execute("SELECT 1 FROM courses WHERE code = ?", [course_code]).fetchone() is None:
        return None
    rows = db.execute(
        "SELECT k.full_name, k.position, c.name, k.phone, r.status, r.certificate_no"
        " FROM training_records r JOIN cadres k ON k.id = r.cadre_id"
        " JOIN communes c ON c.code = k.commune_code WHERE r.course_code = ?"
        " ORDER BY c.name, k.full_name",
        [course_code],
    ).fetchall()
    table = [
        dict(
            zip(REGISTRATION_HEADERS, (*row[:4], STATUSES.get(row[4], row[4]), row[5]), strict=True)
        )
        for row in rows
    ]
    write_rows(path, REGISTRATION_HEADERS, table)
    return len(table)
