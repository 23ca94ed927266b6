"""Tests of the fake Telegram Bot API, driven by python-telegram-bot's real HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns whenever an int time period (RetryAfter.retry_after, Voice.duration)
    # is read unless the project opts in to timedeltas; warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def make_bot(fake: FakeTelegram, token: str | None = None) -> telegram.Bot:
    return telegram.Bot(token or fake.token, base_url=f"{fake.base_url}/bot")


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with make_bot(fake) as client:
        yield client


def bad_request(
    description: str,
) -> contextlib.AbstractContextManager[pytest.ExceptionInfo[BadRequest]]:
    """Expect a 400; PTB drops "Bad Request: " and lower-cases the rest of the description."""
    return pytest.raises(BadRequest, match=f"(?i){re.escape(description)}")


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One callback button per row."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in buttons])


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny HTTP server on 127.0.0.1 that records each POST and answers 200."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        received.append((headers, body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        server.close()
        await server.wait_closed()


async def test_get_me_describes_the_bot(fake: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "workshop_test_bot"
    assert me.can_join_groups is True
    assert [name for name, _ in fake.calls] == ["getMe", "getMe"]  # initialize + ours


async def test_text_arrives_once_offset_confirms_it(fake: FakeTelegram, bot: telegram.Bot) -> None:
    amina = fake.user("Amina", "ar")
    fake.send_text(amina, "/start welcome")

    first = await bot.get_updates(timeout=0)
    assert len(first) == 1
    message = first[0].message
    assert message is not None
    assert message.text == "/start welcome"
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.language_code) == (amina.id, "ar")
    assert message.chat.type == "private"
    assert message.entities[0].type == MessageEntity.BOT_COMMAND
    assert message.entities[0].length == len("/start")

    # Not confirmed yet: the same update comes again.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [first[0].update_id]

    confirmed = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
    assert confirmed == ()
    assert await bot.get_updates(timeout=0) == ()  # forgotten for good
    assert fake.pending_updates == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    user = fake.user()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for(lambda: fake.waiting_polls == 1, timeout=2)

    started = time.monotonic()
    fake.send_text(user, "hello")
    updates = await asyncio.wait_for(poll, timeout=3)

    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_empty_long_poll_waits_for_its_timeout(fake: FakeTelegram, bot: telegram.Bot) -> None:
    started = time.monotonic()
    updates = await bot.get_updates(timeout=1)
    elapsed = time.monotonic() - started
    assert updates == ()
    assert 0.9 <= elapsed < 3


async def test_newer_poll_ends_the_older_one_with_conflict(fake: FakeTelegram) -> None:
    async with make_bot(fake) as first, make_bot(fake) as second:
        older = asyncio.create_task(first.get_updates(timeout=5))
        await fake.wait_for(lambda: fake.waiting_polls == 1, timeout=2)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await older


async def test_webhook_stops_polling_and_delivers(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    async with webhook_receiver() as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret-token")
        assert fake.webhook == {"url": url, "secret_token": "s3cret-token"}
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        response = await fake.deliver(fake.send_text(user, "hi"))

    assert response.status_code == 200
    headers, body = received[0]
    assert headers["x-telegram-bot-api-secret-token"] == "s3cret-token"
    assert json.loads(body)["message"]["text"] == "hi"
    assert fake.pending_updates == []  # delivered, so no longer queued

    assert await bot.delete_webhook()
    assert fake.webhook is None
    assert await bot.get_updates(timeout=0) == ()


async def test_inline_keyboard_tap_and_answer(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    markup = keyboard(("Yes ✅", "join"), ("Not now", "later"))
    sent = await bot.send_message(user.id, "Join the workshop?", reply_markup=markup)
    assert fake.buttons(fake.last_message(user)) == [("Yes ✅", "join"), ("Not now", "later")]

    fake.press(user, "yes")
    updates = await bot.get_updates(timeout=0)
    query = updates[0].callback_query
    assert query is not None
    assert query.data == "join"
    assert query.from_user.id == user.id
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert fake.unanswered_callbacks() == [query.id]

    assert await bot.answer_callback_query(query.id, text="Saved")
    assert fake.answered_callbacks == {query.id}
    assert fake.callback_answers[query.id]["text"] == "Saved"
    assert fake.unanswered_callbacks() == []
    with bad_request("query is too old"):
        await bot.answer_callback_query(query.id)


async def test_tap_checks_buttons_unless_told_not_to(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    sent = await bot.send_message(user.id, "Pick", reply_markup=keyboard(("Monday", "day:1")))

    with pytest.raises(AssertionError, match="day:1"):
        fake.tap(user, sent.message_id, "day:9")
    with pytest.raises(AssertionError, match="Monday"):
        fake.press(user, "Friday")

    forged = fake.tap(user, sent.message_id, "day:9", check=False)
    assert forged["callback_query"]["data"] == "day:9"
    with bad_request("query is too old"):
        await bot.answer_callback_query("not-an-issued-id")


async def test_edit_message_text(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    sent = await bot.send_message(user.id, "Step 1", reply_markup=keyboard(("Next", "next")))

    edited = await bot.edit_message_text(
        "Step 2", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard(("Next", "n"))
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "Step 2"
    assert fake.texts(user) == ["Step 2"]
    assert [v["text"] for v in fake.history(user, sent.message_id)] == ["Step 1", "Step 2"]

    with bad_request("message is not modified"):
        await bot.edit_message_text(
            "Step 2",
            chat_id=user.id,
            message_id=sent.message_id,
            reply_markup=keyboard(("Next", "n")),
        )

    # As in the real API, an edit without reply_markup removes the keyboard.
    await bot.edit_message_text("Done", chat_id=user.id, message_id=sent.message_id)
    assert fake.buttons(fake.last_message(user)) == []

    with bad_request("message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)
    assert fake.sent_count == 3  # one send and two accepted edits


async def test_callback_data_is_limited_to_64_bytes(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user("Layla", "ar")
    fits = "ب" * 32  # 64 bytes of UTF-8
    too_long = "ب" * 32 + "1"  # 65 bytes, though only 33 characters
    assert (len(fits.encode()), len(too_long.encode()), len(too_long)) == (64, 65, 33)

    await bot.send_message(user.id, "fits", reply_markup=keyboard(("نعم", fits)))
    with bad_request("BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "too long", reply_markup=keyboard(("نعم", too_long)))

    assert fake.texts(user) == ["fits"]
    assert fake.sent_count == 1


async def test_rate_limit_answers_retry_after() -> None:
    async with FakeTelegram(rate_limit=5, rate_window=0.5) as fake, make_bot(fake) as bot:
        user = fake.user()
        for number in range(5):
            await bot.send_message(user.id, f"message {number}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(user.id, "one too many")

        retry_after = caught.value.retry_after
        assert isinstance(retry_after, dtm.timedelta)  # PTB_TIMEDELTA=true
        assert retry_after >= dtm.timedelta(seconds=1)
        assert fake.too_many_requests == 1
        assert fake.sent_count == 5
        assert len(fake.texts(user)) == 5  # the refused send was not delivered

        await asyncio.sleep(0.55)  # the whole window has passed
        await bot.send_message(user.id, "after the window")
        assert fake.texts(user)[-1] == "after the window"


async def test_rate_limit_error_body(fake: FakeTelegram) -> None:
    limited = FakeTelegram(rate_limit=1, rate_window=30)
    async with limited, httpx.AsyncClient(base_url=limited.base_url) as client:
        user = limited.user()
        url = f"/bot{limited.token}/sendMessage"
        first = await client.post(url, json={"chat_id": user.id, "text": "a"})
        second = await client.post(url, json={"chat_id": user.id, "text": "b"})
    assert first.status_code == 200
    assert second.status_code == 429
    body = second.json()
    assert body["parameters"]["retry_after"] == 30
    assert body["description"] == "Too Many Requests: retry after 30"


async def test_blocked_user_gets_403(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    fake.block(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "reminder")
    assert fake.errors[-1] == ("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert fake.texts(user) == []

    updates = await bot.get_updates(timeout=0)
    member = updates[0].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"

    fake.unblock(user)
    await bot.send_message(user.id, "welcome back")
    assert fake.texts(user) == ["welcome back"]


async def test_writing_to_the_bot_unblocks_it(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    fake.block(user)
    fake.send_text(user, "/start")
    assert not fake.is_blocked(user)
    kinds = [next(k for k in u if k != "update_id") for u in fake.pending_updates]
    assert kinds == ["my_chat_member", "my_chat_member", "message"]
    await bot.send_message(user.id, "hello again")


async def test_fail_next_injects_failures(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    fake.fail_next("sendmessage", 400, "Bad Request: injected", times=2)
    for _ in range(2):
        with bad_request("injected"):
            await bot.send_message(user.id, "try")
    await bot.send_message(user.id, "third time")
    assert len(fake.calls_of("sendMessage")) == 3
    assert fake.texts(user) == ["third time"]

    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    assert fake.too_many_requests == 0  # injected, not refused by the rate limit

    with pytest.raises(ValueError, match="sendVideo"):
        fake.fail_next("sendVideo", 500, "Internal Server Error")


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(fake, "654321:wrong-token"):
            pass
    assert fake.errors == [("getMe", 401, "Unauthorized")]


async def test_parameters_in_every_encoding(fake: FakeTelegram) -> None:
    user = fake.user()
    markup = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    async with httpx.AsyncClient(base_url=f"{fake.base_url}/bot{fake.token}") as client:
        by_query = await client.get("/GETME")  # method names are case-insensitive
        by_json = await client.post(
            "/sendMessage", json={"chat_id": user.id, "text": "json", "reply_markup": markup}
        )
        by_form = await client.post(
            "/sendMessage",
            data={"chat_id": str(user.id), "text": "form", "reply_markup": json.dumps(markup)},
        )
        by_multipart = await client.post(
            "/sendMessage",
            data={"chat_id": str(user.id), "text": "multipart"},
            files={"document": ("notes.txt", b"not kept")},
        )
        in_query = await client.get("/sendMessage", params={"chat_id": user.id, "text": "query"})
        unknown = await client.post("/sendTelepathy", json={})

    assert by_query.json()["result"]["username"] == "workshop_test_bot"
    for response in (by_json, by_form, by_multipart, in_query):
        assert response.status_code == 200, response.text
    assert fake.texts(user) == ["json", "form", "multipart", "query"]
    form_params = fake.calls_of("sendMessage")[1]
    assert form_params["chat_id"] == user.id
    assert form_params["reply_markup"] == markup
    assert fake.calls_of("sendMessage")[2]["document"] == {"filename": "notes.txt", "size": 8}
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert fake.calls[-1][0] == "sendTelepathy"


async def test_send_message_validation(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    with bad_request("chat not found"):
        await bot.send_message(424242, "hello?")
    with bad_request("message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    with bad_request("message text is empty"):
        await bot.send_message(user.id, "   ")
    await bot.send_message(user.id, "x" * 4096)
    assert fake.sent_count == 1


async def test_html_becomes_text_and_entities(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    sent = await bot.send_message(user.id, "<b>Hello</b>, Amina &amp; co\n", parse_mode="HTML")
    assert sent.text == "Hello, Amina & co"  # markup gone, entity decoded, whitespace trimmed
    assert fake.last_message(user)["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    with bad_request("can't parse entities"):
        await bot.send_message(user.id, "Rating: 1 < 2", parse_mode="HTML")
    with bad_request("Can't find end tag"):
        await bot.send_message(user.id, "<i>unclosed", parse_mode="HTML")


async def test_media_updates_have_real_shapes(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    fake.send_sticker(user)
    fake.send_photo(user, caption="our drawing")
    fake.send_voice(user)
    fake.send_location(user)
    messages = [u.message for u in await bot.get_updates(timeout=0)]
    assert all(m is not None for m in messages)
    sticker, photo, voice, location = (m for m in messages if m is not None)
    assert sticker.sticker is not None and sticker.sticker.type == "regular"
    assert photo.photo[-1].width == 1280 and photo.caption == "our drawing"
    assert voice.voice is not None and voice.voice.mime_type == "audio/ogg"
    assert location.location is not None and location.location.latitude == pytest.approx(52.52)
    assert len({m.message_id for m in messages if m is not None}) == 4


async def test_wait_helpers_follow_an_echo_bot(fake: FakeTelegram, bot: telegram.Bot) -> None:
    async def echo() -> None:
        offset = 0
        while True:
            for update in await bot.get_updates(offset=offset, timeout=1):
                offset = update.update_id + 1
                if update.message and update.message.text:
                    await bot.send_message(update.message.chat.id, update.message.text.upper())

    amina, omid = fake.user("Amina"), fake.user("Omid", "fa")
    runner = asyncio.create_task(echo())
    try:
        fake.send_text(amina, "hi")
        fake.send_text(omid, "salam")
        messages = await fake.wait_for_messages(amina, 1)
        assert messages[0]["text"] == "HI"
        await fake.wait_idle(quiet=0.1, timeout=5)
        assert fake.texts(omid) == ["SALAM"]
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner

    with pytest.raises(AssertionError, match="Omid"):
        await fake.wait_for(lambda: False, timeout=0.05)


async def test_commands_are_stored_per_language(fake: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("start", "Begin")])
    await bot.set_my_commands([("start", "ابدأ")], language_code="ar")
    assert fake.commands == [{"command": "start", "description": "Begin"}]
    assert fake.commands_for("ar") == [{"command": "start", "description": "ابدأ"}]
    with bad_request("BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start!", "Begin")])
    assert await bot.delete_my_commands(language_code="ar")
    assert fake.commands_for("ar") == []


async def test_stop_while_a_poll_waits_ends_cleanly() -> None:
    fake = FakeTelegram()
    await fake.start()
    async with make_bot(fake) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for(lambda: fake.waiting_polls == 1, timeout=2)

        started = time.monotonic()
        await fake.stop()
        updates = await asyncio.wait_for(poll, timeout=5)

        assert updates == ()
        assert time.monotonic() - started < 3
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{fake.base_url}/bot{fake.token}/getMe")


async def test_abandoned_poll_stops_waiting(fake: FakeTelegram, bot: telegram.Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for(lambda: fake.waiting_polls == 1, timeout=2)
    poll.cancel()  # the bot goes away mid-poll and its connection closes
    with contextlib.suppress(asyncio.CancelledError):
        await poll
    await fake.wait_for(lambda: fake.waiting_polls == 0, timeout=2)
    assert fake.errors == []  # no 409 for a newer poll


async def test_allowed_updates_filters_new_updates(fake: FakeTelegram, bot: telegram.Bot) -> None:
    user = fake.user()
    assert await bot.get_updates(timeout=0, allowed_updates=["callback_query"]) == ()
    fake.send_text(user, "not subscribed")
    assert fake.pending_updates == []

    await bot.send_message(user.id, "Pick", reply_markup=keyboard(("Art", "art")))
    fake.press(user, "art")
    updates = await bot.get_updates(timeout=0, allowed_updates=[])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["art"]


async def test_python_telegram_bot_application_polls_the_fake(fake: FakeTelegram) -> None:
    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "Language?", reply_markup=keyboard(("فارسی", "lang:fa"))
        )

    async def choose(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Saved: {query.data}")

    app = Application.builder().token(fake.token).base_url(f"{fake.base_url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(choose))
    users = [fake.user(f"Person {n}", "fa") for n in range(5)]
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        for person in users:
            fake.send_text(person, "/start")
        for person in users:
            await fake.wait_for_messages(person, 1)
            fake.press(person, "فارسی")
        await fake.wait_for(lambda: all(fake.texts(p) == ["Saved: lang:fa"] for p in users))
        await app.updater.stop()
        await app.stop()

    assert fake.unanswered_callbacks() == []
    assert fake.errors == []
    assert "deleteWebhook" in [name for name, _ in fake.calls]
