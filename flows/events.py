"""What a person can do, in one neutral vocabulary every channel translates into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """Who a message is for: a channel and that channel's id for the person's chat."""

    channel: str  # "telegram", "viber", "console"
    user_key: str


@dataclass(frozen=True)
class Start:
    """The person opened the bot, maybe through a centre's link (``payload`` is its slug)."""

    payload: str = ""


@dataclass(frozen=True)
class Command:
    """A slash command other than /start, such as /menu or /help (name without the slash)."""

    name: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Choice:
    """A button was tapped; ``payload`` is the opaque data the button carried."""

    payload: str


@dataclass(frozen=True)
class Unsupported:
    """Something the bot cannot read: ``kind`` is e.g. "sticker", "photo", "voice"."""

    kind: str


@dataclass(frozen=True)
class Subscribed:
    """The person (re)subscribed (Viber): they may be messaged again. No answer is due."""


@dataclass(frozen=True)
class Unsubscribed:
    """The person left (Viber unsubscribe); nothing may be sent until they come back."""


Event = Start | Command | Text | Choice | Unsupported | Subscribed | Unsubscribed


@dataclass(frozen=True)
class Incoming:
    """One event from one person, with what the channel knows that the flows may use.

    ``language_hint`` is the language the person's app reports; it is used to offer that
    language first and is never stored. ``delivery`` identifies a webhook delivery (Viber's
    message_token, Telegram's update_id) so that a platform's retry is handled only once.
    """

    address: Address
    event: Event
    language_hint: str | None = None
    delivery: str | None = None
    keep_replies: bool = False  # store the replies until sent (long polling; see Conversation)
    # The channel's reference to the message whose button was tapped, where the channel can
    # edit messages (Telegram): a broadcast's progress is shown by editing it.
    message_ref: str | None = None


def from_text(text: str) -> Event:
    """What typed text means: "/start krnjaca", "/help@some_bot", or just text."""
    if text.startswith("/") and len(text) <= 200:
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        if name == "start":
            return Start(rest.strip())
        if name.isidentifier():
            return Command(name)
    return Text(text)
