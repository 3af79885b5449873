"""Courses for cadres: the upcoming courses with a "Đăng ký" button under each open one,
registration by a button or in words ("đăng ký lớp trung cấp lý luận chính trị"), and
course announcements on or off.

Registration is decided from the sender's Telegram id only; the button names a course,
never a person.
"""

from __future__ import annotations

from bot import broadcasts, courses, views
from bot.account import link_prompt
from bot.clock import vietnam_today
from bot.courses import Course
from bot.db import Database
from bot.normalize import Lexicon
from bot.replies import Button, Reply, User, rows

NO_COURSE = "Khóa học này không còn trong hệ thống."
NOT_SUBSCRIBED = "Tài khoản chưa liên kết nên bạn không nhận thông báo khóa học nào."


async def course_list(
    db: Database, lexicon: Lexicon, words: str, user: User, registering: bool = False
) -> list[Reply]:
    """The upcoming courses, what the sender may do about each, and a button per open one.

    A course named in the words ("có lớp lý luận chính trị nào không", "đăng ký lớp chuyển
    đổi số") is shown alone; `registering`: the sender asked to register.
    """
    today = vietnam_today()
    upcoming = await db.run(courses.upcoming_courses, today)
    mine = await db.run(courses.registered_codes, user.id)
    named = courses.courses_named(words, upcoming, lexicon) if words.strip() else []
    shown = named if len(named) == 1 else upcoming
    buttons = _buttons(shown, mine, today)
    if len(shown) == 1 and shown is named:
        details = "\n".join(views.course_details(named[0], mine, today))
        ask = "\n\nBấm nút bên dưới để đăng ký." if buttons else ""
        return [Reply(f"{details}{ask}", rows(buttons))]
    text = views.upcoming_courses(shown, mine, today)
    if registering and buttons:
        text = f"Bạn muốn đăng ký khóa nào? Bấm nút của khóa đó.\n\n{text}"
    return [Reply(text, rows(buttons))]


async def register(db: Database, course_code: str, user: User) -> list[Reply]:
    """The "Đăng ký" button, under a course list or an announcement."""
    outcome = await db.run(broadcasts.register, user.id, course_code, vietnam_today())
    if outcome == "not_linked":
        return [link_prompt("dangky")]
    course = await db.run(courses.course_by_code, course_code)
    if outcome == "no_course" or course is None:
        return [Reply(NO_COURSE)]
    details = "\n".join(views.course_details(course))
    messages = {
        "registered": "✅ Đã đăng ký cho bạn khóa học:\n\n{d}\n\nTrợ lý sẽ nhắc bạn một "
        "ngày trước khi khóa học bắt đầu. Gõ /daotao để xem hồ sơ đào tạo.",
        "already": "Bạn đã đăng ký khóa này rồi:\n\n{d}",
        "full": "Khóa học đã hết chỗ nên chưa đăng ký được:\n\n{d}\n\n"
        "Bạn liên hệ đơn vị tổ chức nếu cần.",
        "closed": "Khóa học đã hết hạn đăng ký:\n\n{d}",
    }
    return [Reply(messages[outcome].format(d=details))]


async def unsubscribe(db: Database, user: User) -> list[Reply]:
    if await db.run(courses.set_subscribed, user.id, False):
        return [Reply("Đã tắt thông báo khóa học. Gõ /batthongbao nếu muốn nhận lại.")]
    return [Reply(NOT_SUBSCRIBED)]


async def subscribe(db: Database, user: User) -> list[Reply]:
    if await db.run(courses.set_subscribed, user.id, True):
        return [Reply("Đã bật lại thông báo khóa học. Gõ /khoahoc để xem các khóa sắp tới.")]
    return [link_prompt("batthongbao")]


def _buttons(upcoming: list[Course], mine: frozenset[str], today) -> list[Button]:
    return [
        views.register_button(c)
        for c in upcoming
        if c.code not in mine and courses.open_for_registration(c, today) and c.places_left != 0
    ]
