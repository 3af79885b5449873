"""The bot object: python-telegram-bot's `ExtBot`, with polling that one update cannot stop.

PTB parses a `getUpdates` batch as a whole; an update it cannot parse (a shape an older
self-hosted Bot API server sends, say) makes the whole batch fail, and the updater asks
for the same offset again at once, forever, logging the batch each time. Here a batch
that fails is fetched again and each raw update parsed on its own: one that fails is
logged once (its id and why, never its content, which may hold personal data), counted
and confirmed so the offset moves past it; the others are processed as usual. A batch
that parses costs nothing more. The webhook (bot.telegram_webhook) uses the same
`parse_update`.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class SafeBot(ExtBot):
    skipped = 0  # updates dropped because they could not be parsed, since start
    _repairing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # PTB logs a batch it cannot parse whole, content included; we log ids instead.
        logging.getLogger("telegram.ext.ExtBot").addFilter(_no_raw_batches)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """PTB's own parse first (a batch is parsed once); only a batch that fails is
        fetched again (nothing was confirmed) and kept to what parses."""
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise  # the network retry loop's business
        except Exception:
            self._repairing = True
            try:
                return await super().get_updates(*args, **kwargs)
            finally:
                self._repairing = False

    async def _post(self, endpoint: str, data: dict[str, Any] | None = None, *args, **kwargs):
        result = await super()._post(endpoint, data, *args, **kwargs)
        if not self._repairing or endpoint != "getUpdates" or not isinstance(result, list):
            return result
        good, bad = self._parseable(result)
        while bad and (not good or max(bad) > good[-1]["update_id"]):
            # Confirm what cannot be parsed by asking from past it, at once (timeout 0).
            more = await super()._post(
                endpoint, {**(data or {}), "offset": max(bad) + 1, "timeout": 0}, *args, **kwargs
            )
            good_more, bad = self._parseable(more if isinstance(more, list) else [])
            good += good_more
        return good

    def _parseable(self, raw: list[Any]) -> tuple[list[dict[str, Any]], list[int]]:
        good, bad = [], []
        for item in raw:
            if parse_update(item, self) is not None:
                good.append(item)
            elif isinstance(item, dict) and isinstance(item.get("update_id"), int):
                bad.append(item["update_id"])
            # else: no id to move past, nothing PTB could use either
        return good, bad


def parse_update(raw: Any, bot: ExtBot) -> Update | None:
    """The update, or None (logged once by id, never by content, and counted) when PTB
    cannot parse it. Shared by polling and the webhook."""
    try:
        return Update.de_json(raw, bot)
    except Exception as exc:  # whatever PTB raises on a shape it does not know
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        SafeBot.skipped += 1
        log.warning("Skipped update %s: it cannot be parsed (%s)", update_id, type(exc).__name__)
        return None


def _no_raw_batches(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Error while parsing updates")
