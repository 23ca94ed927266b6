"""Conversation tests as dialogues: a person sends or taps, the bot answers, we read both.

Drives :class:`flows.conversation.Conversation` directly (no channel, no network), the way a
channel would: text and /commands are parsed as on Telegram, buttons are tapped by label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.conversation import Conversation
from flows.events import Address, Choice, Event, Incoming, Unsupported, from_text
from flows.replies import Outcome, Reply


@dataclass
class Resident:
    conversation: Conversation
    user_key: str
    language: str | None = "en"
    channel: str = "telegram"
    transcript: list[tuple[str, str]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    last_outcome: Outcome | None = None

    @property
    def address(self) -> Address:
        return Address(self.channel, self.user_key)

    def _do(self, event: Event, shown: str) -> list[Reply]:
        self.transcript.append(("person", shown))
        outcome = self.conversation.handle(Incoming(self.address, event, self.language))
        self.last_outcome = outcome
        for reply in outcome.replies:
            self.transcript.append(("bot", reply.text))
        self.replies.extend(outcome.replies)
        return outcome.replies

    def send(self, text: str) -> list[Reply]:
        return self._do(from_text(text), text)

    def send_unsupported(self, kind: str) -> list[Reply]:
        return self._do(Unsupported(kind), f"<{kind}>")

    def tap_data(self, payload: str) -> list[Reply]:
        return self._do(Choice(payload), f"[{payload}]")

    def button(self, label: str, reply: Reply | None = None) -> str:
        """The payload of the button whose label contains ``label`` on the newest keyboard."""
        keyboards = [reply] if reply else [r for r in reversed(self.replies) if r.buttons]
        if not keyboards:
            raise AssertionError("no buttons shown yet")
        labels = []
        for row in keyboards[0].buttons:
            for button in row:
                labels.append(button.label)
                if label.casefold() in button.label.casefold():
                    return button.payload
        raise AssertionError(f"no button {label!r}; buttons are {labels}")

    def tap(self, label: str) -> list[Reply]:
        payload = self.button(label)
        self.transcript.append(("tap", label))
        return self.tap_data(payload)

    @property
    def last(self) -> str:
        return self.replies[-1].text

    def labels(self) -> list[str]:
        keyboard = next(r for r in reversed(self.replies) if r.buttons)
        return [b.label for row in keyboard.buttons for b in row]

    def has_button(self, label: str) -> bool:
        return any(label.casefold() in text.casefold() for text in self.labels())

    def said(self) -> str:
        return "\n".join(f"{who}: {what}" for who, what in self.transcript)
