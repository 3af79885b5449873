"""Vietnamese text for the cadre's own data: commune status and training record."""

from __future__ import annotations

import datetime as dt

from bot.broadcasts import Progress
from bot.communes import CommuneRef, CommuneStatus
from bot.courses import Course, open_for_registration
from bot.replies import Button, short_label
from bot.roster import STATUS_LABELS, Cadre, CourseRecord, TrainingRecord
from bot.telegram_html import escape

DEMO_NOTE = "⚠️ <i>Dữ liệu mẫu để minh họa, không phải số liệu thật.</i>"


def vn_date(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def commune_status(status: CommuneStatus, own: bool) -> str:
    """The commune's public NTM data; `own` adds the share of its cadres meeting the standard."""
    ref = status.ref
    lines = [f"<b>{escape(ref.name)}</b> ({escape(ref.province)})"]
    if not status.criteria and status.updated is None:
        lines.append("Chưa có dữ liệu nông thôn mới của đơn vị này trong hệ thống.")
        return "\n".join(lines)
    recognised = ""
    if status.level != "chưa đạt" and status.level_year:
        recognised = f" (công nhận năm {status.level_year}"
        if status.level_decision:
            recognised += f", {escape(status.level_decision)}"
        recognised += ")"
    lines.append(f"Mức nông thôn mới: <b>{escape(status.level)}</b>{recognised}")
    if status.ntm_group:
        lines.append(f"Nhóm xã theo QĐ 51/2025/QĐ-TTg: nhóm {status.ntm_group}")
    if status.criteria:
        passed = sum(c.passed for c in status.criteria)
        lines += ["", "<b>Bộ tiêu chí 2026-2030 (QĐ 51/2025/QĐ-TTg):</b>"]
        for c in status.criteria:
            mark = "✅" if c.passed else "❌"
            note = f" – {escape(c.note)}" if c.note else ""
            lines.append(f"{mark} {c.number}. {c.name}: {c.met}/{c.total} chỉ tiêu{note}")
        lines.append(f"Đạt {passed}/{len(status.criteria)} tiêu chí.")
    if own and status.cadres_total:
        share = round(100 * status.cadres_meeting / status.cadres_total)
        lines.append(
            f"Cán bộ, công chức đạt chuẩn: {status.cadres_meeting}/{status.cadres_total} ({share}%)"
        )
    if status.updated:
        lines.append(f"\nDữ liệu cập nhật ngày {vn_date(status.updated)}.")
    if status.demo:
        lines.append(DEMO_NOTE)
    return "\n".join(lines)


def commune_choice_label(ref: CommuneRef) -> str:
    return f"{ref.name} – {ref.province}"


def training_record(record: TrainingRecord, today: dt.date, gap: Course | None = None) -> str:
    """`gap`: an open course that fills what the cadre is missing, offered beside it."""
    cadre = record.cadre
    lines = [f"<b>Hồ sơ đào tạo: {escape(cadre.full_name)}</b>"]
    lines.append(", ".join(escape(x) for x in (cadre.position, cadre.commune_name) if x))
    lines.append("")
    lines += _standard(cadre, today, gap)
    lines += ["", "<b>Đã học:</b>"]
    lines += [_course_line(c) for c in record.done] or ["• Chưa có khóa nào trong hồ sơ."]
    lines += ["", "<b>Sắp học:</b>"]
    lines += [_course_line(c) for c in record.upcoming] or ["• Chưa đăng ký khóa nào sắp tới."]
    if cadre.demo:
        lines += ["", DEMO_NOTE]
    return "\n".join(lines)


def linked(cadre: Cadre, moved: bool = False) -> str:
    """`moved`: the record was linked to another Telegram account, now unlinked from it."""
    text = (
        f"Đã liên kết tài khoản với hồ sơ <b>{escape(cadre.full_name)}</b>"
        f"{', ' + escape(cadre.position) if cadre.position else ''}, {escape(cadre.commune_name)}."
    )
    if moved:
        text += (
            "\nHồ sơ này trước đây gắn với một tài khoản Telegram khác; liên kết cũ đã được "
            "hủy. Nếu không phải bạn đổi tài khoản, hãy báo ngay cho Văn phòng điều phối."
        )
    text += "\n\nGõ /daotao để xem hồ sơ đào tạo của bạn, /xa để xem tình hình xã."
    return f"{text}\n\n{DEMO_NOTE}" if cadre.demo else text


def relinked(cadre: Cadre | None) -> str:
    """For coordinators: a record moved to another Telegram account (never the phone)."""
    who = (
        f"<b>{escape(cadre.full_name)}</b>"
        f"{', ' + escape(cadre.position) if cadre.position else ''}, {escape(cadre.commune_name)}"
        if cadre
        else "một cán bộ"
    )
    return (
        f"🔁 Hồ sơ cán bộ {who} vừa được liên kết sang một tài khoản Telegram khác, bằng số "
        "điện thoại của hồ sơ (Telegram đã xác minh). Tài khoản cũ đã được báo. Nếu đó không "
        "phải người này đổi máy hay tài khoản (ví dụ số điện thoại đã bị cấp lại cho người "
        "khác), bấm nút dưới đây để trả hồ sơ về tài khoản cũ."
    )


def standard(cadre: Cadre, today: dt.date, gap: Course | None) -> str:
    """The cadre's own standard: met or not, what is missing, the deadline, a course for it."""
    lines = [f"<b>Chuẩn của bạn: {escape(cadre.full_name)}</b>"]
    lines.append(", ".join(escape(x) for x in (cadre.position, cadre.commune_name) if x))
    lines += ["", *_standard(cadre, today, gap)]
    if not cadre.meets_standard and not gap:
        lines += ["", "Gõ /khoahoc để xem các khóa học sắp tới."]
    lines += ["", "Số liệu theo danh sách cán bộ do Văn phòng điều phối nông thôn mới cập nhật."]
    if cadre.demo:
        lines += ["", DEMO_NOTE]
    return "\n".join(lines)


def already_linked(cadre: Cadre) -> str:
    """/lienket from a linked account: to which record, and how to change it."""
    who = ", ".join(escape(x) for x in (cadre.full_name, cadre.position, cadre.commune_name) if x)
    return (
        f"Tài khoản này đã liên kết với hồ sơ <b>{who}</b>. Nếu bạn đã đổi số điện thoại "
        "hoặc đây không phải hồ sơ của bạn, bấm nút bên dưới để liên kết lại bằng số đang dùng, "
        "hoặc gõ /huylienket để hủy liên kết."
    )


def _standard(cadre: Cadre, today: dt.date, gap: Course | None) -> list[str]:
    if cadre.meets_standard:
        return ["Chuẩn cán bộ, công chức: ✅ đạt chuẩn"]
    lines = ["Chuẩn cán bộ, công chức: ❌ chưa đạt chuẩn"]
    if cadre.missing:
        lines.append(f"Còn thiếu: {escape(cadre.missing)}")
    if gap:
        lines.append(
            f"👉 Khóa đang mở đăng ký phù hợp: <b>{escape(gap.title)}</b> "
            f"(bắt đầu {vn_date(gap.start_date)}), bấm nút bên dưới để đăng ký."
        )
    if cadre.deadline:
        days = (dt.date.fromisoformat(cadre.deadline) - today).days
        left = f"còn {days} ngày" if days >= 0 else f"đã quá hạn {-days} ngày"
        lines.append(f"Hạn đạt chuẩn: {vn_date(cadre.deadline)} ({left})")
    return lines


def _course_line(course: CourseRecord) -> str:
    when = vn_date(course.start_date)
    if course.end_date and course.end_date != course.start_date:
        when += f" – {vn_date(course.end_date)}"
    line = f"• {escape(course.title)} ({when}): {STATUS_LABELS.get(course.status, course.status)}"
    if course.certificate_no:
        line += f", chứng chỉ số {escape(course.certificate_no)}"
    return line


def upcoming_courses(
    courses: list[Course], mine: frozenset[str] = frozenset(), today: dt.date | None = None
) -> str:
    """The courses to come; with `today`, what the sender may still do about each."""
    if not courses:
        return "Hiện chưa có khóa học nào sắp mở trong hệ thống."
    lines = ["<b>Các khóa học sắp tới</b>"]
    for course in courses:
        lines += ["", *course_details(course, mine, today)]
    if any(c.demo for c in courses):
        lines += ["", DEMO_NOTE]
    return "\n".join(lines)


def course_details(
    course: Course, mine: frozenset[str] = frozenset(), today: dt.date | None = None
) -> list[str]:
    when = vn_date(course.start_date)
    if course.end_date and course.end_date != course.start_date:
        when += f" – {vn_date(course.end_date)}"
    lines = [f"<b>{escape(course.title)}</b> (mã {escape(course.code)})", f"Thời gian: {when}"]
    if course.place:
        lines.append(f"Địa điểm: {escape(course.place)}")
    if course.online_link:
        lines.append(f"Học trực tuyến: {escape(course.online_link)}")
    if course.organiser:
        lines.append(f"Đơn vị tổ chức: {escape(course.organiser)}")
    if course.registration_deadline:
        lines.append(f"Hạn đăng ký: {vn_date(course.registration_deadline)}")
    if course.code in mine:
        lines.append("✅ Bạn đã đăng ký khóa này.")
    elif today is not None and not open_for_registration(course, today):
        lines.append("Đã hết hạn đăng ký.")
    elif course.places_left == 0:
        lines.append("Hết chỗ.")
    elif course.places_left is not None:
        lines.append(f"Còn {course.places_left}/{course.capacity} chỗ")
    return lines


def register_button(course: Course) -> Button:
    return Button(short_label(f"📝 Đăng ký: {course.title}"), f"reg:{course.code}")


def course_announcement(course: Course) -> str:
    lines = ["📢 <b>Thông báo khóa học</b>", "", *course_details(course)]
    lines += ["", "Bấm <b>Đăng ký tham gia</b> bên dưới nếu bạn muốn học khóa này."]
    if course.demo:
        lines += ["", DEMO_NOTE]
    return "\n".join(lines)


def course_reminder(course: Course) -> str:
    lines = ["⏰ <b>Nhắc lịch: khóa học bắt đầu ngày mai</b>", "", *course_details(course)]
    return "\n".join(lines)


def broadcast_progress(broadcast_id: int, counts: Progress, final: bool) -> str:
    if final:
        return (
            f"✅ <b>Đã gửi xong thông báo #{broadcast_id}</b>\n"
            f"Tổng {counts.total} người nhận: gửi được {counts.sent}, "
            f"bị chặn {counts.blocked} (đã tự hủy nhận thông báo), lỗi {counts.failed}."
        )
    return (
        f"📤 <b>Đang gửi thông báo #{broadcast_id}</b>\n"
        f"Đã gửi {counts.sent} · bị chặn {counts.blocked} · lỗi {counts.failed} · "
        f"còn lại {counts.left} (tổng {counts.total})"
    )
