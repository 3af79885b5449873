"""Tests of the fake Bot API server itself, driven only by PTB's own Bot/Application."""

from __future__ import annotations

import datetime as dtm
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

try:  # importable both as a package module and via pytest's rootdir-relative sys.path
    from tests.fake_botapi import BOT_ID, BOT_USERNAME, FakeBotApi
except ImportError:
    from fake_botapi import BOT_ID, BOT_USERNAME, FakeBotApi

pytestmark = pytest.mark.timeout(30)

USER = 42
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Đồng ý", callback_data="yes")]])


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx reads proxy settings when the Bot creates its client.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


StartApp = Callable[..., Awaitable[Application]]


@pytest_asyncio.fixture
async def start_app(fake: FakeBotApi) -> AsyncIterator[StartApp]:
    """Starts a polling Application with /start, echo, button and document handlers."""
    apps: list[Application] = []

    async def start(poll_interval: float = 0.0) -> Application:
        app = (
            ApplicationBuilder()
            .token(fake.token)
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        app.bot_data["downloads"] = []
        app.add_handler(CommandHandler("start", _on_start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _on_text))
        app.add_handler(MessageHandler(filters.Document.ALL, _on_document))
        app.add_handler(CallbackQueryHandler(_on_button))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=poll_interval, timeout=2)
        apps.append(app)
        return app

    yield start
    for app in apps:
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def _on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Xin chào!", reply_markup=KEYBOARD)


async def _on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("ok")
    await query.edit_message_text(f"pressed {query.data}")


async def _on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    file = await message.document.get_file()
    data = await file.download_as_bytearray()
    context.bot_data["downloads"].append(bytes(data))
    await message.reply_text(f"{message.document.file_name}: {len(data)} bytes")


# ------------------------------------------------------------------ Bot


@pytest.mark.asyncio
async def test_get_me_goes_through_base_url(fake: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (BOT_ID, BOT_USERNAME, True)
    assert me.first_name == "Trợ lý NTM (test)"
    assert bot.username == BOT_USERNAME  # Bot.initialize() also called getMe
    assert len(fake.find_calls("getMe")) == 2


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope(fake: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
    await bot.set_my_commands([("admin", "Quản trị")], scope=BotCommandScopeChat(USER))
    assert fake.commands() == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "help", "description": "Trợ giúp"},
    ]
    assert fake.commands({"type": "chat", "chat_id": USER}) == [
        {"command": "admin", "description": "Quản trị"}
    ]
    assert await bot.get_my_commands() == (
        BotCommand("start", "Bắt đầu"),
        BotCommand("help", "Trợ giúp"),
    )
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


@pytest.mark.asyncio
async def test_send_message_round_trip(fake: FakeBotApi, bot: Bot) -> None:
    first = await bot.send_message(USER, "Chào bạn", reply_markup=KEYBOARD)
    second = await bot.send_message(USER, "123")
    other = await bot.send_message(USER + 1, "khác")

    assert first.reply_markup == KEYBOARD  # echoed back and parsed by PTB
    assert first.from_user is not None and first.from_user.id == BOT_ID
    assert (first.chat.id, first.chat.type) == (USER, "private")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    # Form values are decoded: JSON for ints and markup, raw for free text.
    params = fake.find_calls("sendMessage")[1].params
    assert params == {"chat_id": USER, "text": "123"}
    sent = fake.sent_messages(USER)
    assert [s.text for s in sent] == ["Chào bạn", "123"]
    assert sent[0].reply_markup == KEYBOARD.to_dict()


@pytest.mark.asyncio
async def test_reply_keyboard_is_recorded_but_not_echoed(fake: FakeBotApi, bot: Bot) -> None:
    markup = ReplyKeyboardMarkup([["Có", "Không"]], resize_keyboard=True)
    message = await bot.send_message(USER, "Chọn", reply_markup=markup)
    assert message.reply_markup is None  # Message.reply_markup is inline-only
    assert fake.sent_messages(USER)[0].reply_markup == markup.to_dict()


@pytest.mark.asyncio
async def test_edit_message_and_not_modified_error(fake: FakeBotApi, bot: Bot) -> None:
    message = await bot.send_message(USER, "cũ", reply_markup=KEYBOARD)
    edited = await message.edit_text("mới")
    assert edited.text == "mới" and edited.reply_markup is None
    assert fake.message(USER, message.message_id)["text"] == "mới"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await edited.edit_text("mới")
    assert [s.text for s in fake.sent_messages(USER)] == ["cũ", "mới"]


@pytest.mark.asyncio
async def test_message_length_is_checked_like_telegram(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(USER, "ạ" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "ạ" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    # Tags don't count: 4096 visible characters plus markup is fine.
    await bot.send_message(USER, "<b>" + "a" * 4090 + "</b>&amp;12345", parse_mode="HTML")
    assert len(fake.sent_messages(USER)) == 2


@pytest.mark.asyncio
async def test_send_document_multipart_and_download(fake: FakeBotApi, bot: Bot) -> None:
    content = "Báo cáo tiêu chí 17".encode() * 100
    message = await bot.send_document(
        USER, document=content, filename="báo cáo.txt", caption="Báo cáo"
    )
    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("báo cáo.txt", len(content))
    assert message.caption == "Báo cáo"
    sent = fake.sent_messages(USER)[0]
    assert sent.document is not None and sent.document.content == content
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content


@pytest.mark.asyncio
async def test_unknown_method_is_404(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"x": 1})
    assert fake.find_calls("noSuchMethod")[0].error == "Not Found"


def test_raw_form_posts_work_without_an_event_loop(fake: FakeBotApi) -> None:
    assert _post(fake, "getMe")["result"]["id"] == BOT_ID
    fields = {"chat_id": "7", "text": "true", "reply_markup": '{"inline_keyboard": []}'}
    _post(fake, "sendMessage", fields)
    call = fake.wait_for_sync("sendMessage", timeout=1)
    assert call.params == {"chat_id": 7, "text": "true", "reply_markup": {"inline_keyboard": []}}
    with pytest.raises(urllib.error.HTTPError) as info:
        _post(fake, "fooBar")
    assert info.value.code == 404
    assert json.load(info.value) == {"ok": False, "error_code": 404, "description": "Not Found"}


@pytest.mark.asyncio
async def test_server_answers_while_test_loop_is_blocked(fake: FakeBotApi, bot: Bot) -> None:
    # A blocking call inside the test's loop; a server sharing that loop would deadlock.
    assert _post(fake, "getMe")["result"]["username"] == BOT_USERNAME


def _post(fake: FakeBotApi, method: str, fields: dict[str, str] | None = None) -> dict:
    """Synchronous form POST, as a bot in another process would send it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body = urllib.parse.urlencode(fields or {}).encode()
    with opener.open(f"{fake.base_url}{fake.token}/{method}", data=body, timeout=5) as response:
        return json.load(response)


@pytest.mark.asyncio
async def test_wait_for_timeout_lists_recent_calls(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(AssertionError, match=r"(?s)Timed out.*getMe"):
        await fake.wait_for("sendMessage", timeout=0.05)


# ----------------------------------------------------------- long polling


@pytest.mark.asyncio
async def test_long_poll_waits_for_timeout(fake: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 1.8


@pytest.mark.asyncio
async def test_long_poll_returns_early_on_push(fake: FakeBotApi, bot: Bot) -> None:
    threading.Timer(0.2, fake.push_message, args=(USER, "xin chào")).start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 1.5
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.text == "xin chào"


@pytest.mark.asyncio
async def test_offset_confirms_and_limit_caps(fake: FakeBotApi, bot: Bot) -> None:
    for text in ("một", "hai", "ba"):
        fake.push_message(USER, text)
    raw_id = fake.push_update({"message": {**fake.message(USER, 3), "text": "bốn"}})
    assert fake.pending_updates == 4
    first_two = await bot.get_updates(limit=2)
    assert [u.message.text for u in first_two if u.message] == ["một", "hai"]
    rest = await bot.get_updates(offset=first_two[-1].update_id + 1)
    assert [u.update_id for u in rest] == [3, raw_id]
    assert await bot.get_updates(offset=raw_id + 1) == ()
    assert fake.pending_updates == 0


@pytest.mark.asyncio
async def test_contact_and_raw_updates_parse_in_ptb(fake: FakeBotApi, bot: Bot) -> None:
    fake.push_contact(USER, "+84901234567")
    edited = {**fake.push_message(USER, "cũ"), "text": "đã sửa", "edit_date": 1}
    fake.push_update({"edited_message": edited})
    contact, _, edit = await bot.get_updates()
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.phone_number == "+84901234567"
    assert contact.message.contact.user_id == USER == contact.message.from_user.id
    assert edit.edited_message is not None and edit.edited_message.text == "đã sửa"


# ------------------------------------------------------------ Application


@pytest.mark.asyncio
async def test_application_command_echo_and_button(fake: FakeBotApi, start_app: StartApp) -> None:
    await start_app()
    fake.push_message(USER, "/start")
    greeting = await fake.wait_for_reply(USER)
    assert greeting.text == "Xin chào!"
    assert greeting.reply_markup == KEYBOARD.to_dict()

    fake.push_message(USER, "xin chào bot")
    assert (await fake.wait_for_reply(USER)).text == "echo: xin chào bot"

    query = fake.push_callback(USER, "yes", greeting)
    answer = await fake.wait_for("answerCallbackQuery")
    assert answer.params["callback_query_id"] == query["id"]
    edited = await fake.wait_for_reply(USER)
    assert (edited.method, edited.text) == ("editMessageText", "pressed yes")
    assert edited.message_id == greeting.message_id


@pytest.mark.asyncio
async def test_command_with_bot_username(fake: FakeBotApi, start_app: StartApp) -> None:
    await start_app()
    message = fake.push_message(USER, f"/start@{BOT_USERNAME} now", chat_id=-100, chat_type="group")
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 19}]
    assert (await fake.wait_for_reply(-100)).text == "Xin chào!"


@pytest.mark.asyncio
async def test_application_downloads_pushed_document(fake: FakeBotApi, start_app: StartApp) -> None:
    app = await start_app()
    content = bytes(range(256)) * 10
    fake.push_document(USER, "danh sách.xlsx", content)
    reply = await fake.wait_for_reply(USER)
    assert reply.text == "danh sách.xlsx: 2560 bytes"
    assert app.bot_data["downloads"] == [content]


@pytest.mark.asyncio
async def test_updater_survives_500_and_dropped_connection(
    fake: FakeBotApi, start_app: StartApp
) -> None:
    # PTB backs off 1.5x the poll interval after errors (1 s if it is 0), so keep it small.
    await start_app(poll_interval=0.05)
    await fake.wait_for("getUpdates")
    fake.fail("getUpdates", 500)  # taken by the poll that is already pending
    fake.drop("getUpdates")
    fake.push_message(USER, "vẫn chạy")
    assert (await fake.wait_for_reply(USER)).text == "echo: vẫn chạy"
    faults = [c.fault for c in fake.find_calls("getUpdates") if c.fault]
    assert faults == ["error 500", "drop"]  # both before the update was delivered


# ------------------------------------------------------------ fault injection


@pytest.mark.asyncio
async def test_429_raises_retry_after(
    fake: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as timedelta, no warning
    fake.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "nhanh quá")
    assert info.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(USER, "lần sau")  # the rule was consumed
    assert [c.fault for c in fake.find_calls("sendMessage")] == ["error 429", None]


@pytest.mark.asyncio
async def test_403_only_for_the_given_chat(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail("sendMessage", 403, description="Forbidden: bot was blocked by the user", chat_id=7)
    await bot.send_message(8, "không bị chặn")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(7, "bị chặn")
    await bot.send_message(7, "lại được")
    assert [s.chat_id for s in fake.sent_messages()] == [8, 7]


@pytest.mark.asyncio
async def test_500_and_drop_raise_network_error(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail("sendMessage", 500, count=2)
    fake.drop("sendMessage")
    for _ in range(3):
        with pytest.raises(NetworkError) as info:
            await bot.send_message(USER, "lỗi")
        assert type(info.value) is NetworkError  # not BadRequest, a subclass
    assert fake.sent_messages() == []
    assert len(fake.find_calls("sendMessage")) == 3


@pytest.mark.asyncio
async def test_400_and_delay(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(USER, "ai đó")
    fake.delay("sendMessage", 0.3, count=2)
    started = time.monotonic()
    await bot.send_message(USER, "chậm")
    assert time.monotonic() - started >= 0.3
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "quá chậm", read_timeout=0.1)
