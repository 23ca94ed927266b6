"""A stand-in for the Viber REST Bot API (``chatapi.viber.com/pa``), for workshopbot's tests.

:class:`FakeViber` is a real HTTP server (a Starlette app served by uvicorn inside the test's
own event loop, on 127.0.0.1 and a port the OS picks) that answers ``POST /pa/<method>`` the way
Viber answers one bot account, and posts signed callbacks to the webhook the bot set, the way
Viber does. What it fakes:

* ``set_webhook`` with Viber's availability check (a signed ``webhook`` callback that must be
  answered 200, else status 1), ``event_types`` filtering (message, subscribed and unsubscribed
  cannot be filtered out) and ``send_name``/``send_photo`` (without them callbacks carry no user
  name or avatar, as the current API documents); ``{"url": ""}`` removes the webhook;
* ``send_message`` and ``broadcast_message`` of type ``text`` with the real limits (text of at
  most 7000 characters, sender name of at most 28, 300 receivers, 30 kB of JSON) and keyboard
  validation; messages of type ``file`` (``media`` an http(s) URL, ``size`` in bytes up to
  50 MB, ``file_name`` of at most 256 characters and not a forbidden kind such as ``.exe``),
  which the fake does not download (a test fetches ``media`` itself); subscription rules
  (5 for unknown receivers, 6 for unsubscribed ones); ``get_account_info``;
* errors as HTTP 200 with ``status`` != 0, the auth token (header ``X-Viber-Auth-Token``, or
  ``auth_token`` in the body as the official Python SDK sends it), a sliding-window rate limit
  (status 12) and failures injected with :meth:`FakeViber.fail_next`;
* simulated users who open the chat (the bot may answer with a welcome message), write, tap
  keyboard buttons, share pictures, stickers, contacts, locations and files, subscribe and
  unsubscribe, plus delivery receipts and Viber's retries (:meth:`FakeViber.replay_last`).

What it does not fake: message types other than ``text`` and ``file`` sent by the bot
(status 3), downloading a file's ``media`` (Viber fetches it, once, soon after), rich
media, carousels, ``post``, ``get_user_details`` and ``get_online`` (HTTP 404); the rule that a
webhook must be set before sending; ``min_api_version`` against the user's app version; the
HTTPS-only rule for webhook URLs (``http://127.0.0.1`` is accepted so tests can run a local
receiver); automatic delivered/seen callbacks (send them with :meth:`FakeViber.receipt`);
Viber's own retries (use :meth:`FakeViber.replay_last`).

Everything must be used from the thread whose event loop ran ``start()``: the server, the
callbacks and the test share that loop and its state without locks.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import LocalServer as LocalServer  # re-exported for its tests
from tests.fakes.server import wait_until

JSON = dict[str, Any]

DEFAULT_TOKEN = "4453b6ac12345678-e02c5f12174805f9-9b5c6ca0a2f8e2f1"
CHAT_HOSTNAME = "SN-CHAT-01_"
API_VERSION = 10  # what the simulated users' apps support
MAX_TEXT_LENGTH = 7000
MAX_SENDER_NAME = 28
MAX_TRACKING_DATA = 4096
MAX_BUTTONS = 24
MAX_BROADCAST = 300
MAX_REQUEST_BYTES = 30 * 1024  # "the maximum JSON for all API requests is 30kb"
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_FILE_NAME = 256
MAX_MEDIA_URL = 2000
# Kinds of file Viber refuses to pass on (a few of its list).
FORBIDDEN_FILES = frozenset({"exe", "bat", "cmd", "com", "msi", "vbs", "scr", "jar", "apk"})
SIGNATURE_HEADER = "X-Viber-Content-Signature"

STATUS_MESSAGES = {
    0: "ok",
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "notSubscribed",  # what the live API says, rather than "receiverNotSubscribed"
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
}
EVENT_TYPES = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")
# Viber sends these whatever event_types says.
_MANDATORY_EVENTS = frozenset({"webhook", "message", "subscribed", "unsubscribed"})
_ACTION_TYPES = frozenset({"reply", "open-url", "location-picker", "share-phone", "none"})
_WEBHOOK_URL = re.compile(r"^https?://[^\s/]+")
_MEDIA_URL = re.compile(r"^https?://[^\s/]+/\S*$")
_TAG = re.compile(r"<[^>]*>")


class ApiError(Exception):
    """A non-zero status: raised inside a handler, answered as HTTP 200 JSON."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "unknown")
        super().__init__(self.message)


def _bad(detail: str) -> ApiError:
    return ApiError(3, detail)


def _missing(name: str) -> ApiError:
    return ApiError(4, f"missing {name}")


@dataclass(frozen=True)
class FakeViberUser:
    """A simulated Viber user; ``id`` is what the bot uses as ``receiver``."""

    id: str
    name: str
    language: str | None
    country: str


@dataclass
class _Chat:
    user: FakeViberUser
    subscribed: bool = False
    messages: list[JSON] = field(default_factory=list)  # the bot's messages, oldest first


# --------------------------------------------------------------------------------------
# Validation of what the bot sends


def _check_message(body: JSON) -> JSON:
    """Validate a text message (send_message, broadcast or welcome); return what is stored."""
    sender = body.get("sender")
    if sender is None:
        raise _missing("sender")
    if not isinstance(sender, dict):
        raise _bad("sender must be an object")
    name = sender.get("name")
    if not name:
        raise _missing("sender.name")
    if not isinstance(name, str) or len(name) > MAX_SENDER_NAME:
        raise _bad(f"sender.name must be a string of at most {MAX_SENDER_NAME} characters")
    if not isinstance(sender.get("avatar", ""), str):
        raise _bad("sender.avatar must be a string")
    if "type" not in body:
        raise _missing("type")
    if body["type"] == "file":
        content = _check_file(body)
    elif body["type"] == "picture":
        content = _check_picture(body)
    elif body["type"] == "text":
        content = {"text": _check_text(body)}
    else:
        raise _bad(f"message type {body['type']!r} is not supported by this fake")
    tracking = body.get("tracking_data")
    if tracking is not None and (
        not isinstance(tracking, str) or len(tracking) > MAX_TRACKING_DATA
    ):
        raise _bad(f"tracking_data must be a string of at most {MAX_TRACKING_DATA} characters")
    version = body.get("min_api_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad("min_api_version must be a positive integer")
    keyboard = body.get("keyboard")
    if keyboard is not None:
        _check_keyboard(keyboard)
    return {**content, "keyboard": copy.deepcopy(keyboard), "tracking_data": tracking}


def _check_text(body: JSON) -> str:
    text = body.get("text")
    if not text:
        raise _missing("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        raise _bad(f"text must be a string of at most {MAX_TEXT_LENGTH} characters")
    return text


def _check_file(body: JSON) -> JSON:
    """A ``file`` message: where Viber will fetch it, how big it is, what it is called."""
    for name in ("media", "size", "file_name"):
        if body.get(name) in (None, ""):
            raise _missing(name)
    media, size, name = body["media"], body["size"], body["file_name"]
    if not isinstance(media, str) or len(media) > MAX_MEDIA_URL or not _MEDIA_URL.match(media):
        raise _bad("media must be an http(s) URL of a file")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_FILE_BYTES:
        raise _bad(f"size must be a number of bytes, 1..{MAX_FILE_BYTES}")
    if not isinstance(name, str) or len(name) > MAX_FILE_NAME:
        raise _bad(f"file_name must be a string of at most {MAX_FILE_NAME} characters")
    if name.rpartition(".")[2].lower() in FORBIDDEN_FILES:
        raise _bad(f"files like {name!r} cannot be sent")
    if "text" in body:
        raise _bad("a file message has no text")
    return {"type": "file", "media": media, "size": size, "file_name": name}


def _check_picture(body: JSON) -> JSON:
    """A ``picture`` message: an image URL (JPEG, PNG or GIF) and a description of at most
    768 characters (may be empty)."""
    media = body.get("media")
    if not media:
        raise _missing("media")
    if not isinstance(media, str) or len(media) > MAX_MEDIA_URL or not _MEDIA_URL.match(media):
        raise _bad("media must be an http(s) URL of an image")
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > 768:
        raise _bad("text must be a string of at most 768 characters")
    return {"type": "picture", "media": media, "text": text}


def _check_keyboard(keyboard: Any) -> None:
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        raise _bad('keyboard must be an object with "Type": "keyboard"')
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise _bad(f"keyboard.Buttons must be a list of 1..{MAX_BUTTONS} buttons")
    if not isinstance(keyboard.get("DefaultHeight", False), bool):
        raise _bad("keyboard.DefaultHeight must be a boolean")
    if keyboard.get("InputFieldState", "regular") not in ("regular", "minimized", "hidden"):
        raise _bad("keyboard.InputFieldState must be regular, minimized or hidden")
    for index, button in enumerate(buttons):
        _check_button(index, button)


def _check_button(index: int, button: Any) -> None:
    where = f"keyboard.Buttons[{index}]"
    if not isinstance(button, dict):
        raise _bad(f"{where} must be an object")
    if button.get("ActionType", "reply") not in _ACTION_TYPES:
        raise _bad(f"{where}.ActionType must be one of {sorted(_ACTION_TYPES)}")
    action_body = button.get("ActionBody")
    if not isinstance(action_body, str) or not action_body:
        raise _bad(f"{where}.ActionBody must be a non-empty string")
    for key, highest in (("Columns", 6), ("Rows", 2)):
        value = button.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= highest:
            raise _bad(f"{where}.{key} must be an integer 1..{highest}")
    if not isinstance(button.get("Text", ""), str):
        raise _bad(f"{where}.Text must be a string")
    if not isinstance(button.get("Silent", False), bool):
        raise _bad(f"{where}.Silent must be a boolean")
    if button.get("TextSize", "regular") not in ("small", "regular", "large"):
        raise _bad(f"{where}.TextSize must be small, regular or large")


def _parse_body(raw: bytes) -> JSON | ApiError:
    if len(raw) > MAX_REQUEST_BYTES:
        return _bad(f"request body is larger than {MAX_REQUEST_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return _bad("request body is not valid JSON")
    return decoded if isinstance(decoded, dict) else _bad("request body must be a JSON object")


def _encode(payload: JSON) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _decode_for_record(body: bytes) -> JSON:
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    return decoded if isinstance(decoded, dict) else {"raw": body.decode("utf-8", "replace")}


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------
# The fake


class FakeViber:
    """The Viber REST Bot API for one bot account, over real HTTP, with simulated users.

    Use it as ``async with FakeViber() as fake:`` and point the bot at ``fake.base_url``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        rate_limit: int | None = None,
        rate_window: float = 1.0,
        billing_status: int = 0,
    ) -> None:
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be at least 1 (or None for no limit)")
        if rate_window <= 0:
            raise ValueError("rate_window must be positive")
        self.token = token
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.billing_status = billing_status
        self.base_url = ""

        self.webhook_url: str | None = None
        self.event_types: list[str] | None = None
        self.send_name = False
        self.send_photo = False
        self.calls: list[tuple[str, JSON]] = []
        self.statuses: list[tuple[str, int]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, status, status_message)
        self.callbacks: list[JSON] = []  # every callback posted, in order
        self.callback_failures: list[tuple[JSON, int]] = []  # (payload, HTTP status; 0: none)
        self.sent_count = 0
        self.too_many_requests = 0

        self._chats: dict[str, _Chat] = {}
        self._next_token = 5_000_000_000_000_000_001  # Viber's tokens are big 64-bit integers
        self._send_times: deque[float] = deque()
        self._failures: dict[str, deque[ApiError]] = {}
        self._last_callback: tuple[bytes, dict[str, str]] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._handlers: dict[str, Callable[[JSON], Awaitable[JSON]]] = {
            "set_webhook": self._set_webhook,
            "send_message": self._send_message,
            "broadcast_message": self._broadcast_message,
            "get_account_info": self._get_account_info,
        }
        app = Starlette(routes=[Route("/pa/{method}", self._endpoint, methods=["POST"])])
        self._server = LocalServer(app)

    # ----------------------------------------------------------------------------------
    # Lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 and a free port; sets ``base_url``."""
        await self._server.start()
        # trust_env=False: a proxy from the environment must never see local traffic.
        self._client = httpx.AsyncClient(timeout=10.0, trust_env=False)
        self.base_url = f"{self._server.url}/pa"
        self._touch()

    async def stop(self) -> None:
        client, self._client = self._client, None
        try:
            await self._server.stop()
        finally:
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> FakeViber:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------------------------
    # HTTP layer

    async def _endpoint(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        self._in_flight += 1
        self._touch()
        try:
            body = _parse_body(await request.body())
            self.calls.append((method, body if isinstance(body, dict) else {}))
            handler = self._handlers.get(method)
            if handler is None:
                return JSONResponse({"error": f"unknown method {method}"}, status_code=404)
            try:
                answer = await self._answer(method, request, body, handler)
            except ApiError as error:
                self.errors.append((method, error.status, error.message))
                answer = {"status": error.status, "status_message": error.message}
            self.statuses.append((method, int(answer["status"])))
            return JSONResponse(answer)
        finally:
            self._in_flight -= 1
            self._touch()

    async def _answer(
        self,
        method: str,
        request: Request,
        body: JSON | ApiError,
        handler: Callable[[JSON], Awaitable[JSON]],
    ) -> JSON:
        token = request.headers.get("x-viber-auth-token")
        if token is None and isinstance(body, dict):
            token = body.get("auth_token")  # the official Python SDK sends it in the body
        if token is None:
            raise ApiError(2, "missing_auth_token")
        if not hmac.compare_digest(str(token).encode(), self.token.encode()):
            raise ApiError(2)
        if isinstance(body, ApiError):
            raise body
        queued = self._failures.get(method)
        if queued:
            raise queued.popleft()
        if method in ("send_message", "broadcast_message"):
            self._check_rate_limit()
        return {"status": 0, "status_message": "ok", **await handler(body)}

    def _check_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        now = time.monotonic()
        while self._send_times and self._send_times[0] <= now - self.rate_window:
            self._send_times.popleft()
        if len(self._send_times) >= self.rate_limit:
            self.too_many_requests += 1
            raise ApiError(12)

    def _record_send(self, receivers: int) -> None:
        self._send_times.append(time.monotonic())  # one call, however many receivers
        self.sent_count += receivers

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _new_token(self) -> int:
        self._next_token += 1
        return self._next_token

    # ----------------------------------------------------------------------------------
    # API methods

    async def _set_webhook(self, body: JSON) -> JSON:
        if "url" not in body:
            raise _missing("url")
        url = body["url"]
        if url == "":
            self.webhook_url, self.event_types = None, None
            return {}
        if not isinstance(url, str) or not _WEBHOOK_URL.match(url):
            raise ApiError(1, "invalidUrl")
        event_types = body.get("event_types", list(EVENT_TYPES))
        if not isinstance(event_types, list) or any(e not in EVENT_TYPES for e in event_types):
            raise _bad(f"event_types must be a list drawn from {list(EVENT_TYPES)}")
        send_name, send_photo = body.get("send_name", False), body.get("send_photo", False)
        if not isinstance(send_name, bool) or not isinstance(send_photo, bool):
            raise _bad("send_name and send_photo must be booleans")
        # Viber checks the URL before accepting it: a signed "webhook" event must get HTTP 200.
        check = self._event("webhook")
        body_bytes = _encode(check)
        try:
            response = await self._post(url, body_bytes, {SIGNATURE_HEADER: self.sign(body_bytes)})
        except httpx.HTTPError:
            raise ApiError(1, f"Failed to connect to {url}") from None
        if response.status_code != 200:
            raise ApiError(1, f"{url} answered HTTP {response.status_code}")
        self.webhook_url, self.event_types = url, list(event_types)
        self.send_name, self.send_photo = send_name, send_photo
        return {"chat_hostname": CHAT_HOSTNAME, "event_types": list(event_types)}

    async def _send_message(self, body: JSON) -> JSON:
        message = _check_message(body)
        chat = self._receiver_chat(body.get("receiver"))
        self._record_send(1)
        token = self._add_bot_message(chat, message, "send_message")
        return {
            "message_token": token,
            "chat_hostname": CHAT_HOSTNAME,
            "billing_status": self.billing_status,
        }

    def _receiver_chat(self, receiver: Any) -> _Chat:
        if receiver is None:
            raise _missing("receiver")
        if not isinstance(receiver, str):
            raise _bad("receiver must be a string")
        chat = self._chats.get(receiver)
        if chat is None:
            raise ApiError(5)
        if not chat.subscribed:
            raise ApiError(6)
        return chat

    async def _broadcast_message(self, body: JSON) -> JSON:
        message = _check_message(body)
        receivers = body.get("broadcast_list")
        if receivers is None:
            raise _missing("broadcast_list")
        if not isinstance(receivers, list) or not all(isinstance(r, str) for r in receivers):
            raise _bad("broadcast_list must be a list of user ids")
        if not 1 <= len(receivers) <= MAX_BROADCAST:
            raise _bad(f"broadcast_list must hold 1..{MAX_BROADCAST} receivers")
        token = self._new_token()
        failed: list[JSON] = []
        delivered = 0
        for receiver in receivers:
            try:
                chat = self._receiver_chat(receiver)
            except ApiError as error:
                failed.append(
                    {"receiver": receiver, "status": error.status, "status_message": error.message}
                )
                continue
            self._add_bot_message(chat, message, "broadcast", token)
            delivered += 1
        self._record_send(delivered)
        return {"message_token": token, "failed_list": failed}

    async def _get_account_info(self, body: JSON) -> JSON:
        info: JSON = {
            "id": "pa:5043470389409420836",
            "name": "Workshop Test Bot",
            "uri": "workshoptestbot",
            "icon": "https://example.org/workshop-bot-icon.jpg",
            "category": "Organisations",
            "subcategory": "Non-Profit Organisation",
            "location": {"lat": 44.8125, "lon": 20.4612},
            "country": "RS",
            "event_types": list(self.event_types or []),
            "subscribers_count": sum(1 for chat in self._chats.values() if chat.subscribed),
            "members": [{"id": "01234567890A+admin00000==", "name": "Admin", "role": "admin"}],
        }
        if self.webhook_url is not None:
            info["webhook"] = self.webhook_url
        return info

    def _add_bot_message(
        self, chat: _Chat, message: JSON, via: str, token: int | None = None
    ) -> int:
        token = token if token is not None else self._new_token()
        chat.messages.append({**message, "message_token": token, "via": via})
        return token

    def fail_next(self, method: str, status: int, status_message: str = "", times: int = 1) -> None:
        """Answer the next ``times`` authorised calls of ``method`` with this status."""
        if method not in self._handlers:
            raise ValueError(f"the fake does not implement {method!r}")
        queued = self._failures.setdefault(method, deque())
        queued.extend(ApiError(status, status_message or None) for _ in range(times))

    # ----------------------------------------------------------------------------------
    # Simulated users

    def user(
        self,
        name: str = "Amina",
        language: str | None = "en",
        country: str = "SY",
        *,
        subscribed: bool = False,
    ) -> FakeViberUser:
        """A new Viber user who has not talked to the bot yet (``subscribed``: who did, some
        time before the test; no callback is posted)."""
        serial = len(self._chats)
        while True:
            digest = hashlib.sha256(f"fake-viber-user-{serial}".encode()).digest()
            user_id = base64.b64encode(digest[:16]).decode()  # 24 characters ending in "=="
            if user_id not in self._chats:
                break
            serial += 1
        person = FakeViberUser(id=user_id, name=name, language=language, country=country)
        self._chats[user_id] = _Chat(person, subscribed=subscribed)
        return person

    def _chat_of(self, user: FakeViberUser | str) -> _Chat:
        user_id = user if isinstance(user, str) else user.id
        chat = self._chats.get(user_id)
        if chat is None:
            raise AssertionError(f"{user_id!r} is not a user of this fake")
        return chat

    def _user_json(self, person: FakeViberUser) -> JSON:
        profile: JSON = {"id": person.id}
        # Names and photos only reach bots that asked for them in set_webhook.
        if self.send_name:
            profile["name"] = person.name
        if self.send_photo:
            profile["avatar"] = f"https://media.example.org/avatar/{person.id[:8]}.jpg"
        if person.language is not None:
            profile["language"] = person.language
        profile["country"] = person.country
        profile["api_version"] = API_VERSION
        return profile

    def _event(self, name: str, **fields: Any) -> JSON:
        return {
            "event": name,
            "timestamp": _now_ms(),
            "chat_hostname": CHAT_HOSTNAME,
            "message_token": self._new_token(),
            **fields,
        }

    def _wants(self, event: str) -> bool:
        return event in _MANDATORY_EVENTS or event in (self.event_types or [])

    async def open(self, user: FakeViberUser | str, context: str | None = None) -> JSON:
        """The user opens the chat (e.g. through a deep link with ``context``).

        Returns the welcome message the bot answered with, or {} when there is none (or the bot
        did not ask for conversation_started events).
        """
        chat = self._chat_of(user)
        if not self._wants("conversation_started"):
            return {}
        extra: JSON = {"type": "open"}
        if context is not None:
            extra["context"] = context
        extra.update(user=self._user_json(chat.user), subscribed=chat.subscribed)
        response = await self._emit(self._event("conversation_started", **extra))
        if response.status_code != 200 or not response.content.strip():
            return {}
        try:
            welcome = response.json()
        except ValueError:
            raise AssertionError(f"the welcome answer is not JSON: {response.text!r}") from None
        if welcome == {}:
            return {}
        if not isinstance(welcome, dict):
            raise AssertionError(f"the welcome answer is not a JSON object: {welcome!r}")
        try:
            message = _check_message(welcome)
        except ApiError as error:
            # Viber would silently drop it; a test should hear about it.
            raise AssertionError(f"Viber would reject the welcome message: {error}") from None
        self._add_bot_message(chat, message, "welcome")
        return welcome

    async def send(
        self, user: FakeViberUser | str, message: JSON, *, silent: bool = False
    ) -> httpx.Response:
        """The user sends any message (a ``message`` object of the callback shape)."""
        chat = self._chat_of(user)
        chat.subscribed = True  # a first message subscribes, with no "subscribed" callback
        message = copy.deepcopy(message)
        # Viber hands back the tracking_data of the bot's last message with the user's reply.
        tracking = chat.messages[-1]["tracking_data"] if chat.messages else None
        if tracking is not None:
            message["tracking_data"] = tracking
        sender = self._user_json(chat.user)
        return await self._emit(
            self._event("message", sender=sender, message=message, silent=silent)
        )

    async def send_text(self, user: FakeViberUser | str, text: str) -> httpx.Response:
        return await self.send(user, {"type": "text", "text": text})

    async def send_picture(self, user: FakeViberUser | str) -> httpx.Response:
        picture = {
            "type": "picture",
            "text": "",
            "media": "https://media.example.org/photo/IMG_0042.jpg",
            "thumbnail": "https://media.example.org/photo/IMG_0042_thumb.jpg",
            "file_name": "IMG_0042.jpg",
            "size": 12345,
        }
        return await self.send(user, picture)

    async def send_sticker(self, user: FakeViberUser | str) -> httpx.Response:
        sticker = {
            "type": "sticker",
            "sticker_id": 40133,
            "media": "https://media.example.org/s.png",
        }
        return await self.send(user, sticker)

    async def send_contact(
        self, user: FakeViberUser | str, name: str = "Amina", phone: str = "+381601234567"
    ) -> httpx.Response:
        return await self.send(
            user, {"type": "contact", "contact": {"name": name, "phone_number": phone}}
        )

    async def send_location(
        self, user: FakeViberUser | str, lat: float = 44.8125, lon: float = 20.4612
    ) -> httpx.Response:
        return await self.send(user, {"type": "location", "location": {"lat": lat, "lon": lon}})

    async def send_file(self, user: FakeViberUser | str) -> httpx.Response:
        document = {
            "type": "file",
            "media": "https://media.example.org/files/a.pdf",
            "size": 1000,
            "file_name": "a.pdf",
        }
        return await self.send(user, document)

    async def tap(self, user: FakeViberUser | str, label: str) -> httpx.Response:
        """Tap the button labelled ``label`` on the newest bot message that has a keyboard."""
        chat = self._chat_of(user)
        with_keyboard = [m for m in chat.messages if m.get("keyboard")]
        if not with_keyboard:
            texts = [m.get("text", "") for m in chat.messages]
            raise AssertionError(f"no bot message with a keyboard for {chat.user.id}; {texts}")
        button = _find_button(with_keyboard[-1]["keyboard"]["Buttons"], label)
        action = button.get("ActionType", "reply")
        if action == "location-picker":
            return await self.send_location(user)
        if action == "share-phone":
            return await self.send_contact(user, name=chat.user.name)
        if action == "none":
            raise AssertionError(f"button {button.get('Text')!r} does nothing when tapped")
        # reply and open-url buttons both send their ActionBody as a text message.
        text = {"type": "text", "text": button["ActionBody"]}
        return await self.send(user, text, silent=bool(button.get("Silent", False)))

    async def subscribe(self, user: FakeViberUser | str) -> httpx.Response:
        chat = self._chat_of(user)
        chat.subscribed = True
        return await self._emit(self._event("subscribed", user=self._user_json(chat.user)))

    async def unsubscribe(self, user: FakeViberUser | str) -> httpx.Response:
        chat = self._chat_of(user)
        chat.subscribed = False
        return await self._emit(self._event("unsubscribed", user_id=chat.user.id))

    async def receipt(
        self,
        user: FakeViberUser | str,
        event: Literal["delivered", "seen", "failed"] = "delivered",
        message: JSON | None = None,
        desc: str = "failed to deliver the message",
    ) -> httpx.Response | None:
        """A delivery receipt for ``message`` (default: the newest bot message in the chat).

        None when the bot did not ask for this event type.
        """
        chat = self._chat_of(user)
        target = message or (chat.messages[-1] if chat.messages else None)
        if target is None:
            raise AssertionError(f"the bot has sent nothing to {chat.user.id}")
        if not self._wants(event):
            return None
        payload: JSON = {
            "event": event,
            "timestamp": _now_ms(),
            "chat_hostname": CHAT_HOSTNAME,
            "message_token": target["message_token"],  # the receipt names the bot's message
            "user_id": chat.user.id,
        }
        if event == "failed":
            payload["desc"] = desc
        return await self._emit(payload)

    # ----------------------------------------------------------------------------------
    # Callback delivery

    def sign(self, body: bytes) -> str:
        return hmac.new(self.token.encode(), body, hashlib.sha256).hexdigest()

    async def _emit(self, payload: JSON) -> httpx.Response:
        return await self.post_event(_encode(payload))

    async def post_event(
        self,
        payload: JSON | bytes,
        *,
        signature: str | None = "good",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a raw callback to the webhook: ``"good"`` signs it, None sends no signature."""
        if self.webhook_url is None:
            raise AssertionError("the bot has not set a webhook")
        body = payload if isinstance(payload, bytes) else _encode(payload)
        sent_headers = dict(headers or {})
        if signature == "good":
            sent_headers[SIGNATURE_HEADER] = self.sign(body)
        elif signature is not None:
            sent_headers[SIGNATURE_HEADER] = signature
        self._last_callback = (body, sent_headers)
        return await self._post(self.webhook_url, body, sent_headers)

    async def replay_last(self) -> httpx.Response:
        """Post the last callback again, byte for byte, as Viber does when it retries."""
        if self._last_callback is None or self.webhook_url is None:
            raise AssertionError("no callback to replay, or no webhook")
        body, headers = self._last_callback
        return await self._post(self.webhook_url, body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("FakeViber is not running")
        record = _decode_for_record(body)
        self.callbacks.append(record)
        self._in_flight += 1
        self._touch()
        try:
            headers = {"Content-Type": "application/json", **headers}
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError:
            self.callback_failures.append((record, 0))
            raise
        finally:
            self._in_flight -= 1
            self._touch()
        if response.status_code != 200:
            self.callback_failures.append((record, response.status_code))
        return response

    # ----------------------------------------------------------------------------------
    # Inspection

    def messages(self, user: FakeViberUser | str) -> list[JSON]:
        """The bot's messages in the chat, oldest first, welcome message included."""
        return copy.deepcopy(self._chat_of(user).messages)

    def last_message(self, user: FakeViberUser | str) -> JSON:
        messages = self.messages(user)
        if not messages:
            raise AssertionError(f"the bot has sent nothing to {self._chat_of(user).user.id}")
        return messages[-1]

    def texts(self, user: FakeViberUser | str) -> list[str]:
        """The text of each bot message ("" for a file)."""
        return [str(m.get("text", "")) for m in self._chat_of(user).messages]

    def files(self, user: FakeViberUser | str) -> list[JSON]:
        """The bot's ``file`` messages in the chat, oldest first."""
        return [m for m in self.messages(user) if m.get("type") == "file"]

    @staticmethod
    def buttons(message: JSON) -> list[tuple[str, str]]:
        """(Text, ActionBody) of the message's keyboard buttons, in order."""
        keyboard = message.get("keyboard") or {}
        return [(b.get("Text", ""), b["ActionBody"]) for b in keyboard.get("Buttons", [])]

    def is_subscribed(self, user: FakeViberUser | str) -> bool:
        return self._chat_of(user).subscribed

    def broadcasts(self) -> list[JSON]:
        """The bodies of every broadcast_message call, oldest first (refused ones included)."""
        return [copy.deepcopy(body) for method, body in self.calls if method == "broadcast_message"]

    def summary(self) -> str:
        """What happened so far, for failure messages."""
        lines = [
            f"webhook: {self.webhook_url}, sends accepted: {self.sent_count}, refused by the "
            f"rate limit: {self.too_many_requests}, callbacks: {len(self.callbacks)} "
            f"(failed: {len(self.callback_failures)})"
        ]
        for chat in self._chats.values():
            texts = [t if len(t) <= 60 else t[:57] + "..." for t in self.texts(chat.user)]
            state = "subscribed" if chat.subscribed else "not subscribed"
            lines.append(f"{chat.user.id} ({chat.user.name}, {state}): {texts[-5:]}")
        lines.append(f"last calls: {self.statuses[-10:]}")
        if self.errors:
            lines.append(f"last errors: {self.errors[-5:]}")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------
    # Waiting

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll every 5 ms until ``predicate()`` is true; AssertionError after ``timeout``."""
        await wait_until(predicate, timeout, self.summary)

    async def wait_for_messages(
        self, user: FakeViberUser | str, count: int, timeout: float = 5.0
    ) -> list[JSON]:
        """Wait until the chat holds ``count`` bot messages; return them all."""
        chat = self._chat_of(user)
        try:
            await self.wait_for(lambda: len(chat.messages) >= count, timeout)
        except AssertionError as error:
            raise AssertionError(
                f"{chat.user.id} got {len(chat.messages)} of {count} messages; {error}"
            ) from None
        return self.messages(user)

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until no call or callback is in flight and nothing happened for ``quiet`` s."""

        def idle() -> bool:
            return self._in_flight == 0 and time.monotonic() - self._last_activity >= quiet

        try:
            await self.wait_for(idle, timeout)
        except AssertionError as error:
            raise AssertionError(f"the bot did not go idle; {error}") from None


def _find_button(buttons: list[JSON], label: str) -> JSON:
    """The button whose Text (markup stripped) matches ``label``; exact matches win."""
    wanted = label.casefold()
    labels = [_TAG.sub("", str(b.get("Text", ""))).strip() for b in buttons]
    exact = [b for b, text in zip(buttons, labels, strict=True) if text.casefold() == wanted]
    matches = exact or [
        b for b, text in zip(buttons, labels, strict=True) if wanted in text.casefold()
    ]
    if len(matches) != 1:
        problem = "no button matches" if not matches else "several buttons match"
        raise AssertionError(f"{problem} {label!r}; buttons: {labels}")
    return matches[0]
