"""The contracts between a platform and the rest of the bot: what the outbox asks of a channel
(``Channel``, and ``BatchChannel`` for platforms that send one message to many in one call), and
what a channel that receives webhooks offers the web server (``Webhooks``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flows.events import Address, Incoming
from flows.replies import Outcome, Reply


@dataclass(frozen=True, eq=False)
class Delivery:
    """One reply on its way to one chat.

    ``edit`` is the channel's reference to a message this reply may replace (the message whose
    button was tapped); a channel that cannot edit sends a new message instead.

    Compared by identity (``eq=False``): two equal messages to one chat are two messages, and a
    channel may keep what it counted for a delivery (a billing reservation) across retries.
    """

    address: Address
    reply: Reply
    edit: str | None = None
    person_id: int | None = None
    bot_initiated: bool = False
    # Awaited with the outcome before the next exclusive delivery may start (see Outbox).
    on_done: Callable[[Any], Awaitable[None]] | None = None
    exclusive: bool = False


@dataclass(frozen=True)
class Sent:
    """How a send ended, in the outbox's terms (platform errors are mapped by the channel)."""

    ok: bool
    retry_after: float | None = None  # the platform asked us to wait this long, then retry
    unreachable: bool = False  # blocked, unsubscribed, deleted: stop sending to them
    retry: bool = False  # a passing failure (network): try again later
    error: str = ""

    @classmethod
    def success(cls) -> Sent:
        return cls(ok=True)

    @classmethod
    def failed(cls, error: str = "", *, retry: bool = False) -> Sent:
        return cls(ok=False, retry=retry, error=error)


class Channel(Protocol):
    name: str
    rate_limit: float | None  # messages per second for the whole bot, None for unlimited

    async def send(self, delivery: Delivery) -> Sent:
        """Send one message. Must not raise for platform errors: map them to a ``Sent``."""
        ...


@runtime_checkable
class BatchChannel(Channel, Protocol):
    """A channel that can send one reply to many chats in one platform call."""

    max_batch: int  # most recipients one call may carry

    async def send_batch(self, deliveries: Sequence[Delivery]) -> list[Sent]:
        """Send the same reply to every delivery's chat in one call (``len(deliveries)`` is at
        most ``max_batch``); one ``Sent`` per delivery, in order. Must not raise for platform
        errors. The outbox may call again with the deliveries that got ``retry_after`` or
        ``retry``: whatever the channel counts per recipient (billing) is counted once."""
        ...


class Receive(Protocol):
    """Where a channel hands what it received (the dispatcher)."""

    def submit(self, incoming: Incoming, *, edit: str | None = None) -> object:
        """Handle in the background, in order with the person's earlier updates; the replies
        go through the outbox. Returns at once."""
        ...

    async def handle(self, incoming: Incoming, *, deliver: bool = True) -> Outcome:
        """Handle now; with ``deliver=False`` the replies are returned instead of sent (for a
        platform that takes the answer only in its HTTP response)."""
        ...


@runtime_checkable
class Webhooks(Protocol):
    """A channel that receives updates as webhooks on the bot's one web server."""

    def routes(self, receive: Receive) -> list[Route]:
        """The routes to serve (none when the channel is not in webhook mode). Each checks
        the platform's secret or signature in constant time before parsing anything, refuses
        bodies over :data:`MAX_BODY` (413) and bodies that are not JSON (400)."""
        ...

    async def register_webhook(self, public_url: str) -> None:
        """Tell the platform to call these routes under ``public_url`` (the server is up)."""
        ...


MAX_BODY = 1024 * 1024


class TooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    """The request body, or :class:`TooLarge` as soon as it passes :data:`MAX_BODY`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def refuse(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text at line ends (or anywhere, for a monster line) into sendable parts."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts
