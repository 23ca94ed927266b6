"""What the flows answer. Channels render these; they never see platform types."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.events import Address


@dataclass(frozen=True)
class Button:
    label: str
    payload: str  # short, opaque, never a label: at most 64 bytes (Telegram's limit)


@dataclass(frozen=True)
class Document:
    """A file the bot sends with a reply, named rather than carried: the flows say which
    (``kind`` "poster", ``key`` the centre's slug); the bot renders it when it sends."""

    kind: str
    key: str
    filename: str
    # Said while a slow document is being made (an export): the bot shows it with the
    # progress, so the person knows it is coming.
    working: str = ""


@dataclass(frozen=True)
class Reply:
    """A message. ``buttons`` are rows; ``replace`` says the reply may take the place of the
    message whose button was tapped (a channel that can edit messages does so).
    ``rtl`` marks text in a right-to-left language, for channels that need to know.
    ``document`` goes with the text (a new message, never an edit)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    replace: bool = False
    rtl: bool = False
    document: Document | None = None


@dataclass(frozen=True)
class Outgoing:
    """A reply addressed to someone: the person who wrote, or another (a seat handed on)."""

    address: Address
    reply: Reply
    person_id: int | None = None  # set when the recipient is a stored person
    bot_initiated: bool = False


@dataclass
class Outcome:
    """Everything one event produced: replies to the writer and messages owed to others."""

    replies: list[Reply] = field(default_factory=list)
    notify: bool = False  # notifications were queued in the database; deliver them soon
    duplicate: bool = False  # this delivery was handled before: nothing was done
