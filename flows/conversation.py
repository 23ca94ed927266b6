"""The conversation: one event from one person in, the replies out, the database changed.

States (the only place they are listed; the README draws them):

    (nothing stored)  LANGUAGE ──► CENTRE ──► NOTICE ──agree──► MENU
                      choices travel in button data until the person agrees
    (stored person)   MENU ◄──► WORKSHOPS ◄──► DETAILS ──book/cancel──► MENU
                      MENU ◄──► MY_BOOKINGS, PICK_LANGUAGE, PICK_CENTRE, HELP
                      MENU ──/delete──► CONFIRM_ERASE ──yes──► (nothing stored)

Every handler is authorised here, on the server: button data names ids, never rights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session

from flows import payloads as p
from flows import screens
from flows.clock import Clock
from flows.events import (
    Choice,
    Command,
    Incoming,
    Start,
    Subscribed,
    Text,
    Unsubscribed,
    Unsupported,
)
from flows.i18n import Catalogs, Translator
from flows.replies import Outcome, Reply
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Centre, Person

SLUG = re.compile(r"^[a-z0-9-]{1,40}$")
MAX_TEXT = 1000  # no command or answer is longer; longer messages are not read at all


class State(StrEnum):
    MENU = "menu"
    WORKSHOPS = "workshops"
    DETAILS = "details"
    MY_BOOKINGS = "my_bookings"
    PICK_LANGUAGE = "pick_language"
    PICK_CENTRE = "pick_centre"
    HELP = "help"
    CONFIRM_ERASE = "confirm_erase"


@dataclass
class Turn:
    """One event being handled: the unit of work and who it is for."""

    db: Session
    incoming: Incoming
    person: Person | None
    t: Translator
    outcome: Outcome = field(default_factory=Outcome)

    def say(self, reply: Reply) -> None:
        self.outcome.replies.append(reply)


class Conversation:
    def __init__(self, database: Database, vault: Vault, catalogs: Catalogs, clock: Clock) -> None:
        self.database = database
        self.vault = vault
        self.catalogs = catalogs
        self.clock = clock

    # --- entry point ---------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> Outcome:
        """Handle one event in one transaction; safe to call again with the same event."""
        with self.database.session() as db:
            address = incoming.address
            if incoming.delivery is not None and not q.first_delivery(
                db, address.channel, incoming.delivery, self.clock.now()
            ):
                return Outcome(duplicate=True)
            person = q.find_person(db, self.vault, address.channel, address.user_key)
            if person is not None:
                person.last_seen_at = self.clock.now()
                person.unreachable = isinstance(incoming.event, Unsubscribed)
                db.add(person)
            locale = person.locale if person else self.catalogs.match(incoming.language_hint)
            turn = Turn(db, incoming, person, self.catalogs.translator(locale))
            self._dispatch(turn)
            return turn.outcome

    def sorry(self, incoming: Incoming) -> Outcome:
        """What a person reads when handling their message failed: never silence."""
        t = self.catalogs.translator(self.catalogs.match(incoming.language_hint))
        text = t._("Sorry, something went wrong on our side. Please try again in a minute.")
        rows = [[("⬅️ " + t._("Menu"), p.MENU)], [("🆘 " + t._("Help"), p.HELP)]]
        return Outcome(replies=[screens.make_reply(t, [text], rows)])

    def _dispatch(self, turn: Turn) -> None:
        event = turn.incoming.event
        match event:
            case Start(payload=payload):
                self._start(turn, payload)
            case Command(name=name):
                self._command(turn, name)
            case Choice(payload=data):
                self._choice(turn, data)
            case Text(text=text):
                self._text(turn, text)
            case Unsupported():
                self._not_understood(
                    turn, turn.t._("I only understand written messages and buttons.")
                )
            case Subscribed() | Unsubscribed():
                pass  # reachability was set above; no answer is due

    # --- commands and text ---------------------------------------------------------------

    def _start(self, turn: Turn, payload: str) -> None:
        centre: Centre | None = None
        payload = payload.strip().lower()  # a slug typed or pasted in capitals is still a slug
        if payload:
            centre = q.centre_by_slug(turn.db, payload) if SLUG.match(payload) else None
            if centre is None:
                note = turn.t._("I could not find that centre. Please choose it from the list.")
                turn.say(
                    screens.choose_centre(
                        turn.t,
                        q.list_centres(turn.db),
                        consented=turn.person is not None,
                        note=note,
                    )
                )
                return
        if turn.person is None:
            first = self.catalogs.match(turn.incoming.language_hint)
            turn.say(screens.choose_language(self.catalogs, first, centre.id or 0 if centre else 0))
            return
        if centre is not None and centre.id != turn.person.centre_id:
            self._set_centre(turn, turn.person, centre)
            return
        self._menu(turn)

    def _command(self, turn: Turn, name: str) -> None:
        if name == "help":
            self._help(turn, centre_id=0)
        elif turn.person is None:
            # Everything else needs a stored person; begin as /start would.
            self._start(turn, "")
        elif name == "menu":
            self._menu(turn)
        elif name == "language":
            self._show(turn, State.PICK_LANGUAGE, screens.pick_language(turn.t, self.catalogs))
        elif name == "centre":
            self._pick_centre(turn)
        elif name == "mydata":
            self._what_we_keep(turn, turn.person)
        elif name == "delete":
            self._show(turn, State.CONFIRM_ERASE, screens.confirm_erase(turn.t))
        else:
            self._not_understood(turn, turn.t._("I do not know that command."))

    def _text(self, turn: Turn, text: str) -> None:
        if len(text) > MAX_TEXT:
            self._not_understood(turn, turn.t._("Your message is too long."))
            return
        word = text.strip().casefold()
        if word in {"help", "sos", turn.t._("Help").casefold()}:
            self._help(turn, centre_id=0)
        elif word in {"menu", "start", turn.t._("Menu").casefold()}:
            self._command(turn, "menu") if turn.person else self._start(turn, "")
        else:
            self._not_understood(turn, turn.t._("Sorry, I did not understand that."))

    def _not_understood(self, turn: Turn, why: str) -> None:
        if turn.person is None:
            first = self.catalogs.match(turn.incoming.language_hint)
            turn.say(Reply(text=turn.t.lines([why]), rtl=turn.t.rtl))
            turn.say(screens.choose_language(self.catalogs, first, 0))
            return
        self._menu(turn, note=why + " " + turn.t._("Please use the buttons below."))

    # --- buttons -------------------------------------------------------------------------

    def _choice(self, turn: Turn, data: str) -> None:
        payload = p.parse(data)
        if payload is None:
            self._stale(turn)
        elif turn.person is None:
            self._choice_before_agreement(turn, payload)
        else:
            self._choice_of_person(turn, turn.person, payload)

    def _stale(self, turn: Turn) -> None:
        self._not_understood(turn, turn.t._("This button is no longer valid."))

    def _choice_before_agreement(self, turn: Turn, payload: p.Payload) -> None:
        """Nothing is stored yet: the language and centre chosen so far are in the payload."""
        locale = payload.locale_arg(0)
        centre_id = payload.int_arg(1) or 0
        if payload.action == p.HELP:
            turn.t = self.catalogs.translator(locale or turn.t.code)
            self._help(turn, centre_id)
            return
        if locale is None or not self.catalogs.supports(locale):
            self._stale(turn)
            return
        turn.t = t = self.catalogs.translator(locale)
        centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
        if payload.action in (p.LANGUAGE, p.CENTRE):
            if centre is None:
                turn.say(screens.choose_centre(t, q.list_centres(turn.db), consented=False))
            else:
                turn.say(screens.notice(t, centre))
        elif payload.action == p.AGREE and centre is not None:
            address = turn.incoming.address
            person = q.create_person(
                turn.db,
                self.vault,
                channel=address.channel,
                user_key=address.user_key,
                locale=locale,
                centre_id=centre.id,
                now=self.clock.now(),
            )
            turn.person = person
            self._menu(turn, note="✅ " + t._("Thank you. You can now book workshops."))
        elif payload.action == p.DECLINE:
            turn.say(screens.declined(t, centre_id))
        else:
            self._stale(turn)

    def _choice_of_person(self, turn: Turn, person: Person, payload: p.Payload) -> None:
        action = payload.action
        if action in (p.AGREE, p.DECLINE):
            self._menu(turn)  # a second tap on the notice: they already agreed
        elif action == p.MENU:
            self._menu(turn)
        elif action == p.HELP:
            self._help(turn, centre_id=0)
        elif action == p.WORKSHOPS:
            self._workshops(turn, person)
        elif action == p.DETAILS:
            self._details(turn, person, payload.int_arg(0))
        elif action == p.BOOK:
            self._book(turn, person, payload.int_arg(0))
        elif action == p.MY_BOOKINGS:
            self._my_bookings(turn, person)
        elif action == p.CANCEL:
            self._cancel(turn, person, payload.int_arg(0))
        elif action == p.COMING:
            self._menu(turn, note="🙂 " + turn.t._("Thank you. See you there!"))
        elif action == p.PICK_LANGUAGE:
            self._show(turn, State.PICK_LANGUAGE, screens.pick_language(turn.t, self.catalogs))
        elif action == p.LANGUAGE:
            self._set_language(turn, person, payload.locale_arg(0))
        elif action == p.PICK_CENTRE:
            self._pick_centre(turn)
        elif action == p.CENTRE:
            centre_id = payload.int_arg(-1)
            centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
            if centre is None:
                self._stale(turn)
            else:
                self._set_centre(turn, person, centre)
        elif action == p.ERASE and person.state == State.CONFIRM_ERASE:
            self._erase(turn, person)
        else:
            self._stale(turn)

    # --- screens -------------------------------------------------------------------------

    def _show(self, turn: Turn, state: State, reply: Reply) -> None:
        if turn.person is not None:
            q.save_state(turn.person, state)
            turn.db.add(turn.person)
        turn.say(reply)

    def _centre(self, turn: Turn, person: Person) -> Centre | None:
        return q.centre_by_id(turn.db, person.centre_id) if person.centre_id else None

    def _menu(self, turn: Turn, note: str | None = None) -> None:
        assert turn.person is not None
        centre = self._centre(turn, turn.person)
        self._show(turn, State.MENU, screens.menu(turn.t, centre, note))

    def _help(self, turn: Turn, centre_id: int) -> None:
        person = turn.person
        if person is not None:
            centre = self._centre(turn, person)
        else:
            centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
        reply = screens.help_screen(
            turn.t, centre, consented=person is not None, centre_id=centre_id
        )
        self._show(turn, State.HELP, reply)

    def _pick_centre(self, turn: Turn) -> None:
        reply = screens.choose_centre(turn.t, q.list_centres(turn.db), consented=True)
        self._show(turn, State.PICK_CENTRE, reply)

    def _workshops(self, turn: Turn, person: Person) -> None:
        centre = self._centre(turn, person)
        if centre is None:
            self._pick_centre(turn)
            return
        assert centre.id is not None
        views = q.upcoming_sessions(turn.db, centre.id, self.clock.now())
        self._show(turn, State.WORKSHOPS, screens.workshops(turn.t, centre, views))

    def _details(self, turn: Turn, person: Person, session_id: int | None) -> None:
        centre = self._centre(turn, person)
        view = q.session_view(turn.db, session_id) if session_id else None
        if (
            centre is None
            or view is None
            or view.session.centre_id != centre.id
            or view.session.cancelled_at is not None
            or view.session.starts_at <= self.clock.now()
        ):
            self._unavailable(turn, person)
            return
        assert person.id is not None and view.session.id is not None
        booking = next(
            (
                b
                for b in q.person_bookings(turn.db, person.id, self.clock.now())
                if b.session.id == view.session.id
            ),
            None,
        )
        reply = screens.details(turn.t, centre, view, booking)
        self._show(turn, State.DETAILS, reply)

    def _unavailable(self, turn: Turn, person: Person) -> None:
        turn.say(
            Reply(
                turn.t.lines([turn.t._("Sorry, this workshop is no longer open for booking.")]),
                rtl=turn.t.rtl,
            )
        )
        self._workshops(turn, person)

    def _book(self, turn: Turn, person: Person, session_id: int | None) -> None:
        assert person.id is not None
        if session_id is None:
            self._stale(turn)
            return
        result = q.book(
            turn.db,
            person_id=person.id,
            session_id=session_id,
            centre_id=person.centre_id,
            now=self.clock.now(),
        )
        if result.outcome == q.BookOutcome.UNAVAILABLE:
            self._unavailable(turn, person)
            return
        view = q.session_view(turn.db, session_id)
        centre = self._centre(turn, person)
        assert view is not None and centre is not None
        t = turn.t
        session = view.session
        what = [f"▪️ {t.iso(session.title)}", f"🕒 {t.when(session.starts_at, centre.timezone)}"]
        if session.place:
            what.append(f"📍 {t.iso(session.place)}")
        position = t.number(result.position)
        lines = {
            q.BookOutcome.CONFIRMED: [
                "✅ " + t._("Your seat is booked."),
                *what,
                t._("If you cannot come, please cancel so someone else can have the seat."),
            ],
            q.BookOutcome.WAITLISTED: [
                "⏳ " + t._("This workshop is full."),
                *what,
                t._("You are number {position} on the waitlist.", position=position),
                t._("If a seat becomes free, it is yours automatically and we will tell you."),
            ],
            q.BookOutcome.ALREADY_CONFIRMED: [
                "✅ " + t._("You already have a seat for this workshop."),
                *what,
            ],
            q.BookOutcome.ALREADY_WAITLISTED: [
                "⏳ "
                + t._("You are already on the waitlist, number {position}.", position=position),
                *what,
            ],
        }[result.outcome]
        self._show(turn, State.MENU, screens.after_booking(t, lines))

    def _my_bookings(self, turn: Turn, person: Person) -> None:
        assert person.id is not None
        centre = self._centre(turn, person)
        zone = centre.timezone if centre else "Europe/Belgrade"
        views = q.person_bookings(turn.db, person.id, self.clock.now())
        self._show(turn, State.MY_BOOKINGS, screens.my_bookings(turn.t, zone, views))

    def _cancel(self, turn: Turn, person: Person, booking_id: int | None) -> None:
        assert person.id is not None
        t = turn.t
        result = (
            q.cancel_booking(
                turn.db, person_id=person.id, booking_id=booking_id, now=self.clock.now()
            )
            if booking_id
            else q.CancelResult(q.CancelOutcome.NOT_FOUND)
        )
        if result.outcome == q.CancelOutcome.NOT_FOUND:
            note = t._("This booking was not found. It may have been cancelled already.")
        elif result.outcome == q.CancelOutcome.ALREADY_CANCELLED:
            note = t._("This booking was already cancelled.")
        else:
            note = "✅ " + t._("Your booking is cancelled. Thank you for telling us.")
            turn.outcome.notify = result.promoted_person_id is not None
        self._menu(turn, note=note)

    def _set_language(self, turn: Turn, person: Person, locale: str | None) -> None:
        if locale is None or not self.catalogs.supports(locale):
            self._stale(turn)
            return
        person.locale = locale
        turn.t = self.catalogs.translator(locale)
        self._menu(turn, note="✅ " + turn.t._("Language changed."))

    def _set_centre(self, turn: Turn, person: Person, centre: Centre) -> None:
        person.centre_id = centre.id
        self._menu(turn, note="✅ " + turn.t._("Your centre is now {centre}.", centre=centre.name))

    def _what_we_keep(self, turn: Turn, person: Person) -> None:
        assert person.id is not None
        centre = self._centre(turn, person)
        zone = centre.timezone if centre else "Europe/Belgrade"
        count = q.count_bookings(turn.db, person.id)
        self._show(turn, State.MENU, screens.what_we_keep(turn.t, person, centre, count, zone))

    def _erase(self, turn: Turn, person: Person) -> None:
        assert person.id is not None
        now = self.clock.now()
        for view in q.person_bookings(turn.db, person.id, now):
            assert view.booking.id is not None
            result = q.cancel_booking(
                turn.db, person_id=person.id, booking_id=view.booking.id, now=now
            )
            turn.outcome.notify |= result.promoted_person_id is not None
        q.delete_person(turn.db, person)
        turn.person = None
        turn.say(screens.erased(turn.t))
