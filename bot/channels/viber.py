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
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from viberbot.api.viber_requests import (
    ViberConversationStartedRequest,
    ViberFailedRequest,
    ViberMessageRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
    create_request,
)

from bot.channels.base import Delivery, Receive, Sent, TooLarge, read_body, refuse, split_text
from bot.documents import DocumentError, Documents, FileLinks, file_route
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
from flows.replies import Document, Reply

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
TOO_MANY_PAUSE = 2.0  # seconds; Viber names no retry time


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


def looks_like_button(text: str) -> bool:
    """Button syntax (the default when no router says which buttons exist)."""
    return payloads.split(text) is not None


def parse(data: Any, is_button: Callable[[str], bool] = looks_like_button) -> Parsed:
    """A callback as the bot needs it. Names, avatars and countries are never read.

    ``is_button`` tells this bot's button data from typed text (Viber sends both as text)."""
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
            Kind.EVENT,
            _incoming(sender.id, _message_event(data, is_button), sender.language, delivery),
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


def _message_event(data: dict[str, Any], is_button: Callable[[str], bool]) -> Event:
    message = data.get("message") or {}
    if message.get("type") != "text":
        return Unsupported(str(message.get("type") or "other"))
    text = str(message.get("text") or "")
    # A keyboard button sends its ActionBody as text: button data comes back this way.
    if is_button(text):
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

    async def reserve(self, deliveries: Sequence[Delivery]) -> list[bool | None]:
        """Per delivery, before it is sent: True billable and allowed; False a free reply;
        None refused by the cap."""
        ...

    async def record(self, sent: Sequence[tuple[bool, int | None]]) -> None:
        """Messages Viber accepted: (bot-initiated, the ``billing_status`` it returned)."""
        ...


class ViberChannel:
    name = CHANNEL
    max_batch = BROADCAST_LIMIT

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
        is_button: Callable[[str], bool] = looks_like_button,
        documents: Documents | None = None,
        files: FileLinks | None = None,
    ) -> None:
        self.token = token
        # Viber fetches files from a URL: documents are served at signed ``files`` links.
        self.documents = documents
        self.files = files
        self.is_button = is_button  # the router's: typed "OK" is text, not a forged button
        self.api_url = api_url.rstrip("/")
        self.sender = {"name": bot_name[:28]}
        if avatar_url:
            self.sender["avatar"] = avatar_url
        self.rate_limit = rate_limit
        self.billing = billing
        # What billing said for a delivery still being retried: a retry is not a new message.
        self._reserved: weakref.WeakKeyDictionary[Delivery, bool] = weakref.WeakKeyDictionary()
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

    # ---- receiving -------------------------------------------------------------------------

    def routes(self, receive: Receive) -> list[Route]:
        """``POST /viber``: signed callbacks; the welcome message is answered in the response."""

        async def webhook(request: Request) -> Response:
            try:
                body = await read_body(request)
            except TooLarge:
                return refuse(413, "body too large")
            signature = request.headers.get("x-viber-content-signature")
            if not signature:
                return refuse(401, "missing signature")
            if not signature_ok(body, signature, self.token):
                return refuse(403, "bad signature")
            try:
                data = json.loads(body)
            except ValueError:
                return refuse(400, "body is not JSON")
            parsed = parse(data, self.is_button)
            if parsed.incoming is None:
                return JSONResponse({})
            if parsed.kind is Kind.WELCOME:
                outcome = await receive.handle(parsed.incoming, deliver=False)
                if not outcome.replies:
                    return JSONResponse({})
                return JSONResponse(self.welcome(_one(outcome.replies)))
            if parsed.kind is Kind.EVENT:
                receive.submit(parsed.incoming)
            return JSONResponse({})

        routes = [Route("/viber", webhook, methods=["POST"])]
        if self.documents is not None and self.files is not None:
            routes.append(file_route(self.documents, self.files))
        return routes

    async def register_webhook(self, public_url: str) -> None:
        await self.set_webhook(f"{public_url}/viber")
        log.info("viber: webhook set to %s/viber", public_url)

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

    # ---- sending ---------------------------------------------------------------------------

    async def _reserve(self, deliveries: Sequence[Delivery]) -> list[bool | None]:
        """Billing's verdicts (True billable, False free, None refused by the cap), asked once
        per delivery however often it is retried."""
        if self.billing is None:
            return [False] * len(deliveries)
        ask = [delivery for delivery in deliveries if delivery not in self._reserved]
        if ask:
            for delivery, verdict in zip(ask, await self.billing.reserve(ask), strict=True):
                if verdict is not None:
                    self._reserved[delivery] = verdict
        return [self._reserved.get(delivery) for delivery in deliveries]

    def _settled(self, delivery: Delivery, sent: Sent) -> Sent:
        if sent.retry_after is None and not sent.retry:
            self._reserved.pop(delivery, None)
        return sent

    async def _record(self, billed: Sequence[bool], data: dict[str, Any]) -> None:
        """Record messages an answer ``data`` accepted: whether each was billable."""
        if self.billing is not None and billed:
            status = data.get("billing_status")
            code = int(status) if status is not None else None
            await self.billing.record([(bot_initiated, code) for bot_initiated in billed])

    async def send(self, delivery: Delivery) -> Sent:
        return self._settled(delivery, await self._send(delivery))

    async def _send(self, delivery: Delivery) -> Sent:
        [bot_initiated] = await self._reserve([delivery])
        if bot_initiated is None:
            return Sent.failed(CAPPED)
        receiver = delivery.address.user_key
        messages = render(delivery.reply, self.sender)
        if delivery.reply.document is not None:
            file = await self._file_message(delivery.reply.document)
            messages = [file, *messages] if file is not None else messages
        for message in messages:
            try:
                data = await self._call("send_message", {"receiver": receiver, **message})
            except (httpx.HTTPError, ValueError) as error:
                return Sent.failed(str(error) or type(error).__name__, retry=True)
            status = int(data.get("status", -1))
            if status != 0:
                return _refused(data)
            await self._record([bot_initiated], data)
        return Sent.success()

    async def _file_message(self, document: Document) -> dict[str, Any] | None:
        """A ``file`` message whose URL serves the document (rendered now, to know its
        size); None when documents are not served here or it cannot be made (the text
        still goes)."""
        if self.documents is None or self.files is None:
            return None
        try:
            file = await self.documents.get(document)
            url = self.files.url(document)
        except DocumentError as error:
            log.error("viber: the %s %r could not be made: %s", document.kind, document.key, error)
            return None
        if file.mime.startswith("image/"):  # a chart: shown in the chat, not as a file
            return {"type": "picture", "media": url, "text": "", "sender": self.sender}
        return {
            "type": "file",
            "media": url,
            "size": len(file.data),
            "file_name": file.filename,
            "sender": self.sender,
        }

    async def send_batch(self, deliveries: Sequence[Delivery]) -> list[Sent]:
        """One broadcast_message call per part of the (shared) reply, for ≤ 300 receivers.

        Each receiver is reserved with billing before the call (those refused by the cap are
        left out and FAILED), and each one reached is recorded with the call's
        ``billing_status``. A receiver in the ``failed_list`` is unreachable (5, 6, 11) or
        failed; a refused call (12: retry after a pause; network: retry) refuses them all."""
        if not deliveries:
            return []
        if len(deliveries) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} receivers a call")
        reply = deliveries[0].reply
        if any(delivery.reply != reply for delivery in deliveries):
            raise ValueError("a batch carries one reply")
        verdicts = await self._reserve(deliveries)
        results: list[Sent | None] = [
            Sent.failed(CAPPED) if verdict is None else None for verdict in verdicts
        ]
        alive = [index for index, result in enumerate(results) if result is None]
        for message in render(reply, self.sender):
            if not alive:
                break
            receivers = [deliveries[index].address.user_key for index in alive]
            answer = await self._broadcast_call(receivers, message)
            if isinstance(answer, Sent):
                for index in alive:
                    results[index] = answer
                alive = []
                break
            failed = _failed_list(answer)
            reached = []
            for index in alive:
                status = failed.get(deliveries[index].address.user_key)
                if status is None:
                    reached.append(index)
                elif status in NOT_SUBSCRIBED:
                    results[index] = Sent(ok=False, unreachable=True, error=STATUS_NAMES[status])
                else:
                    results[index] = Sent.failed(STATUS_NAMES.get(status, str(status)))
            alive = reached
            await self._record([verdicts[index] is True for index in reached], answer)
        for index in alive:
            results[index] = Sent.success()
        return [
            self._settled(delivery, result or Sent.failed())
            for delivery, result in zip(deliveries, results, strict=True)
        ]

    async def _broadcast_call(
        self, receivers: list[str], message: dict[str, Any]
    ) -> dict[str, Any] | Sent:
        """The answer of one broadcast_message call, or how the call as a whole failed."""
        try:
            data = await self._call("broadcast_message", {"broadcast_list": receivers, **message})
        except (httpx.HTTPError, ValueError) as error:
            return Sent.failed(str(error) or type(error).__name__, retry=True)
        status = int(data.get("status", -1))
        if status == 0:
            return data
        if status == TOO_MANY:
            return Sent(ok=False, retry_after=TOO_MANY_PAUSE, error=STATUS_NAMES[status])
        # Who is not subscribed comes in the failed_list; a refused call says nothing of them.
        name = STATUS_NAMES.get(status, str(status))
        log.warning("viber: broadcast_message failed: %s (%s)", name, data.get("status_message"))
        return Sent.failed(name)

    async def close(self) -> None:
        await self._client.aclose()


CAPPED = "monthly cap on bot-initiated Viber messages reached"


def _refused(data: dict[str, Any]) -> Sent:
    """A send_message answered with a non-zero status, in the outbox's terms."""
    status = int(data.get("status", -1))
    if status in NOT_SUBSCRIBED:
        return Sent(ok=False, unreachable=True, error=STATUS_NAMES[status])
    if status == TOO_MANY:
        return Sent(ok=False, retry_after=TOO_MANY_PAUSE, error=STATUS_NAMES[status])
    name = STATUS_NAMES.get(status, str(status))
    log.warning("viber: send_message failed: %s (%s)", name, data.get("status_message"))
    return Sent.failed(name)


def _failed_list(data: dict[str, Any]) -> dict[str, int]:
    """Receiver → status of those a broadcast did not reach."""
    failed: dict[str, int] = {}
    for item in data.get("failed_list") or []:
        if isinstance(item, dict) and item.get("receiver") is not None:
            try:
                failed[str(item["receiver"])] = int(item.get("status", -1))
            except (TypeError, ValueError):
                failed[str(item["receiver"])] = -1
    return failed


def _one(replies: list[Reply]) -> Reply:
    """Viber takes a single welcome message: join the texts, keep the last buttons."""
    if len(replies) == 1:
        return replies[0]
    return Reply(
        text="\n\n".join(reply.text for reply in replies),
        buttons=replies[-1].buttons,
        rtl=replies[-1].rtl,
    )
