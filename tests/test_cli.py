"""The `ntm-bot` command line on the bundled knowledge, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from bot import feedback, learning
from bot.db import Database


def run(args: list[str], cwd, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env=isolated_env(cwd),
    )


def isolated_env(home) -> dict[str, str]:
    """No token, and the default config and data places inside the test's folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("NTM_BOT_TOKEN", "NTM_BOT_CONFIG")}
    return env | {"XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}


def test_chat_answers_criterion_18_and_explains_itself(tmp_path):
    result = run(["chat"], tmp_path, "tiêu chí 18 là gì\n/start\n/thoat\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tiêu chí 18" in out and "Căn cứ:" in out and "Giai đoạn áp dụng" in out
    assert "Tôi là Trợ lý NTM" in out
    assert "[1]" in out  # buttons are numbered
    assert (tmp_path / "ntm-bot-demo.sqlite3").exists()  # the demo database, made on first use


def test_ask_json_contract(tmp_path):
    result = run(["ask", "--json", "tiêu chí 18 là gì"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"question", "decision", "id", "kind", "score", "candidates"}
    assert data["decision"] in {"answer", "suggest", "none"}
    assert data["kind"] in {"faq", "action", None}
    assert 0 <= data["score"] <= 100
    assert all(set(c) == {"id", "kind", "score", "question"} for c in data["candidates"])


def test_ask_json_names_an_action_when_words_ask_for_one(tmp_path):
    result = run(["ask", "--json", "xa minh dat bao nhieu tieu chi roi"], tmp_path)
    data = json.loads(result.stdout)
    assert (data["decision"], data["id"], data["kind"]) == ("answer", "xa", "action")


def test_ask_batch_prints_one_line_per_question_in_order(tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("tiêu chí 18 là gì\n\ngiá lúa hôm nay\n", encoding="utf-8")
    result = run(["ask", "--json", "--batch", str(questions)], tmp_path)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["question"] for d in lines] == ["tiêu chí 18 là gì", "", "giá lúa hôm nay"]
    assert lines[1]["decision"] == lines[2]["decision"] == "none"


def test_check_passes_on_bundled_knowledge(tmp_path):
    result = run(["check"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Kho tri thức hợp lệ" in result.stdout


def test_missing_token_is_one_vietnamese_sentence(tmp_path):
    env_free = run(["run"], tmp_path)
    assert env_free.returncode == 1
    assert env_free.stderr.strip().startswith("Lỗi: Chưa có token của bot")
    assert "Traceback" not in env_free.stderr


def test_every_command_finds_the_same_database_wherever_it_is_run(tmp_path):
    """--config, then NTM_BOT_CONFIG, then the default place; relative paths are the
    config file's; each command says which database it uses."""
    office = tmp_path / "van-phong"
    office.mkdir()
    (office / "config.yaml").write_text("database: du-lieu/bot.sqlite3\n", encoding="utf-8")
    elsewhere = tmp_path / "noi-khac"
    elsewhere.mkdir()
    database = office / "du-lieu" / "bot.sqlite3"

    def command(args: list[str], env: dict[str, str] | None = None):
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True, text=True, cwd=elsewhere, timeout=60,
            env=isolated_env(tmp_path) | (env or {}),
        )  # fmt: skip

    refused = command(["export", "cadres", "x.csv", "--config", str(office / "config.yaml")])
    assert refused.returncode == 1 and "Chưa có cơ sở dữ liệu" in refused.stderr
    assert "ntm-bot init" in refused.stderr and not database.exists()  # nothing created
    made = command(["init", "--config", str(office / "config.yaml")])
    assert made.returncode == 0, made.stderr
    assert f"Cơ sở dữ liệu: {database}" in made.stderr and "theo --config" in made.stderr
    by_env = command(["export", "cadres", "x.csv"], {"NTM_BOT_CONFIG": str(office / "config.yaml")})
    assert by_env.returncode == 0, by_env.stderr
    assert f"Cơ sở dữ liệu: {database}" in by_env.stderr and "NTM_BOT_CONFIG" in by_env.stderr
    default = tmp_path / "config" / "ntm-bot" / "config.yaml"
    default.parent.mkdir(parents=True)
    default.write_text(f"database: {database}\n", encoding="utf-8")
    by_default = command(["backup", str(tmp_path / "sao-luu.sqlite3")])
    assert by_default.returncode == 0, by_default.stderr
    assert f"Cơ sở dữ liệu: {database}" in by_default.stderr and "mặc định" in by_default.stderr
    assert not list(elsewhere.glob("*.sqlite3"))  # never a database where one stands


def test_run_never_starts_on_an_empty_database_it_made_itself(tmp_path):
    """An upgraded service whose config has no `database:` used to mean ./ntm-bot.sqlite3:
    `run` refuses the new default place and points at the old file."""
    (tmp_path / "config.yaml").write_text("coordinators: [1]\n", encoding="utf-8")
    sqlite3.connect(tmp_path / "ntm-bot.sqlite3").close()
    env = isolated_env(tmp_path) | {"NTM_BOT_TOKEN": "123:abc"}
    elsewhere = tmp_path / "khac"
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("coordinators: [1]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(elsewhere / "config.yaml")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"Chưa có cơ sở dữ liệu {elsewhere / 'ntm-bot.sqlite3'}" in result.stderr
    assert f"có tệp {tmp_path / 'ntm-bot.sqlite3'}" in result.stderr
    assert not (elsewhere / "ntm-bot.sqlite3").exists()
    relative = subprocess.run(
        [sys.executable, "-m", "bot", "export", "cadres", "x.csv"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env=env | {"NTM_BOT_CONFIG": "config.yaml"},
    )  # fmt: skip
    assert relative.returncode == 1 and "phải là đường dẫn tuyệt đối" in relative.stderr


def test_the_console_coordinator_role_is_for_the_session_only(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {tmp_path / 'bot.sqlite3'}\ncoordinators: [900]\n")
    assert run(["init", "--config", str(config)], tmp_path).returncode == 0
    chat = run(["chat", "--dieu-phoi", "--config", str(config)], tmp_path, "/nhatky\n/thoat\n")
    assert "Nhật ký thao tác" in chat.stdout, chat.stdout
    roles = sqlite3.connect(tmp_path / "bot.sqlite3").execute("SELECT user_id FROM roles")
    assert roles.fetchall() == [(900,)]  # the config's coordinator, not the console


def test_without_a_config_chat_uses_the_demo_and_ask_creates_nothing(tmp_path):
    chat = run(["chat"], tmp_path, "/thoat\n")
    assert "dùng cơ sở dữ liệu demo" in chat.stderr
    assert f"Cơ sở dữ liệu: {tmp_path / 'ntm-bot-demo.sqlite3'}" in chat.stderr
    asked = run(["ask", "tiêu chí 18 là gì"], tmp_path)
    assert asked.returncode == 0 and "Tiêu chí 18" in asked.stdout
    assert "trả lời từ kho tri thức" in asked.stderr
    assert not (tmp_path / "data").exists()  # no default database made by a question


def _demo_database(tmp_path):
    import datetime as dt

    from bot import demo
    from bot.db import Database

    path = tmp_path / "ntm.sqlite3"
    database = Database(path)
    database.call(demo.prepare_console, 1, dt.date.today())  # demo rows, one linked cadre
    database.close()
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {path}\n", encoding="utf-8")
    return path, config


def test_broadcast_queues_an_announcement_for_the_running_bot(tmp_path):
    import sqlite3

    path, config = _demo_database(tmp_path)
    queued = run(
        [
            "broadcast",
            "--config",
            str(config),
            "--course",
            "LLCT-TC-2026",
            "--audience",
            "not-standard",
            "--yes",
        ],
        tmp_path,
    )
    refused = run(
        ["broadcast", "--config", str(config), "--text", "x", "--audience", "nobody"], tmp_path
    )
    assert queued.returncode == 0, queued.stderr
    assert "Người nhận: 1" in queued.stdout and "Đã xếp thông báo #1 tới 1 người" in queued.stdout
    assert refused.returncode == 1 and "Không hiểu nhóm người nhận" in refused.stderr
    one_unknown = run(
        ["broadcast", "--config", str(config), "--text", "x", "--audience", "communes:27610,99999"],
        tmp_path,
    )
    assert one_unknown.returncode == 1
    assert "Không có xã nào mã 99999. Chưa xếp gì." in one_unknown.stderr
    rows = sqlite3.connect(path).execute("SELECT status, course_code FROM broadcasts").fetchall()
    assert rows == [("scheduled", "LLCT-TC-2026")]
    assert sqlite3.connect(path).execute("SELECT count(*) FROM deliveries").fetchone() == (1,)


def test_export_registrations_of_a_course(tmp_path):
    from bot.spreadsheet import read_rows

    _, config = _demo_database(tmp_path)
    target = tmp_path / "dang-ky.xlsx"
    done = run(
        ["export", "--config", str(config), "registrations", "LLCT-TC-2026", str(target)], tmp_path
    )
    missing = run(
        ["export", "--config", str(config), "registrations", "KHONG-CO", str(target)], tmp_path
    )
    assert done.returncode == 0, done.stderr
    rows = read_rows(target)
    assert rows and set(rows[0]) >= {"Họ và tên", "Xã", "Số điện thoại", "Trạng thái"}
    assert {r["Trạng thái"] for r in rows} <= {"đã đăng ký", "đã tham gia", "đã hoàn thành"}
    assert f"Đã xuất {len(rows)} dòng" in done.stdout
    assert missing.returncode == 1 and "Không có khóa học mã KHONG-CO" in missing.stderr


def test_eval_measures_routing_on_a_messages_file(tmp_path):
    messages = tmp_path / "m.yaml"
    messages.write_text(
        "messages:\n"
        '  - {q: "xa minh dat may tieu chi roi", expect: xa}\n'
        '  - {q: "tieu chi 18 la gi", expect: faq}\n'
        '  - {q: "cam on ad nhieu", expect: thanks}\n',
        encoding="utf-8",
    )
    result = run(["eval", str(messages)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 tin nhắn nhờ làm một việc, 1 câu hỏi quy định" in result.stdout
    assert "đúng việc:                 100.0%" in result.stdout
    assert "không bị dẫn sang việc: 100.0%" in result.stdout


def test_learn_exports_pairs_and_a_reviewed_file_adds_the_accepted_ones(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", knowledge)
    database = tmp_path / "ntm.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge_dir: {knowledge}\ndatabase: {database}\n", encoding="utf-8")
    db = Database(database)
    now = "2026-12-01T08:00:00+00:00"
    db.call(learning.record, "mau moi", "mẫu mới", "van-ban-mau", now)
    db.call(learning.record, "tc bay", "tc bảy", "tieu-chi-mau", now)
    db.close()
    exported = tmp_path / "hoc.yaml"
    result = run(["learn", "--config", str(config), "--export", str(exported)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Đã xuất 2 cặp" in result.stdout
    data = yaml.safe_load(exported.read_text(encoding="utf-8"))
    by_entry = {p["entry"]: p for p in data["pairs"]}
    by_entry["van-ban-mau"]["accept"] = True
    by_entry["tieu-chi-mau"]["accept"] = False
    exported.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run(["learn", "--config", str(config), "--review", str(exported)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "đã thêm «mẫu mới» vào mục van-ban-mau" in result.stdout
    assert '      - "mẫu mới"' in (knowledge / "mau.yaml").read_text(encoding="utf-8")
    states = sqlite3.connect(database).execute(
        "SELECT entry_id, state FROM learned ORDER BY entry_id"
    )
    assert states.fetchall() == [("tieu-chi-mau", "rejected"), ("van-ban-mau", "accepted")]
    # A broken review file is named with its line, and nothing changes.
    exported.write_text("pairs:\n  - {id: 1, entry: [\n", encoding="utf-8")
    result = run(["learn", "--config", str(config), "--review", str(exported)], tmp_path)
    assert result.returncode != 0
    assert "sai cú pháp YAML (dòng" in result.stderr


def test_export_unanswered_writes_the_queue_to_a_spreadsheet(tmp_path):
    from openpyxl import load_workbook

    database = tmp_path / "ntm.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {database}\n", encoding="utf-8")
    db = Database(database)
    now = "2026-12-01T08:00:00+00:00"
    db.call(feedback.record_unanswered, "gia lua", "Giá lúa?", "none", now)
    db.call(feedback.record_unanswered, "mau", "mẫu", "suggest", now)
    db.close()
    file = tmp_path / "chua-tra-loi.xlsx"
    result = run(["export", "unanswered", str(file), "--config", str(config)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Đã xuất 2 dòng" in result.stdout
    rows = list(load_workbook(file).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Câu hỏi", "Kết quả", "Số lần hỏi")
    assert {r[:2] for r in rows[1:]} == {("Giá lúa?", "Không trả lời được"), ("mẫu", "Chỉ gợi ý")}
