"""Webhook mode: a small HTTP endpoint of our own in front of the PTB `Application`.

PTB's own webhook server answers an update it cannot parse with 400 and logs it whole:
Telegram then sends the same update again and again, and its content (which may hold
personal data) lands in the log each time. Here such an update is logged once by id
(bot.telegram_bot.parse_update), counted, and answered 200 so Telegram moves on; every
other update goes to the application's queue exactly as PTB's server would put it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer

from bot.config import WebhookConfig
from bot.telegram_bot import parse_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _UpdateEndpoint(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, app: Application, secret_token: str) -> None:
        self.app = app
        self.secret_token = secret_token  # required by the config (bot.config)

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not self.secret_token or not hmac.compare_digest(
            given.encode(), self.secret_token.encode()
        ):
            raise tornado.web.HTTPError(403)
        try:
            raw = json.loads(self.request.body)
        except ValueError:
            # Not something Telegram sends: say so to whoever it was, keep nothing.
            log.warning("Webhook request that is not JSON (%d bytes)", len(self.request.body))
            raise tornado.web.HTTPError(400) from None
        update = parse_update(raw, self.app.bot)
        if update is not None:
            await self.app.update_queue.put(update)
        self.set_status(200)

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def]
        # 403 and 400 are answers, not faults; anything else is logged by our own format.
        if not isinstance(value, tornado.web.HTTPError):
            log.error("Webhook request failed", exc_info=(typ, value, tb))


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """One line per request would be one line per cadre's message."""


def run_webhook(app: Application, webhook: WebhookConfig) -> None:
    """Serve until SIGINT or SIGTERM, with the same start and stop order as PTB's runners."""
    asyncio.run(_serve(app, webhook))


async def _serve(app: Application, webhook: WebhookConfig) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    # The reverse proxy forwards the public URL's path unchanged.
    path = re.escape(urlsplit(webhook.url).path.strip("/"))
    endpoint = {"app": app, "secret_token": webhook.secret_token}
    server = HTTPServer(_Quiet([(rf"/{path}/?", _UpdateEndpoint, endpoint)]))
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        server.listen(webhook.port, address=webhook.listen)
        await app.bot.set_webhook(
            webhook.url, allowed_updates=Update.ALL_TYPES, secret_token=webhook.secret_token
        )
        await app.start()
        log.info("Webhook listening on %s:%d", webhook.listen, webhook.port)
        await stopping.wait()
    finally:
        server.stop()
        await server.close_all_connections()
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
