"""`ntm-bot`: the command line, a thin layer over the services."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import click
import yaml

from bot import logs
from bot.assistant import Assistant
from bot.config import DATABASE_NAME, Config, ConfigError, load_config
from bot.db import SCHEMA_VERSION, Database, DatabaseError
from bot.importer import KINDS
from bot.knowledge import Knowledge, KnowledgeError, load_knowledge
from bot.matcher import Matcher
from bot.replies import User
from bot.routing import Route, Router

_CLI_USER = User(0)
DEMO = "demo"  # Config.found_by of `ntm-bot chat` without a config
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp cấu hình YAML. Không có thì dùng biến môi trường NTM_BOT_CONFIG, rồi "
    "~/.config/ntm-bot/config.yaml; không có tệp nào thì dùng cấu hình mặc định.",
)


class UserError(click.ClickException):
    """An error for the person at the terminal: one Vietnamese message, no traceback."""

    def show(self, file=None) -> None:
        click.echo(f"Lỗi: {self.format_message()}", file=file, err=file is None)


def _config(path: Path | None) -> Config:
    try:
        return load_config(path, search=True)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def _origin(config: Config) -> str:
    if config.found_by == DEMO:
        return "cơ sở dữ liệu demo, trong thư mục đang đứng"
    if config.source is None:
        return "không có tệp cấu hình nên dùng vị trí mặc định"
    return f"cấu hình {config.source}, tìm {config.found_by}"


def _say_database(config: Config, *, create: bool = False) -> None:
    """Say on stderr which database this command uses; refuse a missing one unless
    `create`: a mistyped or forgotten --config must not quietly start an empty one."""
    path = config.database
    if not create and not path.exists():
        stray = Path(DATABASE_NAME)
        hint = (
            f" Ở thư mục đang đứng có tệp {stray.resolve()}: nếu đó là cơ sở dữ liệu cũ của "
            "bot, khai `database:` trỏ tới nó trong tệp cấu hình."
            if stray.is_file() and stray.resolve() != path
            else ""
        )
        raise UserError(
            f"Chưa có cơ sở dữ liệu {path} ({_origin(config)}). Nếu bot dùng một cơ sở dữ "
            "liệu khác, chỉ đúng tệp cấu hình bằng --config hoặc biến môi trường "
            f"NTM_BOT_CONFIG; nếu đây là lần đầu, tạo nó bằng `ntm-bot init`.{hint}"
        )
    click.echo(f"Cơ sở dữ liệu: {path} ({_origin(config)}).", err=True)


@contextlib.contextmanager
def _database(config: Config, *, create: bool = False) -> Iterator[Database]:
    _say_database(config, create=create)
    try:
        database = Database(config.database)
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    try:
        yield database
    finally:
        database.close()


def _knowledge(directory: Path) -> Knowledge:
    try:
        return load_knowledge(directory)
    except KnowledgeError as exc:
        lines = [f"Kho tri thức {directory} chưa hợp lệ ({len(exc.problems)} lỗi):"]
        lines += [f"  {p}" for p in exc.problems]
        lines.append("Sửa các lỗi trên rồi chạy lại `ntm-bot check`.")
        raise UserError("\n".join(lines)) from None


@click.group(help="Trợ lý NTM: trợ lý hỏi đáp nông thôn mới cho cán bộ, công chức xã.")
def main() -> None:
    logs.setup()


@main.command(help="Chạy bot Telegram (long polling, hoặc webhook nếu đã cấu hình).")
@CONFIG_OPTION
def run(config_path: Path | None) -> None:
    from bot import telegram_app

    config = _config(config_path)
    try:
        logs.setup([config.require_token()])
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    knowledge = _knowledge(config.knowledge_dir)
    with _database(config) as database:
        telegram_app.run(config, Assistant(config, knowledge, database))


@main.command(
    help="Tạo cơ sở dữ liệu của bot theo cấu hình (nếu chưa có), ghi các điều phối viên "
    "của tệp cấu hình, và in nơi đặt nó. Làm một lần trước `ntm-bot run`."
)
@CONFIG_OPTION
def init(config_path: Path | None) -> None:
    config = _config(config_path)
    from bot import roles

    existed = config.database.exists()
    with _database(config, create=True) as database:
        database.call(roles.bootstrap, config.coordinators)
    state = "đã có sẵn" if existed else "vừa tạo"
    click.echo(f"Cơ sở dữ liệu {config.database} {state}, lược đồ phiên bản {SCHEMA_VERSION}.")


@main.command(help="Trò chuyện với trợ lý ngay trên máy (không cần token, không cần mạng).")
@CONFIG_OPTION
@click.option("--dieu-phoi", "as_coordinator", is_flag=True, help="Dùng với vai điều phối viên.")
def chat(config_path: Path | None, as_coordinator: bool) -> None:
    from bot import demo
    from bot.clock import vietnam_today
    from bot.console import CONSOLE_USER
    from bot.console import chat as console_chat
    from bot.roles import NATIONAL

    config = _config(config_path)
    demo_data = config.source is None
    if demo_data:
        # No config found: the demo database, with a demo cadre's account for the console.
        config = replace(config, database=Path(demo.DEMO_DATABASE).resolve(), found_by=DEMO)
        click.echo("Không có tệp cấu hình: dùng cơ sở dữ liệu demo.", err=True)
    knowledge = _knowledge(config.knowledge_dir)
    with _database(config, create=demo_data) as database:
        if demo_data:
            database.call(demo.prepare_console, CONSOLE_USER.id, vietnam_today())
        assistant = Assistant(config, knowledge, database)
        if as_coordinator:  # for this session only: nothing is written to the roles table
            assistant.roles.allow(CONSOLE_USER.id, NATIONAL)
        console_chat(assistant)


@main.command(help="Hỏi một câu, in câu trả lời (hoặc JSON với --json).")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help="Tệp có mỗi dòng một câu hỏi; in mỗi dòng một kết quả JSON.",
)
@click.argument("question", required=False)
def ask(
    config_path: Path | None, as_json: bool, batch: TextIO | None, question: str | None
) -> None:
    from bot.console import render

    if (batch is None) == (question is None):
        raise UserError("Cần đúng một trong hai: một câu hỏi, hoặc --batch TỆP.")
    config = _config(config_path)
    knowledge = _knowledge(config.knowledge_dir)
    if batch is not None or as_json:
        router = Router(knowledge, Matcher(knowledge, config.matching))
        lines = (line.rstrip("\n") for line in batch) if batch else [question]
        for line in lines:
            click.echo(json.dumps(route_json(line, router.route(line)), ensure_ascii=False))
        return
    if config.database.exists():
        opened = _database(config)
    else:  # a one-off question needs no roster: answer from the FAQ, create no file
        click.echo(f"Chưa có cơ sở dữ liệu {config.database}: trả lời từ kho tri thức.", err=True)
        opened = contextlib.closing(Database(":memory:"))
    with opened as database:
        replies = asyncio.run(Assistant(config, knowledge, database).text(question, _CLI_USER))
    for reply in replies:
        click.echo(render(reply))


@main.command(
    "eval",
    help="Đo độ chính xác trên tệp có nhãn: câu hỏi (questions:, kèm hai mốc so sánh) hoặc "
    "tin nhắn nhờ làm việc (messages:).",
)
@CONFIG_OPTION
@click.argument("questions_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_command(config_path: Path | None, questions_file: Path) -> None:
    from bot.evaluation import (
        evaluate,
        evaluate_routing,
        format_routing,
        format_table,
        load_messages,
        load_questions,
    )

    config = _config(config_path)
    knowledge = _knowledge(config.knowledge_dir)
    matcher = Matcher(knowledge, config.matching)
    try:
        data = yaml.safe_load(questions_file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "messages" in data:
            messages = load_messages(questions_file)
            click.echo(format_routing(evaluate_routing(Router(knowledge, matcher), messages)))
            return
        questions = load_questions(questions_file)
    except (yaml.YAMLError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"Tệp {questions_file} không đúng dạng (cần questions: - {{q: …, expect: […]}} "
            f"hoặc messages: - {{q: …, expect: …}}): {exc}"
        ) from None
    try:
        results = evaluate(knowledge, matcher, questions)
    except ImportError:
        raise UserError(
            "Mốc so sánh BM25 cần gói bm25s: pip install -e '.[test]' rồi chạy lại."
        ) from None
    in_scope = sum(bool(q.expect) for q in questions)
    click.echo(format_table(results, len(questions), in_scope))


@main.command(help="Kiểm tra kho tri thức; báo mọi lỗi kèm tệp và dòng.")
@CONFIG_OPTION
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def check(config_path: Path | None, directory: Path | None) -> None:
    config = _config(config_path)
    knowledge = _knowledge(directory or config.knowledge_dir)
    count = len(knowledge.entries)
    click.echo(f"Kho tri thức hợp lệ: {count} mục trong {len(knowledge.categories)} chủ đề.")


# --- coordinators' tables: import, template, export -----------------------------------------


def _kind(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from bot.importer import kind_named

    kind = kind_named(value)
    if kind is None:
        raise click.BadParameter(f"không có loại «{value}»; dùng một trong: {', '.join(KINDS)}.")
    return kind


_KIND = click.argument("kind", callback=_kind, metavar="KIND")


@main.command(
    "import",
    help="Nhập bảng tính (.xlsx, .csv) loại KIND: kiểm tra mọi dòng, rồi ghi tất cả hoặc không"
    " ghi gì.",
)
@CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra và báo kết quả, không ghi gì.")
@_KIND
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(config_path: Path | None, dry_run: bool, kind: str, file: Path) -> None:
    from bot import importer
    from bot.spreadsheet import SpreadsheetError, read_sheet

    config = _config(config_path)
    try:
        sheet = read_sheet(file)  # before opening the database: a bad file changes nothing
    except SpreadsheetError as exc:
        raise UserError(str(exc)) from None
    with _database(config) as database:
        plan = database.call(
            importer.plan_import, kind, sheet.rows, sheet.headers, sheet.header_row
        )
        rows = plan.added + plan.changed + plan.unchanged
        click.echo(
            f"{file.name} ({importer.SPECS[kind].title}): {rows} dòng hợp lệ — thêm"
            f" {plan.added}, cập nhật {plan.changed}, giữ nguyên {plan.unchanged}."
        )
        if plan.errors:
            click.echo(importer.format_errors(plan.errors))
            raise UserError(f"Tệp có {len(plan.errors)} lỗi, chưa ghi gì. Sửa rồi nhập lại.")
        if dry_run:
            click.echo("Chạy thử (--dry-run): chưa ghi gì vào cơ sở dữ liệu.")
            return
        try:
            counts = database.call(importer.apply_import, plan, file.name)
        except importer.ImportRejected as exc:  # the database changed since the check
            click.echo(importer.format_errors(exc.errors))
            raise UserError(f"{exc} Sửa rồi nhập lại.") from None
    click.echo(
        f"Đã ghi: thêm {counts.added}, cập nhật {counts.changed}, giữ nguyên {counts.unchanged}."
    )


@main.command(help="Tạo bảng tính mẫu loại KIND: tên cột, một dòng ví dụ, ghi chú từng cột.")
@_KIND
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def template(kind: str, file: Path) -> None:
    from bot import importer
    from bot.spreadsheet import SpreadsheetError

    try:
        importer.template(kind, file)
    except (SpreadsheetError, OSError) as exc:
        raise UserError(f"Không ghi được {file}: {exc}") from None
    click.echo(f"Đã tạo mẫu {file}. Xóa dòng ví dụ trước khi nhập.")


@main.command(
    help="Xuất dữ liệu loại KIND ra .xlsx hoặc .csv, đúng mẫu để nhập lại. "
    "Danh sách đăng ký một khóa: export registrations MÃ_KHÓA FILE."
)
@CONFIG_OPTION
@click.argument(
    "kind",
    callback=lambda ctx, param, value: (
        value if value in ("registrations", "unanswered") else _kind(ctx, param, value)
    ),
    metavar="KIND|registrations|unanswered",
)
@click.argument("args", nargs=-1, required=True, metavar="[MÃ_KHÓA] FILE")
def export(config_path: Path | None, kind: str, args: tuple[str, ...]) -> None:
    from bot import feedback, importer
    from bot.spreadsheet import SpreadsheetError

    if len(args) != (2 if kind == "registrations" else 1):
        raise UserError("Cách dùng: ntm-bot export KIND FILE, hoặc export registrations MÃ FILE.")
    file = Path(args[-1])
    config = _config(config_path)
    with _database(config) as database:
        try:
            if kind == "registrations":
                count = database.call(importer.export_registrations, args[0], file)
            elif kind == "unanswered":
                count = database.call(feedback.export_unanswered, file)
            else:
                count = database.call(importer.export, kind, file)
        except (SpreadsheetError, OSError) as exc:
            raise UserError(f"Không ghi được {file}: {exc}") from None
    if count is None:
        raise UserError(f"Không có khóa học mã {args[0]}.")
    click.echo(f"Đã xuất {count} dòng vào {file}.")


@main.command(
    help="Xếp một thông báo vào hàng gửi; bot đang chạy sẽ gửi nó. "
    "Người nhận (--audience): all, province:MÃ_TỈNH, communes:MÃ,MÃ, not-standard, "
    "not-completed:MÃ_KHÓA."
)
@CONFIG_OPTION
@click.option("--course", help="Mã khóa học cần thông báo (kèm nút Đăng ký tham gia).")
@click.option("--text", "message", help="Nội dung tự soạn (thay cho --course).")
@click.option("--audience", default="all", show_default=True, help="Nhóm người nhận.")
@click.option("--at", "at_text", help="Giờ gửi theo giờ Việt Nam, ví dụ: 07:30 02/12/2026.")
@click.option("--yes", is_flag=True, help="Không hỏi lại trước khi xếp lịch.")
def broadcast(
    config_path: Path | None,
    course: str | None,
    message: str | None,
    audience: str,
    at_text: str | None,
    yes: bool,
) -> None:
    from bot import broadcasts, views
    from bot.announce import audience_problems, parse_audience, parse_time
    from bot.clock import VIETNAM, utc_now
    from bot.courses import course_by_code
    from bot.telegram_html import escape, to_plain

    if (course is None) == (message is None):
        raise UserError("Cần đúng một trong hai: --course MÃ_KHÓA hoặc --text NỘI_DUNG.")
    chosen = parse_audience(audience)
    if chosen is None:
        raise UserError(f"Không hiểu nhóm người nhận «{audience}».")
    at = parse_time(at_text, utc_now()) if at_text else None
    if at_text and at is None:
        raise UserError("Giờ gửi phải có dạng 07:30 02/12/2026 và là một thời điểm sắp tới.")
    config = _config(config_path)
    with _database(config) as database:
        problems = database.call(audience_problems, chosen)
        if problems:
            raise UserError(" ".join(problems) + " Chưa xếp gì.")
        if course:
            found = database.call(course_by_code, course)
            if found is None:
                raise UserError(f"Không có khóa học mã {course}.")
            text = views.course_announcement(found)
        else:
            text = f"📢 <b>Thông báo</b>\n\n{escape(message)}"
        total = database.call(broadcasts.count_recipients, chosen)
        unlinked = database.call(broadcasts.count_unlinked, chosen)
        click.echo(to_plain(text))
        when = f"lúc {at.astimezone(VIETNAM):%H:%M %d/%m/%Y}" if at else "ngay"
        click.echo(
            f"\n— Người nhận: {total} (đã liên kết Telegram); chưa liên kết, sẽ không nhận: "
            f"{unlinked}; gửi {when}."
        )
        if total == 0:
            raise UserError("Không có ai trong nhóm này đang nhận thông báo; chưa xếp gì.")
        if not yes and not click.confirm("Xếp thông báo này vào hàng gửi?", default=False):
            click.echo("Đã hủy, chưa xếp gì.")
            return
        broadcast_id, total = database.call(
            broadcasts.create_broadcast, text, chosen, utc_now(), at, course
        )
    click.echo(f"Đã xếp thông báo #{broadcast_id} tới {total} người; bot đang chạy sẽ gửi.")


@main.command(
    help="Cách hỏi trợ lý học được từ cán bộ (câu hỏi → mục họ chọn): --export FILE xuất ra "
    "để duyệt; ghi accept: true/false từng dòng rồi --review FILE ghi vào kho tri thức."
)
@CONFIG_OPTION
@click.option("--export", "export_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--review", "review_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def learn(config_path: Path | None, export_file: Path | None, review_file: Path | None) -> None:
    from bot import learning

    if (export_file is None) == (review_file is None):
        raise UserError("Dùng một trong hai: --export FILE hoặc --review FILE.")
    config = _config(config_path)
    knowledge = _knowledge(config.knowledge_dir)
    with _database(config) as database:
        if export_file:
            pairs = database.call(learning.pending, 500)
            export_file.write_text(learning.export_text(pairs, knowledge), encoding="utf-8")
            click.echo(f"Đã xuất {len(pairs)} cặp câu hỏi → mục vào {export_file}.")
            return
        try:
            decisions = learning.read_review(review_file)
        except learning.ReviewError as exc:
            raise UserError(str(exc)) from None
        for line in learning.apply_review(database, config.knowledge_dir, decisions):
            click.echo(line)
    click.echo("Bot đang chạy: gõ /reload trong Telegram để dùng kho tri thức mới.")


@main.command(help="Sao lưu cơ sở dữ liệu ra FILE, an toàn cả khi bot đang chạy.")
@CONFIG_OPTION
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(config_path: Path | None, file: Path) -> None:
    from bot.backup import BackupError
    from bot.backup import backup as make_backup

    config = _config(config_path)
    _say_database(config)
    try:
        size = make_backup(config.database, file)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"Đã sao lưu {config.database} vào {file} ({size:,} byte), đã kiểm tra toàn vẹn.")


@main.command(help="Khôi phục cơ sở dữ liệu từ bản sao lưu FILE. Dừng bot trước khi chạy.")
@CONFIG_OPTION
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Không hỏi lại.")
def restore(config_path: Path | None, file: Path, yes: bool) -> None:
    from bot.backup import BackupError
    from bot.backup import restore as put_back

    config = _config(config_path)
    _say_database(config, create=True)  # a fresh machine may be restored onto
    question = f"Thay toàn bộ {config.database} bằng {file}? Bot phải đang dừng."
    if not yes and not click.confirm(question, default=False):
        click.echo("Đã hủy.")
        return
    try:
        put_back(file, config.database)
    except BackupError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"Đã khôi phục {config.database} từ {file}.")


# --- coordinators: roles and the audit trail ----------------------------------------------


@main.group(help="Vai điều phối viên: toàn quốc, tỉnh (mã tỉnh) hoặc xã (mã xã).")
def roles() -> None:
    pass


@roles.command("list", help="Liệt kê mọi vai điều phối viên.")
@CONFIG_OPTION
def roles_list(config_path: Path | None) -> None:
    from bot import roles as role_store

    config = _config(config_path)
    with _database(config) as database:
        held = database.call(role_store.all_roles)
        labels = [database.call(role_store.scope_label, r.scope) for r in held]
    if not held:
        click.echo("Chưa có điều phối viên nào.")
    for role, label in zip(held, labels, strict=True):
        source = {"config": "tệp cấu hình", "chat": "giao trong Telegram", "cli": "máy chủ"}
        click.echo(f"{role.user_id}\t{label}\t({source.get(role.source, role.source)})")


@roles.command("add", help="Giao vai cho PERSON (mã Telegram, hoặc SĐT của cán bộ đã liên kết).")
@CONFIG_OPTION
@click.argument("person")
@click.option("--national", "national", is_flag=True, help="Phạm vi toàn quốc.")
@click.option("--province", type=int, help="Phạm vi một tỉnh, thành phố (mã tỉnh).")
@click.option("--commune", type=int, help="Phạm vi một xã, phường, đặc khu (mã xã).")
def roles_add(
    config_path: Path | None,
    person: str,
    national: bool,
    province: int | None,
    commune: int | None,
) -> None:
    from bot import roles as role_store
    from bot.coordinators_desk import resolve_person

    chosen = [s for s in (national, province is not None, commune is not None) if s]
    if len(chosen) != 1:
        raise UserError("Cần đúng một trong: --national, --province MÃ, --commune MÃ.")
    scope = (
        role_store.NATIONAL
        if national
        else role_store.Scope("province", province)
        if province is not None
        else role_store.Scope("commune", commune)
    )
    config = _config(config_path)
    with _database(config) as database:
        user_id = _person(database, resolve_person, person)
        held = database.call(role_store.Roles.load)
        try:
            database.call(
                lambda db: role_store.grant(db, held, user_id, scope, by=None, source="cli")
            )
        except role_store.RoleError as exc:
            raise UserError(str(exc)) from None
        label = database.call(role_store.scope_label, scope)
    click.echo(f"Đã giao vai điều phối viên cho {user_id}, phạm vi: {label}.")
    click.echo("Bot đang chạy nhận thay đổi trong vài giây.")


@roles.command("remove", help="Gỡ vai của PERSON (mã Telegram, hoặc SĐT đã liên kết).")
@CONFIG_OPTION
@click.argument("person")
def roles_remove(config_path: Path | None, person: str) -> None:
    from bot import roles as role_store
    from bot.coordinators_desk import resolve_person

    config = _config(config_path)
    with _database(config) as database:
        user_id = _person(database, resolve_person, person)
        held = database.call(role_store.Roles.load)
        try:
            database.call(lambda db: role_store.revoke(db, held, user_id, by=None))
        except role_store.RoleError as exc:
            raise UserError(str(exc)) from None
    click.echo(f"Đã gỡ vai điều phối viên của {user_id}.")


def _person(database: Database, resolve, text: str) -> int:
    user_id = database.call(resolve, text)
    if user_id is None:
        raise UserError(
            f"Không tìm thấy «{text}»: dùng mã Telegram (người đó gõ /id), hoặc số điện thoại "
            "của cán bộ đã liên kết Telegram."
        )
    return user_id


@main.command(help="Tạo đường dẫn mời cán bộ một xã liên kết Telegram, kèm ảnh mã QR.")
@CONFIG_OPTION
@click.option("--commune", "commune_code", type=int, required=True, help="Mã xã.")
@click.option(
    "--qr",
    "qr_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ghi mã QR ra tệp .png (mặc định: moi-lien-ket-MÃ_XÃ.png).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    default=30,
    show_default=True,
    help="Số ngày đường dẫn còn hiệu lực.",
)
@click.option(
    "--bot", "bot_username", help="Tên bot (@…), nếu cấu hình chưa có telegram.bot_username."
)
def invite(
    config_path: Path | None,
    commune_code: int,
    qr_file: Path | None,
    days: int,
    bot_username: str | None,
) -> None:
    from bot import communes, invites

    config = _config(config_path)
    username = (bot_username or config.telegram.bot_username or "").lstrip("@")
    if not username:
        raise UserError("Chưa biết tên bot: dùng --bot TÊN_BOT hoặc khai telegram.bot_username.")
    with _database(config) as database:
        if database.call(communes.commune_ref, commune_code) is None:
            raise UserError(f"Không có xã, phường, đặc khu nào mã {commune_code}.")
        made = database.call(lambda db: invites.create(db, commune_code, by=None, days=days))
    link = made.link(username)
    target = qr_file or Path(f"moi-lien-ket-{commune_code}.png")
    try:
        target.write_bytes(invites.qr_png(link))
    except OSError as exc:
        raise UserError(f"Không ghi được {target}: {exc}") from None
    click.echo(f"Lời mời cho cán bộ {made.commune}, hiệu lực {days} ngày:\n{link}")
    click.echo(f"Mã QR: {target}")


@main.command(
    help="Báo cáo theo phạm vi ra FILE: .png (ảnh biểu đồ, nhiều trang thì FILE-1.png, "
    "FILE-2.png…) hoặc .xlsx (bảng số liệu)."
)
@CONFIG_OPTION
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--scope",
    "scope_text",
    default="national",
    show_default=True,
    help="national, province:MÃ_TỈNH hoặc commune:MÃ_XÃ.",
)
@click.option("--course", help="Mã khóa học: thêm tỷ lệ cán bộ đã hoàn thành khóa đó.")
def report(config_path: Path | None, file: Path, scope_text: str, course: str | None) -> None:
    from bot import reports
    from bot import roles as role_store
    from bot.clock import vietnam_today
    from bot.courses import course_by_code

    suffix = file.suffix.lower()
    if suffix not in (".png", ".xlsx"):
        raise UserError("FILE phải là .png hoặc .xlsx.")
    try:
        scope = role_store.Scope.parse(scope_text)
    except ValueError:
        raise UserError("--scope phải là national, province:MÃ_TỈNH hoặc commune:MÃ_XÃ.") from None
    config = _config(config_path)
    with _database(config) as database:
        try:
            database.call(role_store.check_exists, scope)
        except role_store.RoleError as exc:
            raise UserError(str(exc)) from None
        if course and database.call(course_by_code, course) is None:
            raise UserError(f"Không có khóa học mã {course}.")
        made = database.call(reports.build, scope, vietnam_today(), course)
    if not made.rows:
        raise UserError(f"Chưa có cán bộ nào trong danh sách của {made.scope_name}.")
    try:
        if suffix == ".xlsx":
            reports.write_xlsx(made, file)
            written = [file]
        else:
            pages = reports.render_pages(made)
            written = (
                [file]
                if len(pages) == 1
                else [
                    file.with_name(f"{file.stem}-{n}{file.suffix}")
                    for n in range(1, len(pages) + 1)
                ]
            )
            for path, png in zip(written, pages, strict=True):
                path.write_bytes(png)
    except OSError as exc:
        raise UserError(f"Không ghi được {file}: {exc}") from None
    click.echo(f"{reports.title(made)}: {len(made.rows)} dòng → {', '.join(map(str, written))}")


@main.command(help="In nhật ký thao tác của điều phối viên (cũ trước, mới sau).")
@CONFIG_OPTION
@click.option("--since", "since_text", help="Từ ngày, ví dụ 01/12/2026 hoặc 2026-12-01.")
def audit(config_path: Path | None, since_text: str | None) -> None:
    from bot import audit as trail
    from bot.coordinators_desk import parse_day, start_of_day

    since = None
    if since_text:
        day = parse_day(since_text)
        if day is None:
            raise UserError("Ngày phải có dạng 01/12/2026 hoặc 2026-12-01.")
        since = start_of_day(day)
    config = _config(config_path)
    with _database(config) as database:
        found = database.call(trail.entries, since)
    for entry in found:
        click.echo(entry.line())
    click.echo(f"— {len(found)} dòng.", err=True)


def route_json(question: str, route: Route) -> dict:
    """What the bot does with `question`: an FAQ answer or an action of the assistant
    ("kind"), a suggestion, or no answer (small talk counts as no answer)."""
    answered = route.kind in ("answer", "action") and not route.social
    decision = "answer" if answered else "suggest" if route.kind == "suggest" else "none"
    candidates = route.match.candidates if route.match else ()
    return {
        "question": question,
        "decision": decision,
        "id": route.target if answered else None,
        "kind": ("action" if route.kind == "action" else "faq") if answered else None,
        "score": candidates[0].score if candidates else 0.0,
        "candidates": [
            {
                "id": c.id,
                "kind": "action" if c.is_action else "faq",
                "score": c.score,
                "question": c.question,
            }
            for c in candidates
        ],
    }
