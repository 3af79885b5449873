"""What the assistant can do besides answering from the FAQ: its actions.

One catalogue for every way of asking for an action: the slash command, the keyboard
label, the `do:` button, and the phrasings in `knowledge/actions.yaml` (which may only
name actions listed here). The assistant binds each id to a handler.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    description: str  # the phone's command menu and /help
    command: str | None = None  # the slash command; None: reached by words and buttons only
    coordinator: bool = False  # only coordinators may run it, and only they are routed to it
    national: bool = False  # only national coordinators: it acts on the country's FAQ or trail
    label: str | None = None  # its key on the persistent keyboard
    menu: bool = True  # listed in the command menu and /help (when it has a command)
    # Shows the sender's own data: without a word of oneself a close FAQ entry wins.
    own_data: bool = False
    # Why an unlinked cadre must link first, as "Để …, trợ lý cần biết bạn là cán bộ nào".
    why_link: str | None = None
    # Changes something when asked in words or by a button: it asks to confirm first.
    confirm: str | None = None


ACTIONS = (
    ActionSpec("start", "Giới thiệu trợ lý", "start"),
    ActionSpec("chude", "Xem câu hỏi theo chủ đề", "chude", label="📚 Chủ đề"),
    ActionSpec(
        "xa",
        "Tình hình nông thôn mới của xã",
        "xa",
        label="🏘 Xã của tôi",
        own_data=True,
        why_link="xem tình hình xã của bạn (muốn tra một xã bất kỳ, gõ tên xã, ví dụ: "
        "<i>xã Bình Lợi</i>)",
    ),
    ActionSpec(
        "daotao",
        "Hồ sơ đào tạo của tôi",
        "daotao",
        label="🎓 Đào tạo của tôi",
        own_data=True,
        why_link="xem hồ sơ đào tạo của bạn",
    ),
    ActionSpec(
        "chuan",
        "Chuẩn của tôi: còn thiếu gì, hạn đạt chuẩn",
        "chuan",
        own_data=True,
        why_link="biết bạn đã đạt chuẩn chưa và còn thiếu gì",
    ),
    ActionSpec("khoahoc", "Các khóa học sắp tới, đăng ký", "khoahoc"),
    ActionSpec("dangky", "Đăng ký một khóa học", "dangky", why_link="đăng ký khóa học cho bạn"),
    ActionSpec("lienket", "Liên kết tài khoản với hồ sơ cán bộ", "lienket"),
    ActionSpec(
        "huylienket",
        "Hủy liên kết tài khoản",
        "huylienket",
        confirm="Hủy liên kết tài khoản Telegram này với hồ sơ cán bộ? Sau đó bạn không xem "
        "được hồ sơ đào tạo, tình hình xã của mình và không nhận thông báo khóa học nữa.",
    ),
    ActionSpec(
        "tatthongbao",
        "Tắt thông báo khóa học",
        "tatthongbao",
        confirm="Tắt thông báo khóa học? Bạn sẽ không nhận tin về các lớp mới; gõ /batthongbao "
        "để nhận lại.",
    ),
    ActionSpec(
        "batthongbao",
        "Nhận lại thông báo khóa học",
        "batthongbao",
        why_link="gửi thông báo khóa học cho bạn",
    ),
    ActionSpec("hoidieuphoi", "Gửi câu hỏi tới điều phối viên", "hoidieuphoi"),
    ActionSpec("cauhoicuatoi", "Câu hỏi tôi đã gửi điều phối viên", "cauhoicuatoi"),
    ActionSpec("help", "Hướng dẫn sử dụng", "help", label="ℹ️ Hướng dẫn"),
    ActionSpec("id", "Mã Telegram của tôi", "id", menu=False),
    # Social messages: no command, reached by words alone, never stored as unanswered.
    ActionSpec("camon", "Lời cảm ơn"),
    ActionSpec("chao", "Lời chào"),
    ActionSpec("trochuyen", "Chuyện ngoài nông thôn mới"),
    # Coordinators only.
    ActionSpec("thongbao", "Soạn thông báo khóa học", "thongbao", coordinator=True),
    ActionSpec(
        "huythongbao", "Hủy thông báo đang chờ đến giờ gửi", "huythongbao", coordinator=True
    ),
    ActionSpec(
        "dangkykhoahoc",
        "Danh sách đăng ký một khóa (gõ kèm mã khóa)",
        "dangkykhoahoc",
        coordinator=True,
    ),
    ActionSpec("hoidap", "Câu hỏi cán bộ gửi, chờ trả lời", "hoidap", coordinator=True),
    ActionSpec(
        "hoclai", "Duyệt câu hỏi để trợ lý học thêm", "hoclai", coordinator=True, national=True
    ),
    ActionSpec("chuatraloi", "Câu hỏi chưa trả lời được", "chuatraloi", coordinator=True),
    ActionSpec("reload", "Nạp lại kho tri thức", "reload", coordinator=True, national=True),
    ActionSpec(
        "dieuphoivien",
        "Điều phối viên trong phạm vi của bạn: thêm, gỡ",
        "dieuphoivien",
        coordinator=True,
    ),
    ActionSpec("moi", "Đường dẫn và mã QR mời cán bộ một xã liên kết", "moi", coordinator=True),
    ActionSpec(
        "baocao", "Báo cáo đạt chuẩn, liên kết, đào tạo (ảnh và Excel)", "baocao", coordinator=True
    ),
    ActionSpec(
        "nhatky", "Nhật ký thao tác của điều phối viên", "nhatky", coordinator=True, national=True
    ),
)
BY_ID = {spec.id: spec for spec in ACTIONS}
SOCIAL = frozenset({"camon", "chao", "trochuyen"})
COORDINATOR_ONLY = frozenset(spec.id for spec in ACTIONS if spec.coordinator)
OWN_DATA = frozenset(spec.id for spec in ACTIONS if spec.own_data)
# Actions whose replies show the same thing (the courses with their Đăng ký buttons; the
# cadre's standard, which the training record shows too): a tie between them is no doubt.
KIN = (frozenset({"khoahoc", "dangky"}), frozenset({"daotao", "chuan"}))
MAIN_KEYBOARD = (("📚 Chủ đề", "🏘 Xã của tôi"), ("🎓 Đào tạo của tôi", "ℹ️ Hướng dẫn"))


def menu(coordinator: bool, national: bool = True) -> list[ActionSpec]:
    """The commands shown in the phone's menu: the public ones, then the coordinators'
    (those of national coordinators for them only)."""
    public = [s for s in ACTIONS if s.command and s.menu and not s.coordinator]
    if not coordinator:
        return public
    return [*public, *(s for s in ACTIONS if s.coordinator and (national or not s.national))]
