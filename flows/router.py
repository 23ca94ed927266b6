"""Features declare what they handle; the router derives the rest.

A feature (onboarding, booking, account, privacy, and later staff and feedback) is one module
that makes a :class:`Feature` and declares on it, in one place:

- its slash commands (``@feature.command("mydata", N_("What the bot keeps about me"))``),
- its button actions with typed arguments (``BOOK = feature.action("B", Int)(book)``): the
  returned :class:`Action` makes the button data (``BOOK.data(7)`` is ``"B:7"``), so an action
  without a handler cannot exist,
- the states in which it reads typed text (``@feature.on_text("staff.title")``),
- the entries it adds to the main menu.

The :class:`Router` is built from the list of features (``flows.features``); it refuses two
features claiming the same code, parses button data into an action and its arguments (anything
else is "no longer valid"), lists the "/" menu in each language, and dispatches.

Multi-step input: a handler asks a question with :meth:`Turn.ask`, which stores the state and
the partial answers in the person's row (validated JSON, size-capped), so the answer may arrive
after a restart or on another worker; the state's text handler reads it with
:attr:`Turn.data`. ``/menu`` or ``/cancel`` leaves any step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from flows.clock import Clock
from flows.distress import Distress
from flows.events import Incoming
from flows.helplines import Helplines
from flows.i18n import Catalogs, Translator
from flows.links import Links
from flows.payloads import MAX_BYTES, Payload, split
from flows.questionnaire import Questionnaires
from flows.replies import Outcome, Reply
from storage import queries as q
from storage.identity import Vault
from storage.models import Centre, Person, StaffMember

# --- typed button arguments ---------------------------------------------------------------


class Arg(Protocol):
    """Turns one field of button data into a value, or None when it is not one."""

    def __call__(self, raw: str) -> Any: ...


def Int(raw: str) -> int | None:
    """A non-negative id that fits a database integer."""
    if not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if value < 2**31 else None


_LOCALE = re.compile(r"^[A-Za-z]{2,3}(_[A-Za-z]{4})?$")


def Locale(raw: str) -> str | None:
    """A language code such as ``ar`` or ``sr_Latn`` (whether it is offered is checked later)."""
    return raw if _LOCALE.match(raw) else None


# --- services and the turn ------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    """What handlers may use besides the database: built once by the composition root."""

    vault: Vault
    catalogs: Catalogs
    clock: Clock
    default_zone: str  # for a person without a centre (settings' TIMEZONE)
    viber_uri: str | None = None  # the Viber account's URI, for links (VIBER_CHAT_URI)
    viber_cap: int | None = None  # bot-initiated Viber messages a month (a broadcast checks)
    # The feedback questions (the packaged ones unless the settings name a folder).
    questionnaires: Questionnaires = field(default_factory=Questionnaires.load)
    feedback_min_group: int = 5  # feedback totals shown only for groups this large
    # Who can help (emergency numbers, support lines) and the words that suggest crisis: data
    # files operators correct (the packaged ones unless the settings name others).
    helplines: Helplines = field(default_factory=Helplines.load)
    distress: Distress = field(default_factory=Distress.load)
    retention_days: int = 90  # idle people are erased after this long (shown in /privacy)

    def links(self, db: Session) -> Links:
        """The bot's links on each platform it is known on."""
        return Links(q.remembered_username(db, "telegram"), self.viber_uri)


@dataclass
class Turn:
    """One event being handled: the unit of work, who it is from, and what was said back."""

    db: Session
    incoming: Incoming
    person: Person | None
    t: Translator
    services: Services
    router: Router
    now: datetime
    outcome: Outcome = field(default_factory=Outcome)
    _staff: StaffMember | bool | None = field(default=False, repr=False)

    def say(self, reply: Reply) -> None:
        self.outcome.replies.append(reply)

    def show(self, state: str, reply: Reply) -> None:
        """Show a screen and remember where the person is (any partial answers are dropped)."""
        if self.person is not None:
            q.save_state(self.person, state)
            self.db.add(self.person)
        self.say(reply)

    # --- multi-step input ---

    def ask(self, state: str, reply: Reply, **answers: Any) -> None:
        """Ask for typed input: the answer goes to ``state``'s text handler, with the answers
        gathered so far (``answers`` added to them) in :attr:`data`."""
        assert self.person is not None, "only a stored person can be asked a question"
        data = {**self.data, **answers} if self.person.state == state else dict(answers)
        q.save_state(self.person, state, data)
        self.db.add(self.person)
        self.say(reply)

    @property
    def data(self) -> dict[str, Any]:
        """Partial answers of the step in progress ({} when there is none)."""
        return q.load_state_data(self.person) if self.person is not None else {}

    # --- shared lookups ---

    @property
    def centre(self) -> Centre | None:
        """The person's centre (None before agreement or when it was removed)."""
        if self.person is None or not self.person.centre_id:
            return None
        return q.centre_by_id(self.db, self.person.centre_id)

    @property
    def staff(self) -> StaffMember | None:
        """The person's active staff role, read from the database (never from a button)."""
        if self._staff is False:
            self._staff = q.membership(self.db, self.person.id if self.person else None)
        return self._staff if isinstance(self._staff, StaffMember) else None

    def forget_staff(self) -> None:
        """The role changed in this turn: read it again when next asked."""
        self._staff = False

    @property
    def zone(self) -> str:
        centre = self.centre
        return centre.timezone if centre else self.services.default_zone


Handler = Callable[..., None]
TextHandler = Callable[[Turn, str], None]


# --- declarations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button's meaning: a short code, typed arguments, and its handler.

    ``consent`` False: works before the person agreed (nothing is stored then, so the choices
    so far travel in the arguments). ``optional`` trailing arguments may be left out.
    ``view`` "resident": a resident's action (booking), which a staff member in the staff
    view is not taken into by accident.
    """

    code: str
    args: tuple[Arg, ...]
    handler: Handler
    consent: bool = True
    optional: int = 0
    view: str | None = None

    def data(self, *values: object) -> str:
        """The button data for these arguments (checked: short, ASCII, at most 64 bytes)."""
        if not (len(self.args) - self.optional <= len(values) <= len(self.args)):
            raise ValueError(f"{self.code} takes {len(self.args)} arguments, not {len(values)}")
        text = ":".join([self.code, *(str(value) for value in values)])
        if all(type(value) is int and value >= 0 for value in values):
            safe = len(text) <= MAX_BYTES  # digits only: the common case, checked cheaply
        else:
            safe = len(text.encode()) <= MAX_BYTES and split(text) is not None
        if not safe:
            raise ValueError(f"unsafe button data: {text!r}")
        return text

    def parse(self, payload: Payload) -> list[Any] | None:
        if not (len(self.args) - self.optional <= len(payload.args) <= len(self.args)):
            return None
        values = [arg(raw) for arg, raw in zip(self.args, payload.args, strict=False)]
        return None if any(value is None for value in values) else values


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a msgid (marked with N_), shown in the platform's "/" menu
    handler: Callable[[Turn], None]
    consent: bool = True  # False: works before agreement (e.g. /help)
    listed: bool = True  # shown in the "/" menu


@dataclass(frozen=True)
class MenuEntry:
    """A button of a menu: ``label`` is a msgid, ``row`` groups buttons on one line.

    ``menu`` is "resident" (the main menu) or "staff" (the staff menu); ``roles`` limits who
    sees the button (empty: everyone who sees that menu). Showing a button authorises
    nothing: its handler checks the role again."""

    order: int
    icon: str
    label: str
    action: Action
    row: int
    menu: str = "resident"
    roles: tuple[str, ...] = ()


StartHandler = Callable[[Turn, str], None]


class Feature:
    def __init__(self, name: str, *, view: str | None = None) -> None:
        self.name = name
        self.view = view  # "resident": its actions are for residents (see Action.view)
        self.actions: list[Action] = []
        self.commands: list[Command] = []
        self.text_handlers: dict[str, TextHandler] = {}
        self.text_limits: dict[str, int] = {}
        self.menu: list[MenuEntry] = []
        self.start_handlers: dict[str, StartHandler] = {}
        self.unscreened: set[str] = set()

    def action(
        self, code: str, *args: Arg, consent: bool = True, optional: int = 0
    ) -> Callable[[Handler], Action]:
        """Declare a button action; use as ``NAME = feature.action("X", Int)(handler)``."""

        def register(handler: Handler) -> Action:
            declared = Action(code, tuple(args), handler, consent, optional, self.view)
            self.actions.append(declared)
            return declared

        return register

    def command(
        self, name: str, description: str, *, consent: bool = True, listed: bool = True
    ) -> Callable[[Callable[[Turn], None]], Callable[[Turn], None]]:
        def register(handler: Callable[[Turn], None]) -> Callable[[Turn], None]:
            self.commands.append(Command(name, description, handler, consent, listed))
            return handler

        return register

    def on_text(
        self, state: str, *, longest: int | None = None, screened: bool = True
    ) -> Callable[[TextHandler], TextHandler]:
        """Declare the handler of text typed while the person is in ``state``; ``longest``
        lets longer text than usual reach it (a notice), so it can say what is too long.
        ``screened`` False: text suggesting crisis still reaches the handler (an abuse
        report must go on; the handler says who can help itself)."""

        def register(handler: TextHandler) -> TextHandler:
            self.text_handlers[state] = handler
            if longest is not None:
                self.text_limits[state] = longest
            if not screened:
                self.unscreened.add(state)
            return handler

        return register

    def menu_entry(
        self,
        order: int,
        icon: str,
        label: str,
        action: Action,
        *,
        row: int,
        menu: str = "resident",
        roles: tuple[str, ...] = (),
    ) -> None:
        self.menu.append(MenuEntry(order, icon, label, action, row, menu, roles))

    def on_start(self, prefix: str) -> Callable[[StartHandler], StartHandler]:
        """Declare the handler of a link whose payload starts with ``prefix`` (such as
        ``staff-``); it gets the rest of the payload, as typed."""

        def register(handler: StartHandler) -> StartHandler:
            self.start_handlers[prefix] = handler
            return handler

        return register


# --- the router -------------------------------------------------------------------------------


class RouterError(RuntimeError):
    pass


class Router:
    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = list(features)
        self.actions: dict[str, Action] = {}
        self.commands: dict[str, Command] = {}
        self.text_handlers: dict[str, TextHandler] = {}
        self.text_limits: dict[str, int] = {}
        self.start_handlers: dict[str, StartHandler] = {}
        self.unscreened: set[str] = set()  # states whose text is not screened for crisis
        for feature in self.features:
            for action in feature.actions:
                if action.code in self.actions:
                    raise RouterError(f"button code {action.code!r} is declared twice")
                self.actions[action.code] = action
            for command in feature.commands:
                if command.name in self.commands:
                    raise RouterError(f"command /{command.name} is declared twice")
                self.commands[command.name] = command
            for state, handler in feature.text_handlers.items():
                if state in self.text_handlers:
                    raise RouterError(f"state {state!r} has two text handlers")
                self.text_handlers[state] = handler
            self.text_limits.update(feature.text_limits)
            self.unscreened |= feature.unscreened
            for prefix, starter in feature.start_handlers.items():
                if prefix in self.start_handlers:
                    raise RouterError(f"link prefix {prefix!r} is declared twice")
                self.start_handlers[prefix] = starter
        self.menu = sorted(
            (entry for feature in self.features for entry in feature.menu),
            key=lambda entry: entry.order,
        )

    def parse(self, data: str) -> tuple[Action, list[Any]] | None:
        """The action and its typed arguments, or None for anything this bot did not make."""
        payload = split(data)
        if payload is None:
            return None
        action = self.actions.get(payload.action)
        if action is None:
            return None
        values = action.parse(payload)
        return None if values is None else (action, values)

    def is_button_data(self, text: str) -> bool:
        """Whether a text is one of this bot's buttons (Viber sends button data as text)."""
        payload = split(text)
        return payload is not None and payload.action in self.actions

    def command_menu(self, t: Translator) -> list[tuple[str, str]]:
        """The commands a platform lists in its "/" menu, described in one language."""
        return [
            (command.name, t._(command.description))
            for command in self.commands.values()
            if command.listed
        ]

    def starter(self, payload: str) -> tuple[StartHandler, str] | None:
        """The handler of a link's payload and the rest of it, if a feature declared one."""
        for prefix, handler in self.start_handlers.items():
            if payload.startswith(prefix):
                return handler, payload[len(prefix) :]
        return None

    def menu_rows(
        self, t: Translator, menu: str = "resident", role: str | None = None
    ) -> list[list[tuple[str, str]]]:
        """A menu's buttons, as the features declared them, for someone with ``role``."""
        rows: dict[int, list[tuple[str, str]]] = {}
        for entry in self.menu:
            if entry.menu != menu or (entry.roles and role not in entry.roles):
                continue
            label = f"{entry.icon} {t._(entry.label)}"
            rows.setdefault(entry.row, []).append((label, entry.action.data()))
        return [rows[key] for key in sorted(rows)]

    def states(self) -> Iterable[str]:
        return self.text_handlers.keys()
