"""The one configuration object, loaded from YAML with environment overrides.

Every problem becomes a `ConfigError` whose message is one Vietnamese sentence saying
what to fix, so the CLI can print it instead of a traceback.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot import BUNDLED_KNOWLEDGE_DIR

TOKEN_ENV = "NTM_BOT_TOKEN"
CONFIG_ENV = "NTM_BOT_CONFIG"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"


class ConfigError(Exception):
    """A configuration problem, worded for the person running the bot."""


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    webhook: WebhookConfig | None = None
    rate_limiter: bool = True
    # The bot's @username, for invitation links made without Telegram (ntm-bot invite,
    # the console); the running bot asks Telegram for it.
    bot_username: str | None = None


@dataclass(frozen=True)
class MatchingConfig:
    """Cut-offs on the matcher's 0-100 score (see bot.matcher for what they mean)."""

    answer_threshold: float = 48.0
    margin: float = 6.0
    # A wordy question scores lower; a clear winner is answered from a lower score.
    clear_threshold: float = 44.0
    clear_margin: float = 10.0
    suggest_threshold: float = 35.0


@dataclass(frozen=True)
class BroadcastConfig:
    rate_per_second: float = 25.0
    poll_seconds: float = 2.0  # how often the worker looks for a due broadcast
    progress_seconds: float = 3.0  # how often the coordinator's message shows progress
    retry_first_seconds: float = 0.5  # first wait after a network error; it doubles


@dataclass(frozen=True)
class HelpdeskConfig:
    """Questions sent to the coordinators (bot.helpdesk)."""

    # How the coordinators' answers are signed for the cadre: the office, not a person.
    signature: str = "Văn phòng điều phối nông thôn mới"
    # A question still waiting this many working days is announced again; 0: never.
    reannounce_working_days: int = 2
    open_per_asker: int = 5  # questions one person may have waiting at once
    # A weekly digest to coordinators on this weekday (0 Monday … 6 Sunday) from this
    # hour, Vietnam time; None: no digest.
    digest_weekday: int | None = None
    digest_hour: int = 8


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    database: Path = field(default_factory=lambda: default_data_dir() / DATABASE_NAME)
    knowledge_dir: Path = BUNDLED_KNOWLEDGE_DIR
    coordinators: frozenset[int] = frozenset()
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    helpdesk: HelpdeskConfig = field(default_factory=HelpdeskConfig)
    source: Path | None = None
    found_by: str = "không có tệp cấu hình"  # how the file was found, for the operator

    def require_token(self) -> str:
        if not self.telegram.token:
            raise ConfigError(
                "Chưa có token của bot: đặt biến môi trường NTM_BOT_TOKEN "
                "hoặc khai báo telegram.token trong tệp cấu hình."
            )
        return self.telegram.token


DATABASE_NAME = "ntm-bot.sqlite3"


def default_config_path() -> Path:
    """The one default place of the config file: $XDG_CONFIG_HOME/ntm-bot/config.yaml."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "ntm-bot" / "config.yaml"


def default_data_dir() -> Path:
    """Where the database lives when no config file says: $XDG_DATA_HOME/ntm-bot. Never the
    folder the command happens to run in, so every command finds the same database."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "ntm-bot"


def _xdg(variable: str, fallback: str) -> Path:
    # A relative value is invalid by the XDG spec (it would move with the folder): ignored.
    value = Path(os.environ.get(variable, "").strip() or ".")
    return value if value.is_absolute() else Path.home() / fallback


def locate_config(path: str | Path | None) -> tuple[Path | None, str]:
    """The config file every command uses, and how it was found: `--config`, then the
    NTM_BOT_CONFIG environment variable, then `default_config_path()` if it exists."""
    if path is not None:
        return Path(path), "theo --config"
    from_env = os.environ.get(CONFIG_ENV, "").strip()
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_absolute():  # it would name another file in each folder
            raise ConfigError(f"Biến môi trường {CONFIG_ENV} phải là đường dẫn tuyệt đối.")
        return path, f"theo biến môi trường {CONFIG_ENV}"
    default = default_config_path()
    if default.is_file():
        return default, "ở vị trí mặc định"
    return None, "không có tệp cấu hình"


def load_config(path: str | Path | None = None, *, search: bool = False) -> Config:
    """Load the config file `path` (or the built-in defaults when it is None); with
    `search`, find it as `locate_config` does."""
    found_by = "theo đường dẫn đã cho" if path is not None else "không có tệp cấu hình"
    if search:
        path, found_by = locate_config(path)
    raw: dict[str, Any] = {}
    source = None
    if path is not None:
        source = Path(path).resolve()
        raw = _read_yaml(source)
    config = replace(_build(raw, source), found_by=found_by)
    env_token = os.environ.get(TOKEN_ENV, "").strip()
    if env_token:
        config = _replace_token(config, env_token)
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Không tìm thấy tệp cấu hình {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Không đọc được tệp cấu hình {path}: {exc}.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (dòng {line + 1})" if line is not None else ""
        raise ConfigError(f"Tệp cấu hình {path} sai cú pháp YAML{where}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Tệp cấu hình {path} phải là một bảng khóa: giá trị.")
    return data


def _build(raw: dict[str, Any], source: Path | None) -> Config:
    # Relative paths in a config file are relative to the file, not to where one stands.
    base = source.parent if source else Path.cwd()
    tg = _section(raw, "telegram")
    matching = _section(raw, "matching")
    broadcast = _section(raw, "broadcast")
    helpdesk = _section(raw, "helpdesk")
    webhook = _section(tg, "webhook", "telegram.webhook") if tg.get("webhook") else None
    defaults = Config()
    knowledge = raw.get("knowledge_dir")
    return Config(
        telegram=TelegramConfig(
            token=_opt_str(tg, "token", "telegram.token"),
            base_url=_opt_str(tg, "base_url", "telegram.base_url") or DEFAULT_BASE_URL,
            base_file_url=_opt_str(tg, "base_file_url", "telegram.base_file_url")
            or DEFAULT_BASE_FILE_URL,
            webhook=_webhook(webhook) if webhook else None,
            rate_limiter=_bool(tg, "rate_limiter", "telegram.rate_limiter", True),
            bot_username=(_opt_str(tg, "bot_username", "telegram.bot_username") or "").lstrip("@")
            or None,
        ),
        database=_path(raw.get("database"), base, "database")
        or (base / DATABASE_NAME if source else defaults.database),
        knowledge_dir=_path(knowledge, base, "knowledge_dir") or defaults.knowledge_dir,
        coordinators=_coordinators(raw.get("coordinators")),
        matching=MatchingConfig(
            answer_threshold=_number(matching, "answer_threshold", 48.0),
            suggest_threshold=_number(matching, "suggest_threshold", 35.0),
            margin=_number(matching, "margin", 6.0),
            clear_threshold=_number(matching, "clear_threshold", 44.0),
            clear_margin=_number(matching, "clear_margin", 10.0),
        ),
        broadcast=BroadcastConfig(
            rate_per_second=_positive(broadcast, "rate_per_second", 25.0, "broadcast"),
            poll_seconds=_positive(broadcast, "poll_seconds", 2.0, "broadcast"),
            progress_seconds=_positive(broadcast, "progress_seconds", 3.0, "broadcast"),
            retry_first_seconds=_positive(broadcast, "retry_first_seconds", 0.5, "broadcast"),
        ),
        helpdesk=HelpdeskConfig(
            signature=_opt_str(helpdesk, "signature", "helpdesk.signature")
            or HelpdeskConfig.signature,
            reannounce_working_days=int(
                _number(helpdesk, "reannounce_working_days", 2, "helpdesk")
            ),
            open_per_asker=max(1, int(_number(helpdesk, "open_per_asker", 5, "helpdesk"))),
            digest_weekday=_weekday(helpdesk.get("digest_weekday")),
            digest_hour=min(23, int(_number(helpdesk, "digest_hour", 8, "helpdesk"))),
        ),
        source=source,
    )


def _section(raw: dict[str, Any], key: str, name: str | None = None) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"Mục {name or key} trong cấu hình phải là một bảng khóa: giá trị.")
    return value


def _opt_str(raw: dict[str, Any], key: str, name: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"Giá trị {name} trong cấu hình phải là chuỗi ký tự.")
    return value.strip()


def _bool(raw: dict[str, Any], key: str, name: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"Giá trị {name} trong cấu hình phải là true hoặc false.")
    return value


def _number(raw: dict[str, Any], key: str, default: float, section: str = "matching") -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"Giá trị {section}.{key} trong cấu hình phải là một số không âm.")
    return float(value)


def _positive(raw: dict[str, Any], key: str, default: float, section: str) -> float:
    value = _number(raw, key, default, section)
    if value <= 0:
        raise ConfigError(f"Giá trị {section}.{key} trong cấu hình phải lớn hơn 0.")
    return value


def _weekday(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise ConfigError(
            "Giá trị helpdesk.digest_weekday phải là một số từ 0 (thứ Hai) đến 6 (Chủ nhật), "
            "hoặc bỏ trống để không gửi tóm tắt tuần."
        )
    return value


def _path(value: Any, base: Path, name: str) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"Giá trị {name} trong cấu hình phải là đường dẫn (chuỗi ký tự).")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _webhook(raw: dict[str, Any]) -> WebhookConfig:
    url = _opt_str(raw, "url", "telegram.webhook.url")
    if not url:
        raise ConfigError("Thiếu telegram.webhook.url (địa chỉ https công khai của webhook).")
    port = raw.get("port", 8443)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("telegram.webhook.port phải là số cổng từ 1 đến 65535.")
    # Without the secret anyone who reaches the port could post updates in any user's
    # name: rights are checked from the sender's id, so the secret is required.
    secret = _opt_str(raw, "secret_token", "telegram.webhook.secret_token") or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
        raise ConfigError(
            "telegram.webhook.secret_token là bắt buộc: 16 đến 256 ký tự A-Z, a-z, 0-9, _ "
            "hoặc -, ví dụ một chuỗi ngẫu nhiên từ `openssl rand -hex 32`."
        )
    return WebhookConfig(
        url=url,
        # Behind the reverse proxy on the same machine, by default.
        listen=_opt_str(raw, "listen", "telegram.webhook.listen") or "127.0.0.1",
        port=port,
        secret_token=secret,
    )


def _coordinators(value: Any) -> frozenset[int]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(
            "Mục coordinators trong cấu hình phải là danh sách mã số người dùng Telegram "
            "(số nguyên)."
        )
    return frozenset(value)


def _replace_token(config: Config, token: str) -> Config:
    return replace(config, telegram=replace(config.telegram, token=token))
