"""Tests of the fake Viber REST Bot API, driven with plain httpx as the bot drives it.

The bot's side of the webhook is a tiny Starlette receiver that checks every callback's
signature and parses it with the official viberbot SDK, so a callback of the wrong shape fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from viberbot.api.viber_requests import create_request

from tests.fakes.viber_api import DEFAULT_TOKEN, FakeViber, FakeViberUser, LocalServer

JSON = dict[str, Any]
Api = Callable[..., Awaitable[JSON]]

SENDER = {"name": "Workshops", "avatar": "https://example.org/bot.jpg"}


def keyboard(*buttons: tuple[str, str], **extra: Any) -> JSON:
    return {
        "Type": "keyboard",
        "Buttons": [{"Text": t, "ActionBody": b, "Columns": 3, **extra} for t, b in buttons],
    }


WELCOME = {
    "sender": SENDER,
    "type": "text",
    "text": "Welcome! Tap Start.",
    "keyboard": keyboard(("Start", "start")),
}


def text_to(receiver: str, text: str = "Hello", **extra: Any) -> JSON:
    return {"receiver": receiver, "sender": SENDER, "type": "text", "text": text, **extra}


class Receiver:
    """The bot's webhook: checks signatures, records callbacks, answers a fixed welcome."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.status = 200
        self.events: list[JSON] = []
        self.bodies: list[tuple[bytes, str | None]] = []  # (raw body, signature header)
        self.bad_signatures = 0
        self.sdk_errors: list[str] = []
        app = Starlette(routes=[Route("/viber", self.handle, methods=["POST"])])
        self.server = LocalServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/viber"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("x-viber-content-signature")
        self.bodies.append((body, signature))
        expected = hmac.new(self.token.encode(), body, hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(signature, expected):
            self.bad_signatures += 1
            return Response(status_code=403)
        event = json.loads(body)
        try:
            create_request(event)
        except Exception as error:  # the SDK raises bare Exceptions and KeyErrors
            self.sdk_errors.append(f"{event.get('event')}: {error!r}")
        self.events.append(event)
        if self.status != 200:
            return Response(status_code=self.status)
        if event["event"] == "conversation_started":
            return JSONResponse(WELCOME)
        return Response(status_code=200)


def make_api(http: httpx.AsyncClient, fake: FakeViber) -> Api:
    async def call(method: str, body: JSON | None = None, *, token: str | None = None) -> JSON:
        headers = {"X-Viber-Auth-Token": token if token is not None else fake.token}
        response = await http.post(f"{fake.base_url}/{method}", json=body or {}, headers=headers)
        assert response.status_code == 200  # Viber reports errors in the JSON, never in HTTP
        result: JSON = response.json()
        return result

    return call


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber() as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    bot_side = Receiver()
    await bot_side.server.start()
    yield bot_side
    await bot_side.server.stop()
    assert bot_side.sdk_errors == []


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient, fake: FakeViber) -> Api:
    return make_api(http, fake)


async def hook(api: Api, receiver: Receiver, **options: Any) -> None:
    answer = await api("set_webhook", {"url": receiver.url, "send_name": True, **options})
    assert answer["status"] == 0, answer


@pytest.fixture
async def hooked(api: Api, receiver: Receiver) -> Api:
    await hook(api, receiver)
    return api


async def subscribed_user(fake: FakeViber, name: str = "Amina") -> FakeViberUser:
    person = fake.user(name)
    await fake.send_text(person, "hi")
    return person


# --------------------------------------------------------------------------------------
# Webhook


async def test_set_webhook_checks_the_url_with_a_signed_callback(
    fake: FakeViber, receiver: Receiver, api: Api
) -> None:
    types = ["delivered", "conversation_started"]
    answer = await api("set_webhook", {"url": receiver.url, "event_types": types})
    assert answer == {
        "status": 0,
        "status_message": "ok",
        "chat_hostname": "SN-CHAT-01_",
        "event_types": types,
    }
    [check] = receiver.events
    assert check["event"] == "webhook" and check["chat_hostname"] == "SN-CHAT-01_"
    assert isinstance(check["message_token"], int)
    assert abs(check["timestamp"] - time.time() * 1000) < 5000
    assert (fake.webhook_url, fake.event_types) == (receiver.url, types)

    assert (await api("set_webhook", {"url": ""}))["status"] == 0
    assert fake.webhook_url is None


async def test_set_webhook_fails_when_the_receiver_answers_500(
    fake: FakeViber, receiver: Receiver, api: Api
) -> None:
    receiver.status = 500
    answer = await api("set_webhook", {"url": receiver.url})
    assert answer["status"] == 1
    assert fake.webhook_url is None
    assert [(p["event"], code) for p, code in fake.callback_failures] == [("webhook", 500)]


async def test_set_webhook_fails_when_nothing_listens(fake: FakeViber, api: Api) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert (await api("set_webhook", {"url": f"http://127.0.0.1:{port}/viber"}))["status"] == 1
    assert fake.callback_failures[-1][1] == 0  # no HTTP answer at all
    assert (await api("set_webhook", {"url": "ftp://example.org"}))["status"] == 1
    assert (await api("set_webhook", {}))["status"] == 4
    assert fake.webhook_url is None


async def test_callbacks_are_signed_with_the_auth_token(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    await subscribed_user(fake)
    assert receiver.bad_signatures == 0 and len(receiver.events) == 2
    body, signature = receiver.bodies[-1]
    assert signature == hmac.new(DEFAULT_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert FakeViber("another-token").sign(body) != fake.sign(body)

    forged = await fake.post_event({"event": "message"}, signature="00" * 32)
    unsigned = await fake.post_event(b'{"event":"seen"}', signature=None)
    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert receiver.bodies[-1] == (b'{"event":"seen"}', None)
    assert [code for _, code in fake.callback_failures] == [403, 403]


async def test_conversation_started_returns_and_records_the_welcome(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    person = fake.user("Amina", language="ar")
    assert await fake.open(person, context="centre-7") == WELCOME
    event = receiver.events[-1]
    assert event["event"] == "conversation_started" and event["type"] == "open"
    assert event["context"] == "centre-7" and event["subscribed"] is False
    assert event["user"]["id"] == person.id and event["user"]["name"] == "Amina"
    assert event["user"]["language"] == "ar" and event["user"]["api_version"] == 10
    [welcome] = fake.messages(person)
    assert welcome["via"] == "welcome" and welcome["text"] == WELCOME["text"]
    assert fake.buttons(welcome) == [("Start", "start")]
    assert not fake.is_subscribed(person)  # opening the chat does not subscribe

    await fake.open(person)
    assert "context" not in receiver.events[-1]


async def test_a_first_message_subscribes_the_user(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    person = fake.user()
    assert len(person.id) == 24 and person.id.endswith("==") and person.id != fake.user().id
    assert not fake.is_subscribed(person)
    response = await fake.send_text(person, "hello")
    assert response.status_code == 200 and fake.is_subscribed(person)
    event = receiver.events[-1]
    assert [e["event"] for e in receiver.events] == ["webhook", "message"]  # no "subscribed"
    assert event["sender"]["id"] == person.id
    assert event["message"] == {"type": "text", "text": "hello"} and event["silent"] is False

    answer = await hooked("send_message", text_to(person.id, "Welcome"))
    assert answer["status"] == 0 and answer["billing_status"] == 0
    assert fake.last_message(person)["message_token"] == answer["message_token"]
    assert fake.texts(person) == ["Welcome"] and fake.sent_count == 1


async def test_send_message_refusals(fake: FakeViber, hooked: Api) -> None:
    visitor = fake.user()
    await fake.open(visitor)  # talked to, but not subscribed
    assert (await hooked("send_message", text_to(visitor.id)))["status"] == 6
    unknown = await hooked("send_message", text_to("AAAAAAAAAAAAAAAAAAAAAA=="))
    assert unknown["status"] == 5
    wrong = await hooked("send_message", text_to(visitor.id), token="wrong")
    assert wrong == {"status": 2, "status_message": "invalidAuthToken"}
    assert (await hooked("get_account_info", token=""))["status"] == 2
    assert fake.statuses[-4:] == [
        ("send_message", 6),
        ("send_message", 5),
        ("send_message", 2),
        ("get_account_info", 2),
    ]
    assert [m for m, _ in fake.calls].count("send_message") == 3  # failed calls are recorded
    assert fake.texts(visitor) == [WELCOME["text"]] and fake.sent_count == 0


async def test_the_auth_token_may_come_in_the_body_as_the_sdk_sends_it(
    fake: FakeViber, http: httpx.AsyncClient
) -> None:
    answer = (await http.post(f"{fake.base_url}/get_account_info", json={})).json()
    assert answer == {"status": 2, "status_message": "missing_auth_token"}
    body = {"auth_token": fake.token}
    answer = (await http.post(f"{fake.base_url}/get_account_info", json=body)).json()
    assert answer["status"] == 0 and answer["id"].startswith("pa:")


@pytest.mark.parametrize(
    "bad",
    [
        keyboard(("Go", "go"), Columns=7),
        keyboard(("Go", "go"), Rows=3),
        keyboard(("Go", "go"), Columns=0),
        keyboard(
            ("Go", ""),
        ),
        keyboard(("Go", "go"), ActionType="jump"),
        {"Type": "keyboard", "Buttons": [{"Text": "Go"}]},
        {"Type": "keyboard", "Buttons": []},
        {"Type": "rich_media", "Buttons": [{"ActionBody": "go"}]},
        keyboard(*[(str(i), str(i)) for i in range(25)]),
    ],
)
async def test_invalid_keyboards_are_bad_data(fake: FakeViber, hooked: Api, bad: JSON) -> None:
    person = await subscribed_user(fake)
    assert (await hooked("send_message", text_to(person.id, keyboard=bad)))["status"] == 3
    good = keyboard(*[(str(i), str(i)) for i in range(24)], Rows=2, Columns=6)
    assert (await hooked("send_message", text_to(person.id, keyboard=good)))["status"] == 0
    assert len(fake.messages(person)) == 1


async def test_message_limits(fake: FakeViber, hooked: Api) -> None:
    person = await subscribed_user(fake)
    assert (await hooked("send_message", text_to(person.id, "x" * 7000)))["status"] == 0
    assert (await hooked("send_message", text_to(person.id, "x" * 7001)))["status"] == 3
    long_name = text_to(person.id) | {"sender": {"name": "n" * 29}}
    assert (await hooked("send_message", long_name))["status"] == 3
    assert (await hooked("send_message", text_to(person.id, "")))["status"] == 4
    picture = text_to(person.id) | {"type": "picture"}  # a picture needs its media URL
    assert (await hooked("send_message", picture))["status"] == 4  # missing media
    assert fake.sent_count == 1


async def test_tap_sends_the_action_body(fake: FakeViber, receiver: Receiver, hooked: Api) -> None:
    person = await subscribed_user(fake)
    buttons = keyboard(
        ("Yes, sign me up", "book:42"),
        ("No", "cancel"),
        ("Not now", "later"),
        ("<font color=#FFFFFF><b>Monday 10:00</b></font>", "slot:1"),
        ("Monday 14:00", "slot:2"),
    )
    buttons["Buttons"][2]["Silent"] = True
    await hooked("send_message", text_to(person.id, "Join?", keyboard=buttons, tracking_data="s3"))
    await hooked("send_message", text_to(person.id, "(no keyboard on this one)"))

    await fake.tap(person, "yes")
    assert receiver.events[-1]["message"] == {"type": "text", "text": "book:42"}
    await fake.tap(person, "NO")  # exact match wins over "Not now"
    assert receiver.events[-1]["message"]["text"] == "cancel"
    await fake.tap(person, "not now")
    assert receiver.events[-1]["silent"] is True
    await fake.tap(person, "monday 10")  # markup in Text is ignored
    assert receiver.events[-1]["message"]["text"] == "slot:1"
    with pytest.raises(AssertionError, match="several buttons match 'monday'"):
        await fake.tap(person, "monday")
    with pytest.raises(
        AssertionError, match=r"no button matches .maybe.; buttons: \[.Yes, sign me up."
    ):
        await fake.tap(person, "maybe")


async def test_replies_carry_the_tracking_data_of_the_last_bot_message(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    person = await subscribed_user(fake)
    await hooked("send_message", text_to(person.id, "Age?", tracking_data="ask-age"))
    await fake.send_text(person, "31")
    assert receiver.events[-1]["message"]["tracking_data"] == "ask-age"


async def test_unsubscribe_then_send(fake: FakeViber, receiver: Receiver, hooked: Api) -> None:
    person = await subscribed_user(fake)
    await fake.unsubscribe(person)
    assert receiver.events[-1]["event"] == "unsubscribed"
    assert receiver.events[-1]["user_id"] == person.id
    assert (await hooked("send_message", text_to(person.id)))["status"] == 6
    await fake.subscribe(person)
    assert receiver.events[-1]["user"]["id"] == person.id
    assert (await hooked("send_message", text_to(person.id)))["status"] == 0


async def test_rate_limit(receiver: Receiver, http: httpx.AsyncClient) -> None:
    async with FakeViber(rate_limit=3, rate_window=0.5) as fake:
        api = make_api(http, fake)
        await hook(api, receiver)
        person = await subscribed_user(fake)
        assert (await api("send_message", text_to(person.id, "")))["status"] == 4  # not counted
        answers = [await api("send_message", text_to(person.id, str(i))) for i in range(4)]
        assert [a["status"] for a in answers] == [0, 0, 0, 12]
        assert answers[3]["status_message"] == "tooManyRequests"
        assert fake.too_many_requests == 1 and fake.texts(person) == ["0", "1", "2"]
        await asyncio.sleep(0.55)
        assert (await api("send_message", text_to(person.id, "later")))["status"] == 0


async def test_fail_next(fake: FakeViber, hooked: Api) -> None:
    person = await subscribed_user(fake)
    fake.fail_next("send_message", 9, times=2)
    fake.fail_next("get_account_info", 13, "try api version 7")
    answers = [await hooked("send_message", text_to(person.id)) for _ in range(3)]
    assert [a["status"] for a in answers] == [9, 9, 0]
    assert answers[0]["status_message"] == "publicAccountSuspended"
    assert await hooked("get_account_info") == {
        "status": 13,
        "status_message": "try api version 7",
    }
    assert len(fake.messages(person)) == 1
    with pytest.raises(ValueError, match="post"):
        fake.fail_next("post", 3)


async def test_broadcast(fake: FakeViber, hooked: Api) -> None:
    members = [await subscribed_user(fake, f"P{i}") for i in range(2)]
    visitor = fake.user("Visitor")
    unknown = "ZZZZZZZZZZZZZZZZZZZZZZ=="
    message = {"sender": SENDER, "type": "text", "text": "Tomorrow: art workshop"}

    too_many = [members[0].id] * 301
    assert (await hooked("broadcast_message", {**message, "broadcast_list": too_many}))[
        "status"
    ] == 3
    assert fake.messages(members[0]) == []

    receivers = [members[0].id, visitor.id, members[1].id, unknown]
    answer = await hooked("broadcast_message", {**message, "broadcast_list": receivers})
    assert answer["status"] == 0
    assert answer["failed_list"] == [
        {"receiver": visitor.id, "status": 6, "status_message": "notSubscribed"},
        {"receiver": unknown, "status": 5, "status_message": "receiverNotRegistered"},
    ]
    for member in members:
        last = fake.last_message(member)
        assert (last["via"], last["message_token"]) == ("broadcast", answer["message_token"])
    assert fake.messages(visitor) == [] and fake.sent_count == 2


async def test_replay_last_resends_the_identical_body(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    await subscribed_user(fake)
    await fake.replay_last()
    assert receiver.bodies[-1] == receiver.bodies[-2]
    assert receiver.events[-1]["message_token"] == receiver.events[-2]["message_token"]


async def test_user_messages_of_every_kind(
    fake: FakeViber, receiver: Receiver, hooked: Api
) -> None:
    person = fake.user()
    await fake.send_picture(person)
    await fake.send_sticker(person)
    await fake.send_contact(person)
    await fake.send_location(person)
    await fake.send_file(person)
    kinds = [e["message"]["type"] for e in receiver.events[1:]]
    assert kinds == ["picture", "sticker", "contact", "location", "file"]
    assert receiver.events[4]["message"]["location"] == {"lat": 44.8125, "lon": 20.4612}
    info = await hooked("get_account_info")
    assert info["subscribers_count"] == 1 and info["webhook"] == receiver.url


async def test_names_and_photos_only_when_asked_for(
    fake: FakeViber, receiver: Receiver, api: Api
) -> None:
    await api("set_webhook", {"url": receiver.url})
    await fake.send_text(fake.user("Amina"), "hi")
    assert set(receiver.events[-1]["sender"]) == {"id", "language", "country", "api_version"}
    await hook(api, receiver, send_photo=True)
    await fake.send_text(fake.user("Omar"), "hi")
    assert receiver.events[-1]["sender"]["name"] == "Omar"
    assert receiver.events[-1]["sender"]["avatar"].startswith("https://")


async def test_event_types_filter_optional_callbacks(
    fake: FakeViber, receiver: Receiver, api: Api
) -> None:
    await hook(api, receiver, event_types=["delivered"])
    person = fake.user()
    assert await fake.open(person) == {}
    await fake.send_text(person, "hi")  # messages cannot be filtered out
    answer = await api("send_message", text_to(person.id))
    assert await fake.receipt(person, "seen") is None
    await fake.receipt(person, "delivered")
    assert [e["event"] for e in receiver.events] == ["webhook", "message", "delivered"]
    assert receiver.events[-1]["message_token"] == answer["message_token"]
    assert receiver.events[-1]["user_id"] == person.id


async def test_waiting_helpers(fake: FakeViber, hooked: Api) -> None:
    person = await subscribed_user(fake)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await hooked("send_message", text_to(person.id, "late"))

    task = asyncio.create_task(later())
    messages = await fake.wait_for_messages(person, 1, timeout=2)
    assert [m["text"] for m in messages] == ["late"]
    await task
    await fake.wait_idle(quiet=0.05)
    with pytest.raises(AssertionError, match=r"(?s)2 messages.*Amina, subscribed\): \['late'\]"):
        await fake.wait_for_messages(person, 2, timeout=0.05)


async def test_stop_is_clean(http: httpx.AsyncClient) -> None:
    others = asyncio.all_tasks() - {asyncio.current_task()}
    fake = FakeViber()
    await fake.start()
    assert (await make_api(http, fake)("get_account_info"))["status"] == 0
    await fake.stop()
    await fake.stop()  # a second stop is harmless
    assert asyncio.all_tasks() - {asyncio.current_task()} == others
    with pytest.raises(httpx.ConnectError):
        await http.post(f"{fake.base_url}/get_account_info", json={})
    fake.webhook_url = "http://127.0.0.1:9/viber"
    with pytest.raises(RuntimeError, match="not running"):
        await fake.send_text(fake.user(), "hi")
