"""Viber, through its REST API: viberbot's request types for what arrives, our own async httpx
client for what leaves.

viberbot's sender is not used: it blocks without a timeout, puts the token in the body rather
than the ``X-Viber-Auth-Token`` header, has no broadcast_message and compares signatures with
``==``. Signatures here are checked with ``hmac.compare_digest`` over the raw body, before
anything is parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import httpx
from viberbot.api.viber_requests import (
    ViberConversationStartedRequest,
    ViberFailedRequest,
    ViberMessageRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
    create_request,
)

from bot.channels.base import Delivery, Sent, split_text
from flows import payloads
from flows.events import (
    Address,
    Choice,
    Event,
    Incoming,
    Start,
    Subscribed,
    Unsubscribed,
    Unsupported,
    from_text,
)
from flows.replies import Reply

log = logging.getLogger(__name__)

CHANNEL = "viber"
TEXT_LIMIT = 7000
BROADCAST_LIMIT = 300
MIN_API_VERSION = 4  # silent keyboard buttons
EVENT_TYPES = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
STATUS_NAMES = {
    0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
    5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
    8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
    11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
}  # fmt: skip
NOT_SUBSCRIBED = {5, 6, 11}  # nobody (any more) to send to
TOO_MANY = 12


def signature_ok(body: bytes, signature: str | None, token: str) -> bool:
    if not signature:
        return False
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


class Kind(Enum):
    WEBHOOK = "webhook"  # Viber checking the URL while set_webhook runs
    WELCOME = "welcome"  # conversation_started: answer in the HTTP response, or not at all
    EVENT = "event"  # something the conversation handles
    RECEIPT = "receipt"  # delivered, seen, failed: nothing to answer
    IGNORED = "ignored"  # unknown event, no sender: nothing to do


@dataclass(frozen=True)
class Parsed:
    kind: Kind
    incoming: Incoming | None = None


def parse(data: Any) -> Parsed:
    """A callback as the bot needs it. Names, avatars and countries are never read."""
    if not isinstance(data, dict):
        return Parsed(Kind.IGNORED)
    event = data.get("event")
    if event == "webhook":
        return Parsed(Kind.WEBHOOK)
    if event in ("delivered", "seen", "failed"):
        if event == "failed":
            log.info("viber: a message failed to arrive: %s", str(data.get("desc", ""))[:200])
        return Parsed(Kind.RECEIPT)
    try:
        request = create_request(data)
    except Exception:  # unknown event type, missing field: nothing we can act on
        log.info("viber: ignoring a callback it cannot read (event %r)", event)
        return Parsed(Kind.IGNORED)
    token = data.get("message_token")
    delivery = str(token) if token is not None else None
    if isinstance(request, ViberConversationStartedRequest):
        user = request.user
        context = data.get("context") or ""
        return Parsed(
            Kind.WELCOME, _incoming(user.id, Start(str(context)), user.language, delivery)
        )
    if isinstance(request, ViberMessageRequest):
        sender = request.sender
        return Parsed(
            Kind.EVENT, _incoming(sender.id, _message_event(data), sender.language, delivery)
        )
    if isinstance(request, ViberSubscribedRequest):
        user = request.user
        return Parsed(Kind.EVENT, _incoming(user.id, Subscribed(), user.language, delivery))
    if isinstance(request, ViberUnsubscribedRequest):
        return Parsed(Kind.EVENT, _incoming(request.user_id, Unsubscribed(), None, delivery))
    if isinstance(request, ViberFailedRequest):
        return Parsed(Kind.RECEIPT)
    return Parsed(Kind.IGNORED)


def _incoming(user_id: Any, event: Event, language: Any, delivery: str | None) -> Incoming | None:
    if not isinstance(user_id, str) or not user_id:
        return None
    hint = language if isinstance(language, str) else None
    return Incoming(Address(CHANNEL, user_id), event, language_hint=hint, delivery=delivery)


def _message_event(data: dict[str, Any]) -> Event:
    message = data.get("message") or {}
    if message.get("type") != "text":
        return Unsupported(str(message.get("type") or "other"))
    text = str(message.get("text") or "")
    # A keyboard button sends its ActionBody as text: button data comes back this way.
    if payloads.parse(text) is not None:
        return Choice(text)
    return from_text(text)


def keyboard(reply: Reply) -> dict[str, Any] | None:
    if not reply.buttons:
        return None
    buttons = []
    for row in reply.buttons:
        for start in range(0, len(row), 6):
            part = row[start : start + 6]
            for button in part:
                buttons.append(
                    {
                        "Columns": 6 // len(part),
                        "Rows": 1,
                        "ActionType": "reply",
                        "ActionBody": button.payload,
                        "Text": button.label,
                        "TextSize": "regular",
                        "Silent": True,
                        "BgColor": "#EDEBF7",
                    }
                )
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": buttons[:24]}


def render(reply: Reply, sender: dict[str, str]) -> list[dict[str, Any]]:
    """Messages (without receiver) for one reply; the keyboard goes with the last part."""
    parts = split_text(reply.text or "…", TEXT_LIMIT)
    board = keyboard(reply)
    messages = []
    for index, part in enumerate(parts):
        message: dict[str, Any] = {"type": "text", "text": part, "sender": sender}
        if board is not None and index == len(parts) - 1:
            message["keyboard"] = board
            message["min_api_version"] = MIN_API_VERSION
        messages.append(message)
    return messages


class Billing(Protocol):
    """Counts Viber messages and keeps the monthly cap on bot-initiated ones."""

    async def reserve(self, delivery: Delivery) -> bool | None:
        """True: billable and allowed; False: a free reply; None: refused by the cap."""
        ...

    async def record(self, bot_initiated: bool, billing_status: int | None) -> None: ...


class ViberChannel:
    name = CHANNEL

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        bot_name: str,
        avatar_url: str | None = None,
        rate_limit: float | None = 30.0,
        billing: Billing | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.sender = {"name": bot_name[:28]}
        if avatar_url:
            self.sender["avatar"] = avatar_url
        self.rate_limit = rate_limit
        self.billing = billing
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(
            f"{self.api_url}/{method}", json=body, headers={"X-Viber-Auth-Token": self.token}
        )
        response.raise_for_status()
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError("viber answered something that is not a JSON object")
        return data

    async def set_webhook(self, url: str) -> None:
        data = await self._call(
            "set_webhook",
            {"url": url, "event_types": EVENT_TYPES, "send_name": False, "send_photo": False},
        )
        status = int(data.get("status", -1))
        if status != 0:
            raise RuntimeError(f"viber set_webhook failed: {STATUS_NAMES.get(status, status)}")

    def welcome(self, reply: Reply) -> dict[str, Any]:
        """The body answering conversation_started: one message, never billed."""
        message = render(reply, self.sender)[-1]
        if len(reply.text) > TEXT_LIMIT:
            message["text"] = reply.text[: TEXT_LIMIT - 1] + "…"
        return message

    async def send(self, delivery: Delivery) -> Sent:
        bot_initiated = False
        if self.billing is not None:
            reserved = await self.billing.reserve(delivery)
            if reserved is None:
                return Sent.failed("monthly cap on bot-initiated Viber messages reached")
            bot_initiated = reserved
        receiver = delivery.address.user_key
        for message in render(delivery.reply, self.sender):
            try:
                data = await self._call("send_message", {"receiver": receiver, **message})
            except (httpx.HTTPError, ValueError) as error:
                return Sent.failed(str(error) or type(error).__name__, retry=True)
            status = int(data.get("status", -1))
            if status in NOT_SUBSCRIBED:
                return Sent(ok=False, unreachable=True, error=STATUS_NAMES[status])
            if status == TOO_MANY:
                return Sent(ok=False, retry_after=2.0, error=STATUS_NAMES[status])
            if status != 0:
                name = STATUS_NAMES.get(status, str(status))
                log.warning("viber: send_message failed: %s (%s)", name, data.get("status_message"))
                return Sent.failed(name)
            if self.billing is not None:
                billing_status = data.get("billing_status")
                await self.billing.record(
                    bot_initiated, int(billing_status) if billing_status is not None else None
                )
        return Sent.success()

    async def broadcast(self, receivers: list[str], reply: Reply) -> list[str]:
        """Send one reply to many (≤300 a call); returns the receivers it did not reach."""
        failed: list[str] = []
        for start in range(0, len(receivers), BROADCAST_LIMIT):
            chunk = receivers[start : start + BROADCAST_LIMIT]
            for message in render(reply, self.sender):
                data = await self._call("broadcast_message", {"broadcast_list": chunk, **message})
                if int(data.get("status", -1)) != 0:
                    failed.extend(chunk)
                    break
                failed.extend(str(item.get("receiver")) for item in data.get("failed_list") or [])
        return failed

    async def close(self) -> None:
        await self._client.aclose()
