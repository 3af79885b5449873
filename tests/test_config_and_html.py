"""Configuration loading and the Telegram HTML helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.telegram_html import check, split_message, to_plain, visible_length

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads(monkeypatch):
    monkeypatch.delenv("NTM_BOT_TOKEN", raising=False)
    config = load_config(ROOT / "config.example.yaml")
    assert config.telegram.token is None
    assert config.telegram.base_url == "https://api.telegram.org/bot"
    assert config.telegram.rate_limiter is True
    assert config.broadcast.rate_per_second == 25
    assert config.database == ROOT / "ntm-bot.sqlite3"
    with pytest.raises(ConfigError, match="NTM_BOT_TOKEN"):
        config.require_token()


def test_environment_token_wins(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text('telegram:\n  token: "from-file"\ncoordinators: [1, 2]\n', encoding="utf-8")
    monkeypatch.setenv("NTM_BOT_TOKEN", "from-env")
    config = load_config(path)
    assert config.require_token() == "from-env"
    assert config.coordinators == frozenset({1, 2})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("telegram: [1\n", r"sai cú pháp YAML \(dòng 2\)"),
        ("- a\n- b\n", "phải là một bảng"),
        ("coordinators: [abc]\n", "coordinators"),
        ("matching:\n  answer_threshold: cao\n", "matching.answer_threshold"),
        ("telegram:\n  webhook:\n    port: 80\n", "telegram.webhook.url"),
        ("telegram:\n  webhook:\n    url: https://x.vn/h\n", "secret_token là bắt buộc"),
        (
            "telegram:\n  webhook:\n    url: https://x.vn/h\n    secret_token: ngan\n",
            "secret_token là bắt buộc",
        ),
        ("telegram:\n  rate_limiter: maybe\n", "telegram.rate_limiter"),
    ],
)
def test_bad_config_gives_one_vietnamese_sentence(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="Không tìm thấy tệp cấu hình"):
        load_config(tmp_path / "nope.yaml")


def test_html_helpers():
    assert check('<b>đậm</b> &amp; <a href="https://x.vn">link</a>') == []
    assert to_plain("<b>A</b> &amp; B") == "A & B"
    assert visible_length("<b>😀</b>") == 2  # Telegram counts UTF-16 code units


def test_split_keeps_paragraphs_whole_and_parts_within_limit():
    paragraphs = [f"Đoạn {i}:" + " chữ" * 50 for i in range(100)]
    parts = split_message("\n\n".join(paragraphs), limit=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert "\n\n".join(parts) == "\n\n".join(paragraphs)


def test_split_cuts_an_overlong_line_on_words():
    parts = split_message("từ " * 2000, limit=500)
    assert all(len(p) <= 500 for p in parts)
    assert sum(p.count("từ") for p in parts) == 2000
