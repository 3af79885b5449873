"""Odd and hostile input, end to end: a sensible reply or a deliberate silence, no crash,
no leak, valid HTML in everything sent, and the next normal question still answered."""

from __future__ import annotations

import logging
import sqlite3
import time
import unicodedata

import pytest

from bot.telegram_html import check, to_plain
from tests.conftest import FIXTURES, config_for, running_bot, webhook_bot
from tests.fake_botapi import FakeBotApi

MINI = FIXTURES / "mini"
USER, OTHER, COORDINATOR = 6001, 6002, 900
_ids = iter(range(50_000, 60_000))


def _message(user: int, chat_type: str = "private", chat_id: int | None = None, **fields) -> dict:
    chat = {"id": chat_id or user, "type": chat_type}
    chat.update({"first_name": "Lan"} if chat_type == "private" else {"title": "Nhóm xã"})
    return {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": user, "is_bot": False, "first_name": "Lan"},
        **fields,
    }


@pytest.fixture
def config(fake_api: FakeBotApi, tmp_path):
    return config_for(fake_api, tmp_path, coordinators=frozenset({COORDINATOR}))


@pytest.fixture(autouse=True)
def no_handler_errors(caplog):
    caplog.set_level(logging.ERROR)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.fixture(autouse=True)
def every_message_is_valid_html(fake_api: FakeBotApi):
    yield
    for sent in fake_api.sent_messages():
        if sent.text and sent.method != "sendDocument":
            assert check(sent.text) == [], sent.text


ODD_TEXTS = [
    "a" * 4096,
    "😀😀😀🙏",
    "\u200b\u200c\u200d\ufeff",
    "\x01\x02\x1f xin chào",
    "مرحبا، كيف حالك؟",
    "'; DROP TABLE cadres; --",
    '<b>đậm</b> <a href="javascript:alert(1)">bấm</a> &amp; <script>',
    "*in đậm* _nghiêng_ [link](http://x) `code`",
    "?" * 500,
    "/",
    "/xa",
    "/daotao ' OR 1=1 --",
]


async def test_odd_texts_get_a_reply_and_the_bot_goes_on(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        for text in ODD_TEXTS:
            fake_api.push_message(USER, text)
            reply = await fake_api.wait_for_reply(USER)
            assert to_plain(reply.text).strip()
            time.sleep(0.3)  # a person's pace: stay under the flood limit
        fake_api.push_message(USER, "tieu chi mau so 7")
        normal = await fake_api.wait_for_reply(USER)
    assert to_plain(normal.text).startswith("Tiêu chí mẫu số 7")
    counts = sqlite3.connect(config.database).execute("SELECT count(*) FROM cadres").fetchone()
    assert counts == (0,)  # nothing dropped, nothing injected


async def test_decomposed_vietnamese_is_understood(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_message(USER, unicodedata.normalize("NFD", "Tiêu chí mẫu số 7 là gì?"))
        reply = await fake_api.wait_for_reply(USER)
    assert to_plain(reply.text).startswith("Tiêu chí mẫu số 7")


async def test_echoed_input_is_escaped(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_message(USER, '/xa <b>x</b><a href="javascript:alert(1)">y</a>')
        reply = await fake_api.wait_for_reply(USER)
        fake_api.push_message(USER, "<i>giá lúa</i> & <b>hôm nay</b>")
        await fake_api.wait_for_reply(USER)
        fake_api.push_message(COORDINATOR, "/chuatraloi")
        listing = await fake_api.wait_for_reply(COORDINATOR)
    assert "&lt;b&gt;x&lt;/b&gt;&lt;a href=" in reply.text
    assert '<a href="javascript' not in reply.text
    assert "&lt;i&gt;giá lúa&lt;/i&gt; &amp; &lt;b&gt;hôm nay&lt;/b&gt;" in listing.text


async def test_non_text_messages_get_a_short_explanation(fake_api: FakeBotApi, config):
    kinds = {
        "sticker": {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
        "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
        "location": {"location": {"latitude": 10.7, "longitude": 106.6}},
        "poll": {
            "poll": {
                "id": "1",
                "question": "Họp lúc mấy giờ?",
                "options": [
                    {"persistent_id": "a", "text": "8h", "voter_count": 0},
                    {"persistent_id": "b", "text": "9h", "voter_count": 0},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        },
    }
    async with running_bot(config, MINI):
        for fields in kinds.values():
            fake_api.push_update({"message": _message(USER, **fields)})
            reply = await fake_api.wait_for_reply(USER)
            assert reply.text.startswith("Trợ lý chỉ đọc được tin nhắn chữ")


async def test_edited_and_forwarded_messages_are_answered(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_update(
            {
                "edited_message": {
                    **_message(USER, text="tieu chi mau so 7"),
                    "edit_date": int(time.time()),
                }
            }
        )
        edited = await fake_api.wait_for_reply(USER)
        forwarded = _message(
            USER,
            text="van ban mau quy dinh gi",
            forward_origin={"type": "hidden_user", "sender_user_name": "Ai đó", "date": 1},
        )
        fake_api.push_update({"message": forwarded})
        answer = await fake_api.wait_for_reply(USER)
    assert to_plain(edited.text).startswith("Tiêu chí mẫu số 7")
    assert to_plain(answer.text).startswith("Văn bản mẫu quy định")


async def test_groups_silent_unless_addressed_and_channels_silent(fake_api: FakeBotApi, config):
    group = -100123
    async with running_bot(config, MINI):
        fake_api.push_update(
            {"message": _message(USER, "supergroup", group, text="tiêu chí 18 là gì")}
        )
        fake_api.push_update(
            {"channel_post": {**_message(USER, "channel", -100999, text="@ntm_test_bot chào")}}
        )
        fake_api.push_update(
            {"message": _message(USER, "supergroup", group, text="@ntm_test_bot tiêu chí 18 là gì")}
        )
        reply = await fake_api.wait_for_reply(group)
        fake_api.push_message(USER, "/help")
        await fake_api.wait_for_reply(USER)
    assert reply.text.startswith("Trợ lý chỉ trả lời trong tin nhắn riêng")
    assert len(fake_api.sent_messages(group)) == 1
    assert fake_api.sent_messages(-100999) == []


async def test_forged_and_oversized_callback_data(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_message(USER, "/chude")
        menu = await fake_api.wait_for_reply(USER)
        for data in (
            "x" * 300,
            "a:",
            "c:../../etc/passwd",
            "fb:tieu-chi-mau:1:2",
            "imp::ok",
            "tb:ok",
            "",
            "x:" + "9" * 23,
            "hd:ask:" + "9" * 30,
            "hd:pick:1:" + "z" * 40,
            "hl:ok:-1",
            "uq:no:1e9",
            "hn:step:answer",
        ):
            fake_api.push_callback(USER, data, menu)
            reply = await fake_api.wait_for_reply(USER)
            assert any(
                word in reply.text for word in ("không còn hiệu lực", "hết hiệu lực", "hết hạn")
            )
            time.sleep(0.2)


async def test_a_button_under_an_inline_message_is_answered_in_the_private_chat(
    fake_api: FakeBotApi, config
):
    async with running_bot(config, MINI):
        query = {
            "id": "inline-1",
            "from": {"id": USER, "is_bot": False, "first_name": "Test User"},
            "chat_instance": "inline",
            "inline_message_id": "AAAA",
            "data": "cats",
        }
        fake_api.push_update({"callback_query": query})
        reply = await fake_api.wait_for_reply(USER)
        fake_api.push_message(USER, "/chude")
        after = await fake_api.wait_for_reply(USER)
    assert "Chọn chủ đề" in reply.text and "Chọn chủ đề" in after.text


async def test_a_flood_is_slowed_without_slowing_anyone_else(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        for n in range(30):
            fake_api.push_message(USER, f"tieu chi mau so 7 lan {n}")
        fake_api.push_message(OTHER, "van ban mau quy dinh gi")
        other = await fake_api.wait_for_reply(OTHER, timeout=5)
        deadline = time.monotonic() + 5
        while fake_api.pending_updates and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    flooder = [m.text for m in fake_api.sent_messages(USER)]
    assert to_plain(other.text).startswith("Văn bản mẫu quy định")
    assert (
        flooder.count("Bạn gửi hơi nhanh, trợ lý xin phép đợi vài giây rồi trả lời tiếp nhé.") == 1
    )
    assert 12 <= len(flooder) <= 16  # the burst, a little refill, one warning; the rest dropped


def test_the_webhook_answers_and_skips_an_update_that_cannot_be_parsed(
    fake_api: FakeBotApi, tmp_path
):
    """Webhook mode: 200 for the unparseable poll (Telegram moves on), both questions
    answered, one log line by id; a body that is not JSON is refused, nothing kept."""

    def update(update_id: int, **fields: object) -> dict:
        return {"update_id": update_id, **fields}

    with webhook_bot(fake_api, tmp_path, MINI) as bot:
        fake_api.wait_for_sync("setWebhook", timeout=20)
        assert bot.post(update(1, message=_message(USER, text="tieu chi mau so 7"))) == 200
        assert bot.post(update(2, poll={"id": "old-shape"})) == 200
        assert bot.post(b"{not json") == 400
        assert bot.post(update(3, message=_message(OTHER, text="van ban mau quy dinh gi"))) == 200
        for user in (USER, OTHER):
            fake_api.wait_for_sync(lambda _, u=user: bool(fake_api.sent_messages(u)), timeout=10)
    assert "Tiêu chí mẫu" in to_plain(fake_api.sent_messages(USER)[0].text)
    assert "Văn bản mẫu" in to_plain(fake_api.sent_messages(OTHER)[0].text)
    log = bot.running.output
    assert log.count("Skipped update 2: it cannot be parsed") == 1
    assert "old-shape" not in log  # the update's content is not logged
    assert len(log.splitlines()) < 20, log


async def test_a_huge_document_is_refused_without_downloading(fake_api: FakeBotApi, config):
    async with running_bot(config, MINI):
        fake_api.push_document(COORDINATOR, "danh-sach.xlsx", b"\0" * (20 * 1024 * 1024))
        reply = await fake_api.wait_for_reply(COORDINATOR)
    assert reply.text == "Tệp lớn quá 5 MB. Bạn chia nhỏ tệp rồi gửi lại."
    assert fake_api.find_calls("getFile") == []


async def test_an_update_that_cannot_be_parsed_is_skipped_and_logged_once(
    fake_api: FakeBotApi, config, caplog
):
    """A poll in an older server's shape (no question, no options) between two questions."""
    caplog.set_level(logging.INFO)
    async with running_bot(config, MINI):
        fake_api.push_message(USER, "tieu chi mau so 7")
        fake_api.push_update({"poll": {"id": "old-shape"}})
        fake_api.push_message(OTHER, "van ban mau quy dinh gi")
        first = await fake_api.wait_for_reply(USER)
        second = await fake_api.wait_for_reply(OTHER)
        # Alone and last in its batch, it must not hold the offset either.
        fake_api.push_update({"poll": {"id": "old-shape-2"}})
        time.sleep(0.5)
        fake_api.push_message(USER, "/chude")
        third = await fake_api.wait_for_reply(USER)
    assert "Tiêu chí mẫu" in to_plain(first.text)
    assert "Văn bản mẫu" in to_plain(second.text)
    assert "Chọn chủ đề" in third.text
    skipped = [r for r in caplog.records if "cannot be parsed" in r.getMessage()]
    assert len(skipped) == 2
    assert "old-shape" not in caplog.text  # the update's content is not logged
    assert len(caplog.records) < 40


async def test_odd_arguments_to_coordinators_commands_and_buttons_get_a_clear_reply(
    fake_api: FakeBotApi, config
):
    """Unicode digits (which pass str.isdigit but not int), numbers past SQLite's integers,
    years out of range: a Vietnamese reply, never an error in the log."""
    async with running_bot(config, MINI):
        said = []
        for text in (
            "/dieuphoivien them ²",
            "/dieuphoivien go ²",
            "/dieuphoivien them 222 xa ²",
            "/dieuphoivien them 222 tinh 99999999999999999999",
            "/dieuphoivien them 99999999999999999999999 toanquoc",
            "/moi ²",
            "/moi 99999999999999999999",
            "/nhatky 01/01/0001",
            "/nhatky 31/02/2026",
            "/baocao " + "x" * 300,
            "/daotao ０９１２３４５６７８",
            "/start " + "²" * 20,
        ):
            fake_api.push_message(COORDINATOR, text)
            said.append(to_plain((await fake_api.wait_for_reply(COORDINATOR)).text))
        fake_api.push_message(COORDINATOR, "/chude")
        menu = await fake_api.wait_for_reply(COORDINATOR)
        for data in ("bc:²", "bc:99999999999999999999", "tb:p:²", "dp:rm:²", "dp:rm:" + "9" * 30):
            fake_api.push_callback(COORDINATOR, data, menu)
            said.append(to_plain((await fake_api.wait_for_reply(COORDINATOR)).text))
    assert all(text and "Xin lỗi, đã có lỗi" not in text for text in said), said
