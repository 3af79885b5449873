"""Logs never carry the bot token or a phone number, tracebacks included."""

from __future__ import annotations

import logging
import time

from bot.logs import MaskingFormatter
from tests.conftest import FIXTURES, bot_process
from tests.fake_botapi import FakeBotApi

TOKEN = "123456:SECRET-token_value"


def test_formatter_masks_token_and_phones_in_message_and_traceback():
    formatter = MaskingFormatter([TOKEN])
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage for 0912345678")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "link %s failed",
            ("+84987654321",),
            (type(exc), exc, exc.__traceback__),
        )
    text = formatter.format(record)
    assert TOKEN not in text and "0912345678" not in text and "987654321" not in text
    assert "bot***/sendMessage" in text and "+84912***678" in text and "+84987***321" in text


def test_a_running_bot_logs_faults_without_the_token(fake_api: FakeBotApi, tmp_path):
    fake_api.fail("getUpdates", 502, count=2)
    fake_api.drop("getUpdates")
    with bot_process(fake_api, tmp_path, FIXTURES / "mini") as bot:
        fake_api.wait_for_sync("setMyCommands", timeout=20)
        mark = fake_api.mark()
        fake_api.push_contact(4242, "0912345678")  # an unknown number: logged nowhere
        fake_api.wait_for_sync("sendMessage", since=mark, timeout=20)
    assert bot.returncode == 0
    assert "WARNING bot.telegram_app: Network problem while fetching updates" in bot.output
    assert "Traceback" not in bot.output
    assert fake_api.token not in bot.output
    assert "912345678" not in bot.output


def test_a_repeating_message_is_held_back_and_counted():
    from bot.logs import RepeatFilter

    log = logging.getLogger("tests.repeat")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    repeat = RepeatFilter(burst=3, window=0.2)
    handler.addFilter(repeat)
    log.addHandler(handler)
    try:
        for number in range(1001):
            if number == 1000:
                time.sleep(0.25)  # a quiet spell, then the same line once more
            log.warning("Network problem while fetching updates: %s", "boom")
    finally:
        log.removeHandler(handler)
    assert len(records) == 4
    assert "(and 997 more like it held back)" in records[-1].getMessage()
