"""Demo data for `ntm-bot chat` and the README: real communes of TP. Hồ Chí Minh with
generated status, cadres, courses and records. Every generated row has demo = 1, and
the assistant says so whenever it shows one.
"""

from __future__ import annotations

import datetime as dt
import random

import sqlite_utils

from bot.db import transaction

DEMO_DATABASE = "ntm-bot-demo.sqlite3"
CONSOLE_CADRE_PHONE = "+84900000002"  # Phó Chủ tịch UBND xã Bình Lợi, not yet up to standard
HCMC = 79
DEMO_COMMUNE = 27610  # Xã Bình Lợi, the commune of the seed article
DEMO_SEED = 2026
_CRITERIA_TOTALS = (3, 8, 4, 3, 6, 5, 4, 6, 5, 3)  # generated, not QĐ 51's real split
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi")
_MIDDLE = ("Văn", "Thị", "Minh", "Thanh", "Ngọc", "Hữu", "Thu", "Quốc")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hùng", "Lan", "Long", "Mai", "Nam", "Phúc", "Tâm")
_POSTS = (
    ("Chủ tịch UBND xã", True, None),
    ("Phó Chủ tịch UBND xã", False, "chưa có bằng trung cấp lý luận chính trị"),
    ("Công chức Văn phòng - Thống kê", True, None),
    ("Công chức Tài chính - Kế toán", False, "chưa có bằng đại học đúng chuyên ngành"),
    ("Công chức Tư pháp - Hộ tịch", True, None),
    ("Công chức Địa chính - Xây dựng - Nông nghiệp và Môi trường", False, "chưa có bằng đại học"),
    ("Công chức Văn hóa - Xã hội", True, None),
)


def prepare_console(db: sqlite_utils.Database, user_id: int, today: dt.date) -> None:
    """Demo rows, and the console's user linked to a demo cadre so /xa and /daotao show data."""
    seed_demo(db, today)
    with transaction(db):
        db.execute(
            "UPDATE cadres SET telegram_user_id = ? WHERE phone = ? AND telegram_user_id IS NULL",
            [user_id, CONSOLE_CADRE_PHONE],
        )


def has_demo(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT 1 FROM communes WHERE demo = 1 LIMIT 1").fetchone() is not None


def seed_demo(db: sqlite_utils.Database, today: dt.date) -> None:
    """Fill the demo rows once; a database that has them is left alone."""
    if has_demo(db):
        return
    rng = random.Random(DEMO_SEED)
    communes = [
        code
        for (code,) in db.execute(
            "SELECT code FROM communes WHERE province_code = ? AND kind = 'xã' ORDER BY code",
            [HCMC],
        )
    ]
    updated = (today - dt.timedelta(days=20)).isoformat()
    with transaction(db):
        for code in communes:
            level = rng.choice(("đạt chuẩn", "đạt chuẩn", "nâng cao", "kiểu mẫu", "chưa đạt"))
            db.execute(
                "UPDATE communes SET ntm_group = ?, level = ?, level_year = ?, updated = ?,"
                " demo = 1 WHERE code = ?",
                [
                    rng.choice((1, 2, 2)),
                    level,
                    None if level == "chưa đạt" else rng.randint(2016, 2025),
                    updated,
                    code,
                ],
            )
            for number, total in enumerate(_CRITERIA_TOTALS, 1):
                met = total if rng.random() < 0.75 else rng.randint(0, total - 1)
                db["criteria_status"].insert(
                    {"commune_code": code, "criterion": number, "met": met, "total": total}
                )
        others = [c for c in communes if c != DEMO_COMMUNE]
        _seed_people(db, rng, [DEMO_COMMUNE, *others[:9]], today)


def _seed_people(
    db: sqlite_utils.Database, rng: random.Random, communes: list[int], today: dt.date
) -> None:
    courses = [
        ("NTM-2026-01", "Bồi dưỡng kiến thức xây dựng nông thôn mới giai đoạn 2026-2030", -60),
        ("QLNN-2026-02", "Bồi dưỡng quản lý nhà nước cho công chức cấp xã", -20),
        ("LLCT-TC-2026", "Trung cấp lý luận chính trị - hành chính (hệ vừa làm vừa học)", 12),
        ("CDS-2026-04", "Chuyển đổi số trong xây dựng nông thôn mới", 30),
    ]
    for code, title, offset in courses:
        start = today + dt.timedelta(days=offset)
        db["courses"].insert(
            {
                "code": code,
                "title": title,
                "organiser": "Văn phòng điều phối NTM TP. Hồ Chí Minh (dữ liệu mẫu)",
                "start_date": start.isoformat(),
                "end_date": (start + dt.timedelta(days=4)).isoformat(),
                "place": "Trung tâm hành chính xã Bình Lợi",
                "capacity": 40,
                "registration_deadline": (start - dt.timedelta(days=5)).isoformat(),
                "demo": 1,
            }
        )
    deadline = "2028-08-01"
    serial = 0
    for commune in communes:
        for post, meets, missing in _POSTS:
            serial += 1
            name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
            cadre_id = (
                db["cadres"]
                .insert(
                    {
                        "phone": f"+8490000{serial:04d}",
                        "full_name": name,
                        "position": post,
                        "commune_code": commune,
                        "meets_standard": int(meets),
                        "missing": missing,
                        "deadline": None if meets else deadline,
                        "demo": 1,
                    }
                )
                .last_pk
            )
            for code, _, offset in courses:
                if offset < 0 and rng.random() < 0.7:
                    status, certificate = "completed", f"CC-{code}-{serial:04d}"
                elif offset > 0 and rng.random() < 0.4:
                    status, certificate = "registered", None
                else:
                    continue
                db["training_records"].insert(
                    {
                        "cadre_id": cadre_id,
                        "course_code": code,
                        "status": status,
                        "certificate_no": certificate,
                        "demo": 1,
                    }
                )
