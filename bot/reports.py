"""Reports to look at: for a coordinator's scope, per commune (per province for the
national office), the share of cadres meeting the standard, linked to Telegram, and
having completed a chosen course; as chart images and as the same table in .xlsx.

`build` reads the numbers (plain SQL, no Telegram); `render_pages` draws them with
matplotlib's Agg canvas (headless, no global pyplot state, so it may run in a thread);
`write_xlsx` writes the table. Rows are sorted lagging first, and the charts are paged
so a province of a few hundred communes stays readable.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bot.roles import NATIONAL, Scope, scope_label, scope_sql

ROWS_PER_PAGE = 35
MAX_PAGES = 12  # more would flood the chat: the spreadsheet always has every row


@dataclass(frozen=True)
class Row:
    code: int
    name: str
    cadres: int
    meeting: int  # cadres meeting the standard
    linked: int  # cadres who linked Telegram
    enrolled: int  # cadres with a record in the chosen course (0 without a course)
    completed: int  # cadres who completed it

    @property
    def standard_share(self) -> float:
        return _share(self.meeting, self.cadres)

    @property
    def linked_share(self) -> float:
        return _share(self.linked, self.cadres)

    @property
    def completed_share(self) -> float:
        """Of all the unit's cadres: how far the course has reached, not how well it went."""
        return _share(self.completed, self.cadres)


@dataclass(frozen=True)
class Totals:
    units: int
    cadres: int
    meeting: int
    linked: int
    completed: int


@dataclass(frozen=True)
class Report:
    scope: Scope
    scope_name: str
    unit: str  # "xã" or "tỉnh": what a row is
    course: str | None  # the chosen course's code, if any
    course_title: str | None
    day: dt.date
    rows: tuple[Row, ...]  # lagging first

    @property
    def pages(self) -> int:
        return min(MAX_PAGES, max(1, -(-len(self.rows) // ROWS_PER_PAGE)))

    @property
    def charted(self) -> int:
        """Rows in the images (the spreadsheet has them all)."""
        return min(len(self.rows), self.pages * ROWS_PER_PAGE)

    def totals(self) -> Totals:
        rows = self.rows
        return Totals(
            len(rows),
            sum(r.cadres for r in rows),
            sum(r.meeting for r in rows),
            sum(r.linked for r in rows),
            sum(r.completed for r in rows),
        )


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def build(
    db: sqlite_utils.Database, scope: Scope, day: dt.date, course: str | None = None
) -> Report:
    """The numbers of `scope`: one row per province (national) or per commune with cadres
    on the roster. `course` must exist (checked by the caller)."""
    where, params = scope_sql(scope, "k.commune_code")
    per_province = scope == NATIONAL
    unit_code = "c.province_code" if per_province else "c.code"
    unit_name = "p.name" if per_province else "c.name"
    rows = db.execute(
        f"SELECT {unit_code}, {unit_name}, count(*), sum(k.meets_standard),"
        " count(k.telegram_user_id),"
        " sum(r.status IS NOT NULL), sum(r.status = 'completed')"
        " FROM cadres k JOIN communes c ON c.code = k.commune_code"
        " JOIN provinces p ON p.code = c.province_code"
        " LEFT JOIN training_records r ON r.cadre_id = k.id AND r.course_code = ?"
        f" WHERE {where} GROUP BY {unit_code}",
        [course, *params],
    ).fetchall()
    found = [
        Row(code, name, total, meet or 0, link, enrolled or 0, done or 0)
        for code, name, total, meet, link, enrolled, done in rows
    ]
    found.sort(key=lambda r: (r.standard_share, r.linked_share, r.name))
    title = None
    if course:
        hit = db.execute("SELECT title FROM courses WHERE code = ?", [course]).fetchone()
        title = hit[0] if hit else None
    return Report(
        scope,
        scope_label(db, scope),
        "tỉnh" if per_province else "xã",
        course,
        title,
        day,
        tuple(found),
    )


# --- the table ---------------------------------------------------------------------------


def headers(report: Report) -> list[str]:
    columns = [
        "Tỉnh, thành phố" if report.unit == "tỉnh" else "Xã, phường, đặc khu",
        "Mã",
        "Số cán bộ",
        "Đạt chuẩn",
        "Tỷ lệ đạt chuẩn (%)",
        "Đã liên kết Telegram",
        "Tỷ lệ liên kết (%)",
    ]
    if report.course:
        columns += [
            f"Có hồ sơ khóa {report.course}",
            "Đã hoàn thành",
            "Tỷ lệ cán bộ đã hoàn thành (%)",
        ]
    return columns


def table(report: Report) -> list[list[object]]:
    lines = []
    for r in report.rows:
        line: list[object] = [
            r.name,
            r.code,
            r.cadres,
            r.meeting,
            r.standard_share,
            r.linked,
            r.linked_share,
        ]
        if report.course:
            line += [r.enrolled, r.completed, r.completed_share]
        lines.append(line)
    return lines


def write_xlsx(report: Report, path: Path | str) -> None:
    """The report's table: numbers as numbers, lagging first, a title line above."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    sheet.append([title(report)])
    sheet["A1"].font = Font(bold=True)
    sheet.append(headers(report))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for line in table(report):
        sheet.append(line)
    sheet.column_dimensions["A"].width = 34
    for letter in "BCDEFGHIJ":
        sheet.column_dimensions[letter].width = 16
    sheet.freeze_panes = "A3"
    book.save(path)


def xlsx_bytes(report: Report) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(report, buffer)
    return buffer.getvalue()


def title(report: Report) -> str:
    return (
        f"Báo cáo nông thôn mới – {report.scope_name} – theo {report.unit}, "
        f"ngày {report.day:%d/%m/%Y}"
    )


# --- the charts ---------------------------------------------------------------------------


def render_pages(report: Report) -> list[bytes]:
    """PNG pages: per row, bars for the shares (standard, linked, the course), lagging
    rows first, ROWS_PER_PAGE rows a page, at most MAX_PAGES pages."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [
        ("Đạt chuẩn (%)", "standard_share", "#2e7d32"),
        ("Liên kết Telegram (%)", "linked_share", "#1565c0"),
    ]
    if report.course:
        panels.append((f"Hoàn thành khóa {report.course} (%)", "completed_share", "#ef6c00"))
    pages = []
    for page in range(report.pages):
        rows = report.rows[page * ROWS_PER_PAGE : (page + 1) * ROWS_PER_PAGE]
        height = 1.6 + 0.32 * max(len(rows), 1)
        figure = Figure(figsize=(4.2 + 3.2 * len(panels), height), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        labels = [f"{r.name} ({r.cadres})" for r in rows]
        positions = list(range(len(rows)))
        for axis, (label, field, colour) in zip(axes, panels, strict=True):
            values = [getattr(r, field) for r in rows]
            axis.barh(positions, values, color=colour, height=0.7)
            for y, value in zip(positions, values, strict=True):
                axis.text(min(value + 1, 88), y, f"{value:g}", va="center", fontsize=8)
            axis.set_xlim(0, 100)
            axis.set_title(label, fontsize=10)
            axis.grid(axis="x", alpha=0.3)
        axes[0].set_yticks(positions, labels, fontsize=8)
        axes[0].invert_yaxis()  # shared by all panels: the most lagging on top
        suffix = f" (trang {page + 1}/{report.pages})" if report.pages > 1 else ""
        heading = title(report) + suffix
        if report.course_title:
            heading += f"\nKhóa {report.course}: {report.course_title}"
        figure.suptitle(heading, fontsize=11)
        figure.text(
            0.01,
            0.005,
            f"Trong ngoặc: số cán bộ trong danh sách. Xếp từ {report.unit} có tỷ lệ đạt chuẩn "
            "thấp nhất.",
            fontsize=8,
        )
        # Fixed margins (tight_layout would draw every page twice): room for the longest
        # label at about 5.5 points a character, the title above, the note below.
        width = figure.get_figwidth() * 72
        left = min(0.4, (max(map(len, labels), default=10) * 5.5 + 16) / width)
        top = 1 - (0.9 if report.course_title else 0.6) / height
        figure.subplots_adjust(left=left, right=0.98, top=top, bottom=0.7 / height, wspace=0.12)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        pages.append(buffer.getvalue())
    return pages
