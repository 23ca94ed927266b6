"""The contract between the outbox and a platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flows.events import Address
from flows.replies import Reply


@dataclass(frozen=True)
class Delivery:
    """One reply on its way to one chat.

    ``edit`` is the channel's reference to a message this reply may replace (the message whose
    button was tapped); a channel that cannot edit sends a new message instead.
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
