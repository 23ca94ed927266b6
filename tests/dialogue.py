"""Conversation tests as dialogues: a person sends or taps, the bot answers, we read both.

Drives :class:`flows.conversation.Conversation` directly (no channel, no network), the way a
channel would: text and /commands are parsed as on Telegram, buttons are tapped by label.

:func:`verify_dialog` checks a whole dialogue written as data (like zulip's ``verify_dialog``)::

    verify_dialog(amina, [
        ("/start krnjaca", "Please choose your language", {"people": 0}),
        (("tap", "English"), ["Welcome to the workshops at Krnjača", "Do you agree?"]),
        Step(("tap", "I agree"), "You can now book workshops", absent="Sorry", after=check),
    ])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from sqlmodel import func, select

from flows.conversation import Conversation
from flows.events import Address, Choice, Event, Incoming, Unsupported, from_text
from flows.replies import Outcome, Reply
from storage.models import Booking, BookingStatus, LedgerEntry, LedgerState, Person


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


# --- dialogues as data ------------------------------------------------------------------------

# What the person does: typed text or a /command, or ("tap", label) for the newest button whose
# label contains ``label``, ("data", payload) for raw button data (forged or from an old
# message), ("send", kind) for a sticker, photo, voice message...
Action = str | tuple[str, str]
Expected = str | Sequence[str]
# What must hold in the database after the step: a callable that asserts (and may return
# False to fail), or counts such as {"people": 1, "confirmed": 1} (see :func:`counts`).
After = Callable[[], object] | Mapping[str, int]


@dataclass(frozen=True)
class Step:
    """One exchange: what the person does, what the answer must (and must not) contain,
    and what must hold afterwards. The answer is every reply's text and button labels."""

    action: Action
    expect: Expected = ()
    absent: Expected = ()
    after: After | None = None


def counts(resident: Resident) -> dict[str, int]:
    """What the database holds: people, bookings by status (confirmed, waitlisted, cancelled,
    and "bookings" for all), and "owed" messages (on the ledger, not yet sent)."""
    with resident.conversation.database.session() as db:
        found = {"people": int(db.exec(select(func.count()).select_from(Person)).one())}
        statuses = db.exec(select(Booking.status, func.count()).group_by(Booking.status))
        by_status = {str(status): int(n) for status, n in statuses}
        owed = select(func.count()).select_from(LedgerEntry)
        owed = owed.where(LedgerEntry.state == LedgerState.PENDING)
        found["owed"] = int(db.exec(owed).one())
    found["bookings"] = sum(by_status.values())
    for status in BookingStatus:
        found[str(status)] = by_status.get(str(status), 0)
    return found


def verify_dialog(
    resident: Resident,
    steps: Sequence[Step | tuple[Action, Expected] | tuple[Action, Expected, After]],
) -> None:
    """Play ``steps`` one after another; on the first surprise fail with the transcript so
    far. A step is a :class:`Step` or a tuple ``(action, expect)`` / ``(action, expect, after)``."""
    lines: list[str] = []
    for number, raw in enumerate(steps, start=1):
        step = raw if isinstance(raw, Step) else Step(raw[0], raw[1], after=_after(raw))
        lines.append(f"{number:>2} > {_shown(step.action)}")
        try:
            replies = _act(resident, step.action)
        except AssertionError as error:  # e.g. no such button
            _fail(lines, str(error))
        lines += [_render(reply) for reply in replies]
        answer = "\n".join(_render(reply) for reply in replies)
        missing = [text for text in _texts(step.expect) if text not in answer]
        present = [text for text in _texts(step.absent) if text in answer]
        if not replies:
            _fail(lines, "no answer at all")
        if missing or present:
            _fail(lines, f"missing {missing}, unexpected {present}")
        if isinstance(step.after, Mapping):
            found = counts(resident)
            wrong = {k: found.get(k) for k, v in step.after.items() if found.get(k) != v}
            if wrong:
                _fail(lines, f"expected {dict(step.after)}, found {wrong} (all: {found})")
        elif step.after is not None:
            try:
                ok = step.after()
            except AssertionError as error:
                _fail(lines, f"check after the step failed: {error}")
            if ok is False:
                _fail(lines, "check after the step returned False")


def _after(raw: tuple[Action, Expected] | tuple[Action, Expected, After]) -> After | None:
    return raw[2] if len(raw) == 3 else None


def _texts(expected: Expected) -> list[str]:
    return [expected] if isinstance(expected, str) else list(expected)


def _act(resident: Resident, action: Action) -> list[Reply]:
    if isinstance(action, str):
        return resident.send(action)
    kind, value = action
    if kind == "tap":
        return resident.tap(value)
    if kind == "data":
        return resident.tap_data(value)
    if kind == "send":
        return resident.send_unsupported(value)
    raise ValueError(f"unknown action {action!r}: use text, ('tap', label), ('data', payload)")


def _shown(action: Action) -> str:
    if isinstance(action, str):
        return action if len(action) <= 80 else f"{action[:60]}... ({len(action)} characters)"
    kind, value = action
    return {"tap": f"[tap {value}]", "data": f"[data {value}]"}.get(kind, f"<{value}>")


def _render(reply: Reply) -> str:
    text = "\n".join("   < " + line for line in reply.text.splitlines() or [""])
    rows = ["     " + " ".join(f"[{b.label}]" for b in row) for row in reply.buttons]
    return "\n".join([text, *rows])


def _fail(lines: list[str], why: str) -> NoReturn:
    raise AssertionError(f"{why}\n--- the dialogue so far ---\n" + "\n".join(lines))
