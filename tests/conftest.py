"""Shared fixtures: the fake Bot API server and the real bot application running on it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.assistant import Assistant
from bot.config import Config, TelegramConfig
from bot.db import Database
from bot.knowledge import load_knowledge
from bot.telegram_app import build_application
from tests.fake_botapi import FakeBotApi

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"

# Loopback must never go through a proxy that the machine may have configured.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def config_for(api: FakeBotApi, tmp_path: Path, **changes: object) -> Config:
    """A config that talks to the fake server, with a database in tmp_path."""
    telegram = TelegramConfig(
        token=api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        rate_limiter=False,
    )
    return replace(
        Config(telegram=telegram, database=tmp_path / "ntm.sqlite3"),
        **changes,
    )


@contextlib.asynccontextmanager
async def running_bot(config: Config, knowledge_dir: Path = BUNDLED_KNOWLEDGE_DIR) -> AsyncIterator:
    """The real PTB application, polling the fake server, stopped cleanly afterwards."""
    database = Database(config.database)
    assistant = Assistant(config, load_knowledge(knowledge_dir), database)
    app = build_application(config, assistant)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1, bootstrap_retries=0)
    try:
        yield app
    finally:
        await app.updater.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.stop()
        await app.shutdown()
        database.close()


@dataclass
class BotProcess:
    """`ntm-bot run` in a subprocess; `output` and `returncode` are set once it has stopped."""

    process: subprocess.Popen[str]
    output: str = ""
    returncode: int | None = None


@contextlib.contextmanager
def bot_process(
    api: FakeBotApi,
    tmp_path: Path,
    knowledge_dir: Path,
    database: Path | None = None,
    settings: dict[str, object] | None = None,
    **telegram: object,
) -> Iterator[BotProcess]:
    """Run the real `ntm-bot run` against the fake server, configured by file alone;
    `settings`: more top-level config keys (coordinators, helpdesk…)."""
    config = tmp_path / "config.yaml"
    database = database or tmp_path / "ntm.sqlite3"
    Database(database).close()  # what `ntm-bot init` does: `run` needs the database made
    connection = {"base_url": api.base_url, "base_file_url": api.base_file_url, **telegram}
    config.write_text(
        yaml.safe_dump(
            {
                "telegram": connection,
                "knowledge_dir": str(knowledge_dir),
                "database": str(database),
                **(settings or {}),
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        env={**os.environ, "NTM_BOT_TOKEN": api.token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = BotProcess(process)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        running.output, _ = process.communicate(timeout=30)
        running.returncode = process.returncode


@dataclass
class WebhookBot:
    """`ntm-bot run` in webhook mode; `post` is Telegram calling it."""

    running: BotProcess
    port: int
    secret: str

    def post(self, body: dict[str, object] | bytes, secret: str | None = None) -> int:
        """POST an update (or raw bytes) to the webhook; the HTTP status it answers."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/ntm-hook",
            data=data,
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret,
            },
        )
        # The webhook server may still be starting when setWebhook has been called.
        for _ in range(100):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
            except urllib.error.URLError:
                time.sleep(0.1)
        raise AssertionError("the webhook server never started")


@contextlib.contextmanager
def webhook_bot(api: FakeBotApi, tmp_path: Path, knowledge_dir: Path) -> Iterator[WebhookBot]:
    """`ntm-bot run` with `telegram.webhook` set, listening on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = {
        "url": "https://bot.example.invalid/ntm-hook",
        "listen": "127.0.0.1",
        "port": port,
        "secret_token": "bi-mat-cua-van-phong-123",
    }
    with bot_process(api, tmp_path, knowledge_dir, webhook=webhook) as running:
        yield WebhookBot(running, port, "bi-mat-cua-van-phong-123")
