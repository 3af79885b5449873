"""A fake Telegram Bot API server for tests, built on aiohttp.

The real PTB ``Application`` talks to it over HTTP through ``base_url``, so
tests exercise the same request encoding, polling loop and error mapping as
production, without Internet access::

    with FakeBotApi() as fake:
        app = (
            ApplicationBuilder()
            .token(fake.token)
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        fake.push_message(user_id=42, text="/start")
        ...

The server runs in its own thread with its own event loop, so it keeps
answering while the test's loop is blocked, and a bot started as a subprocess
can use it too (pass ``fake.base_url``).

httpx honours ``HTTP_PROXY``/``HTTPS_PROXY`` from the environment, so set
``NO_PROXY=127.0.0.1,localhost`` before the bot creates its HTTP client,
otherwise loopback requests may be sent to a proxy.

Deliberate simplifications: any token is accepted and any chat exists;
``parse_mode`` text is stored verbatim (no entities are derived from it) and
only plain and HTML text are checked against the 4096-character limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

BOT_ID = 1000
BOT_USERNAME = "ntm_test_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Trợ lý NTM (test)",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
MAX_MESSAGE_LENGTH = 4096

# PTB sends str values raw and JSON-encodes everything else, so a field is
# JSON-decoded unless it is free text / an opaque string id that could happen
# to look like JSON (e.g. the numeric-looking text "123").
_RAW_STRING_NAMES = (
    "action business_connection_id callback_query_id caption description file_id"
    " inline_message_id inline_query_id language_code message_effect_id name parse_mode"
    " query secret_token short_description text title url"
)
RAW_STRING_FIELDS = frozenset(_RAW_STRING_NAMES.split())

Params = dict[str, Any]
Predicate = Callable[["ApiCall"], bool]


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part as received from the bot."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    """One request received by the fake server.

    ``time`` is ``time.monotonic()`` at arrival. ``result`` is set once the
    request has been answered successfully; ``fault`` names the injected
    fault, ``error`` the description of any error response.
    """

    method: str
    params: Params
    time: float
    fault: str | None = None
    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent or edited (sendMessage/editMessageText/sendDocument/sendPhoto);
    `document` is the uploaded file of a document or a photo."""

    method: str
    chat_id: int | str
    message_id: int
    text: str | None  # caption for documents
    reply_markup: dict[str, Any] | None  # as sent, including reply keyboards
    message: dict[str, Any]  # the Message object returned to the bot
    document: UploadedFile | None
    call_index: int


@dataclass
class _Fault:
    method: str  # lower-case, or "*" for any method
    action: str  # "error" | "delay" | "drop"
    remaining: int | None  # None: until clear_faults()
    status: int = 500
    description: str = ""
    retry_after: int | None = None
    chat_id: int | str | None = None
    seconds: float = 0.0

    def matches(self, method: str, params: Params) -> bool:
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    @property
    def label(self) -> str:
        return {"error": f"error {self.status}", "delay": f"delay {self.seconds}s"}.get(
            self.action, self.action
        )


class ApiError(Exception):
    """Raised by method handlers to produce a Bot API error response."""

    def __init__(self, status: int, description: str, parameters: Params | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class FakeBotApi:
    """Fake Bot API server; see the module docstring."""

    token = "123456:TEST-TOKEN"

    def __init__(self, host: str = "127.0.0.1", shutdown_timeout: float = 1.0) -> None:
        self._host = host
        self._shutdown_timeout = shutdown_timeout
        self._lock = threading.RLock()
        self.calls: list[ApiCall] = []
        self.webhook_url = ""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._unique_ids = itertools.count(1)
        self._last_message_id: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}  # by file_id
        self._file_paths: dict[str, bytes] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self._reply_cursor: dict[int | str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._updates_event: asyncio.Event | None = None
        self._stopping = False
        self._port = 0
        self._handlers: dict[str, Callable[[Params], Any]] = {
            "getme": lambda p: BOT_USER,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "getfile": self._get_file,
            "answercallbackquery": lambda p: True,
            "sendchataction": lambda p: True,
            "close": lambda p: True,
            "logout": lambda p: True,
        }

    # ----------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    def start(self) -> FakeBotApi:
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="FakeBotApi", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start_server(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop_server(), self._loop).result(
            self._shutdown_timeout + 10
        )
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _start_server(self) -> None:
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, 0).start()
        self._port = self._runner.addresses[0][1]

    async def _stop_server(self) -> None:
        # Release pending long polls so the graceful shutdown doesn't wait for them.
        self._stopping = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _read_params(request)
        call = self._record(method, params)
        if method.lower() == "getupdates":
            # Long-poll before choosing a fault, so a fault set while a poll is pending
            # hits that poll instead of letting a later push slip past it.
            await self._long_poll(params)
            if request.transport is None or request.transport.is_closing():
                return web.Response()  # client gave up (e.g. PTB stopped); keep the faults
        fault = self._take_fault(method, params)
        if fault is not None:
            with self._lock:
                call.fault = fault.label
        handler = self._handlers.get(method.lower())
        try:
            if fault is not None and fault.action == "drop":
                # Closing before any response makes httpx raise RemoteProtocolError.
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if fault is not None and fault.action == "error":
                retry = {"retry_after": fault.retry_after} if fault.retry_after else None
                raise ApiError(fault.status, fault.description, retry)
            if fault is not None and fault.action == "delay":
                await asyncio.sleep(fault.seconds)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
        except ApiError as exc:
            with self._lock:
                call.error = exc.description
            return _error_response(exc)
        with self._lock:
            call.result = result
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        with self._lock:
            content = self._file_paths.get(request.match_info["path"])
        if content is None:
            return _error_response(ApiError(404, "Not Found"))
        return web.Response(body=content, content_type="application/octet-stream")

    def _record(self, method: str, params: Params) -> ApiCall:
        call = ApiCall(method, params, time.monotonic())
        with self._lock:
            self.calls.append(call)
        return call

    def _take_fault(self, method: str, params: Params) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, params):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # ----------------------------------------------------- fault injection

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        count: int | None = 1,
    ) -> None:
        """Answer the next ``count`` matching requests with an error (None: forever)."""
        if status == 429 and retry_after is None:
            retry_after = 1  # without it PTB raises NetworkError, not RetryAfter
        if description is None:
            description = HTTPStatus(status).phrase
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
        self._add_fault(
            _Fault(method.lower(), "error", count, status, description, retry_after, chat_id)
        )

    def delay(
        self,
        method: str,
        seconds: float,
        count: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests (to ``chat_id``) only after ``seconds``."""
        self._add_fault(_Fault(method.lower(), "delay", count, seconds=seconds, chat_id=chat_id))

    def drop(self, method: str, count: int | None = 1) -> None:
        """Close the connection without answering the next ``count`` matching requests."""
        self._add_fault(_Fault(method.lower(), "drop", count))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)
        self._notify_pollers()  # a pending long poll should take the fault now

    # -------------------------------------------------------- user updates

    def push_message(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test User",
        username: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a text message from a user; returns the Message dict."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            # PTB's CommandHandler only fires for messages with this entity.
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        fields.update(extra)
        return self._push_user_message(user_id, chat_id, chat_type, first_name, username, fields)

    def push_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        first_name: str = "Test User",
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a shared contact; ``contact_user_id`` defaults to the sender (own contact)."""
        contact = {
            "phone_number": phone_number,
            "first_name": first_name,
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return self._push_user_message(
            user_id, None, "private", first_name, None, {"contact": contact, **extra}
        )

    def push_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a document upload; getFile and the file URL will serve ``content``."""
        fields: dict[str, Any] = {"document": self._register_file(filename, content, mime_type)}
        if caption is not None:
            fields["caption"] = caption
        fields.update(extra)
        return self._push_user_message(user_id, None, "private", "Test User", None, fields)

    def push_callback(
        self, user_id: int, data: str, message: dict[str, Any] | SentMessage | int
    ) -> dict[str, Any]:
        """Queue a button press on a bot message; returns the CallbackQuery dict."""
        if isinstance(message, SentMessage):
            message = message.message
        key = (user_id, message) if isinstance(message, int) else _message_key(message)
        with self._lock:
            stored = self._messages.get(key)
        if stored is None and isinstance(message, int):
            raise KeyError(f"no message {message} in chat {user_id}")
        query = {
            "id": str(next(self._unique_ids)),
            "from": _user(user_id, "Test User", None),
            "chat_instance": f"instance-{key[0]}",
            "data": data,
            "message": dict(stored or message),  # type: ignore[arg-type]
        }
        self.push_update({"callback_query": query})
        return query

    def push_update(self, raw: dict[str, Any]) -> int:
        """Queue any update body (``update_id`` is assigned if missing); returns the id."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **raw}
            self._updates.append(update)
        self._notify_pollers()
        return update["update_id"]

    def _push_user_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        user = _user(user_id, first_name, username)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": first_name}
            chat["username"] = user["username"]
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        with self._lock:
            self._chats[chat_id] = chat
        message = self._new_message(chat_id, user, fields)
        self.push_update({"message": message})
        return message

    def _notify_pollers(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        # Runs on the server loop. Swapping the event wakes every current
        # waiter exactly once and leaves a fresh event for the next wait.
        if self._updates_event is not None:
            self._updates_event.set()
        self._updates_event = asyncio.Event()

    # ---------------------------------------------------- inspecting calls

    def mark(self) -> int:
        """Index to pass as ``since`` so that only later calls are considered."""
        with self._lock:
            return len(self.calls)

    def find_calls(
        self,
        method: str | Predicate | None = None,
        predicate: Predicate | None = None,
        since: int = 0,
    ) -> list[ApiCall]:
        """Calls from index ``since`` on, by method name (or predicate as first argument)."""
        if callable(method):
            method, predicate = None, method
        with self._lock:
            calls = self.calls[since:]
        return [
            c
            for c in calls
            if (method is None or c.method.lower() == method.lower())
            and (predicate is None or predicate(c))
        ]

    def sent_messages(self, chat_id: int | str | None = None, since: int = 0) -> list[SentMessage]:
        """Successfully answered sendMessage/editMessageText/sendDocument calls."""
        with self._lock:
            calls = list(enumerate(self.calls))[since:]
        sent = [_sent_message(i, c) for i, c in calls if c.result is not None]
        return [
            s for s in sent if s is not None and (chat_id is None or str(s.chat_id) == str(chat_id))
        ]

    async def wait_for(
        self,
        method: str | Predicate | None = None,
        predicate: Predicate | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,
    ) -> ApiCall:
        """First call from index ``since`` on matching like :meth:`find_calls`."""
        deadline = time.monotonic() + timeout
        while not (found := self.find_calls(method, predicate, since)):
            self._check_deadline(deadline, f"{method or ''} {predicate or ''}")
            await asyncio.sleep(0.01)
        return found[0]

    def wait_for_sync(
        self,
        method: str | Predicate | None = None,
        predicate: Predicate | None = None,
        *,
        since: int = 0,
        timeout: float = 5.0,
    ) -> ApiCall:
        """Blocking variant of :meth:`wait_for` for non-async tests."""
        deadline = time.monotonic() + timeout
        while not (found := self.find_calls(method, predicate, since)):
            self._check_deadline(deadline, f"{method or ''} {predicate or ''}")
            time.sleep(0.01)
        return found[0]

    async def wait_for_reply(
        self, chat_id: int | str, *, since: int | None = None, timeout: float = 5.0
    ) -> SentMessage:
        """Next message sent to ``chat_id`` after ``since``.

        Without ``since`` it continues after the previous reply returned for
        this chat, so a conversation reads as push / wait_for_reply / push...
        """
        start = self._reply_cursor.get(chat_id, 0) if since is None else since
        deadline = time.monotonic() + timeout
        while not (found := self.sent_messages(chat_id, start)):
            self._check_deadline(deadline, f"a reply to chat {chat_id} after call #{start}")
            await asyncio.sleep(0.01)
        self._reply_cursor[chat_id] = found[0].call_index + 1
        return found[0]

    def _check_deadline(self, deadline: float, what: str) -> None:
        if time.monotonic() < deadline:
            return
        with self._lock:
            recent = list(enumerate(self.calls))[-15:]
        lines = [f"  #{i} {c.method} {c.params} fault={c.fault} error={c.error}" for i, c in recent]
        raise AssertionError(f"Timed out waiting for {what}; last calls:\n" + "\n".join(lines))

    # ------------------------------------------------------- state access

    @property
    def pending_updates(self) -> int:
        """Queued updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._commands.get(_commands_key(scope, language_code), []))

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """Current state of a stored message (after edits), or None if deleted."""
        with self._lock:
            return self._messages.get((_chat_key(chat_id), message_id))

    # ------------------------------------------------------ method handlers

    async def _long_poll(self, params: Params) -> None:
        """Wait up to ``timeout`` s until updates or a getUpdates fault are pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout", 0))
        while not self._poll_ready(params) and (remaining := deadline - loop.time()) > 0:
            # Read right after the check with no await between, so a wake-up can't be missed.
            assert self._updates_event is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), remaining)

    def _poll_ready(self, params: Params) -> bool:
        with self._lock:
            self._confirm(int(params.get("offset", 0)))
            return bool(
                self._updates
                or self._stopping
                or self.webhook_url
                or any(f.matches("getUpdates", params) for f in self._faults)
            )

    def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        with self._lock:
            self._confirm(int(params.get("offset", 0)))
            return self._updates[: int(params.get("limit", 100))]

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _set_webhook(self, params: Params) -> bool:
        self.webhook_url = params["url"]
        return True

    def _delete_webhook(self, params: Params) -> bool:
        with self._lock:
            self.webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: Params) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates,
        }

    def _set_my_commands(self, params: Params) -> bool:
        key = _commands_key(params.get("scope"), params.get("language_code", ""))
        with self._lock:
            self._commands[key] = list(params["commands"])
        return True

    def _get_my_commands(self, params: Params) -> list[dict[str, Any]]:
        return self.commands(params.get("scope"), params.get("language_code", ""))

    def _delete_my_commands(self, params: Params) -> bool:
        key = _commands_key(params.get("scope"), params.get("language_code", ""))
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _send_message(self, params: Params) -> dict[str, Any]:
        text = _check_text(params)
        fields = {"text": text, **_optional(params, "entities")}
        return self._send(params, fields)

    def _send_document(self, params: Params) -> dict[str, Any]:
        document = params.get("document")
        if isinstance(document, UploadedFile):
            info = self._register_file(document.filename, document.content, document.content_type)
        else:
            with self._lock:
                known = self._files.get(str(document))
            if known is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            info = known[0]
        fields = {"document": info, **_optional(params, "caption", "caption_entities")}
        return self._send(params, fields)

    def _send_photo(self, params: Params) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, UploadedFile):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if not photo.content.startswith(b"\x89PNG") and not photo.content.startswith(b"\xff\xd8"):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        info = self._register_file(photo.filename, photo.content, photo.content_type)
        size = {k: info[k] for k in ("file_id", "file_unique_id", "file_size")}
        fields = {"photo": [size | {"width": 0, "height": 0}]}
        return self._send(params, fields | _optional(params, "caption", "caption_entities"))

    def _send(self, params: Params, fields: dict[str, Any]) -> dict[str, Any]:
        fields.update(_inline_markup(params.get("reply_markup")))
        return self._new_message(_chat_key(params["chat_id"]), BOT_USER, fields)

    def _edit_message_text(self, params: Params) -> dict[str, Any] | bool:
        changes = {
            "text": _check_text(params),
            "entities": params.get("entities"),
            **_inline_markup(params.get("reply_markup"), removed=True),
        }
        return self._edit(params, changes)

    def _edit_message_reply_markup(self, params: Params) -> dict[str, Any] | bool:
        return self._edit(params, _inline_markup(params.get("reply_markup"), removed=True))

    def _edit(self, params: Params, changes: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True  # inline messages aren't stored; Telegram answers True too
        key = (_chat_key(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            message = self._messages.get(key)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            updated = {k: v for k, v in {**message, **changes}.items() if v is not None}
            if updated == message:
                # Real Telegram rejects no-op edits; bots must cope with this.
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content "
                    "and reply markup are exactly the same as a current content and reply "
                    "markup of the message",
                )
            updated["edit_date"] = int(time.time())
            self._messages[key] = updated
            return dict(updated)

    def _delete_message(self, params: Params) -> bool:
        key = (_chat_key(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            if self._messages.pop(key, None) is None:
                raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _get_file(self, params: Params) -> dict[str, Any]:
        with self._lock:
            known = self._files.get(str(params.get("file_id")))
        if known is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        info, content = known
        return {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": len(content),
            "file_path": info["file_path"],
        }

    # ---------------------------------------------------------- internals

    def _new_message(
        self, chat_id: int | str, sender: dict[str, Any], fields: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            # Private chats share one message id sequence between user and bot.
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chats.get(chat_id) or _default_chat(chat_id),
                "from": sender,
                **fields,
            }
            self._messages[(chat_id, message_id)] = message
            return dict(message)

    def _register_file(self, filename: str, content: bytes, mime_type: str) -> dict[str, Any]:
        n = next(self._unique_ids)
        suffix = filename[filename.rfind(".") :] if "." in filename else ""
        info = {
            "file_id": f"file-{n}",
            "file_unique_id": f"unique-{n}",
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
            # ASCII-only like Telegram's, so URL quoting of Vietnamese names can't bite.
            "file_path": f"documents/file_{n}{suffix if suffix.isascii() else ''}",
        }
        with self._lock:
            self._files[info["file_id"]] = (info, content)
            self._file_paths[info["file_path"]] = content
        # file_path isn't part of a Message's Document object.
        return {k: v for k, v in info.items() if k != "file_path"}


# ------------------------------------------------------------ helpers


async def _read_params(request: web.Request) -> Params:
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
        return params
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            params[name] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[name] = value
    return {k: _decode_value(k, v) for k, v in params.items()}


def _decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in RAW_STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. "@channel" chat ids, file ids, URLs


def _error_response(exc: ApiError) -> web.Response:
    body: Params = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.status)


def _check_text(params: Params) -> str:
    text = params.get("text") or ""
    visible = text
    parse_mode = str(params.get("parse_mode", "")).lower()
    if parse_mode == "html":
        # Telegram counts the text after parsing, so tags mustn't count against the limit.
        visible = html.unescape(re.sub(r"<[^>]*>", "", text))
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if _utf16_len(visible) > MAX_MESSAGE_LENGTH and not parse_mode.startswith("markdown"):
        raise ApiError(400, "Bad Request: message is too long")
    return text


def _inline_markup(markup: Any, removed: bool = False) -> dict[str, Any]:
    # Message.reply_markup can only be an inline keyboard; echoing a reply
    # keyboard would make PTB fail to parse the returned Message.
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return {"reply_markup": markup}
    return {"reply_markup": None} if removed else {}


def _optional(params: Params, *names: str) -> dict[str, Any]:
    return {name: params[name] for name in names if params.get(name) is not None}


def _user(user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "username": username or f"user{user_id}",
        "language_code": "vi",
    }


def _default_chat(chat_id: int | str) -> dict[str, Any]:
    if isinstance(chat_id, int) and chat_id > 0:
        return {"id": chat_id, "type": "private"}
    return {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}


def _chat_key(chat_id: Any) -> int | str:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)


def _message_key(message: dict[str, Any]) -> tuple[int | str, int]:
    return _chat_key(message["chat"]["id"]), int(message["message_id"])


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    scope = scope or {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code or ""


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets and message length in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _sent_message(index: int, call: ApiCall) -> SentMessage | None:
    method = call.method.lower()
    if method not in ("sendmessage", "editmessagetext", "senddocument", "sendphoto"):
        return None
    if not isinstance(call.result, dict):
        return None  # inline message edits answer True
    message = call.result
    document = call.params.get("document") or call.params.get("photo")
    return SentMessage(
        method=call.method,
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        text=message.get("text", message.get("caption")),
        reply_markup=call.params.get("reply_markup"),
        message=message,
        document=document if isinstance(document, UploadedFile) else None,
        call_index=index,
    )
