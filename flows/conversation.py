"""The conversation engine: one event from one person in, the replies out, the database changed.

What each button, command and state means is declared by the features (``flows.features``);
the engine runs one event in one transaction and hands it to the right handler:

    Start           → onboarding.start (a centre's link may come with it)
    Command         → the feature that declared it (most need a stored person; a newcomer
                      is taken to the start instead)
    Choice          → the action the button data names, with its typed arguments; data this
                      bot did not make is "no longer valid"
    Text            → the text handler of the person's state (a question was asked), else home
    Unsupported     → a kind word that only text and buttons are understood

States (stored per person; partial answers of a step in ``state_data``):

    (nothing stored)  language ──► centre ──► notice ──agree──► menu
    (stored person)   menu ◄──► workshops ◄──► details ──book──► menu
                      menu ◄──► my_bookings ──cancel──► confirm_cancel ──yes──► menu
                      menu ◄──► pick_language, pick_centre, help
                      menu ──/delete──► confirm_erase ──yes──► (nothing stored)
"""

from __future__ import annotations

import json

from flows import home, onboarding, privacy, safety
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
from flows.i18n import translator_key
from flows.replies import Button, Document, Outcome, Reply
from flows.router import Router, Services, Turn
from storage import queries as q
from storage.db import Database
from storage.models import StaffView


class Conversation:
    def __init__(self, database: Database, services: Services, router: Router) -> None:
        self.database = database
        self.services = services
        self.router = router

    def handle(self, incoming: Incoming) -> Outcome:
        """Handle one event in one transaction; safe to call again with the same event.

        With ``incoming.keep_replies`` the replies are stored in the same transaction and
        owed until :func:`storage.queries.replies_sent` (the sender clears them)."""
        services = self.services
        now = services.clock.now()
        with self.database.session() as db:
            address = incoming.address
            if incoming.delivery is not None and not q.first_delivery(
                db, address.channel, incoming.delivery, now
            ):
                return Outcome(duplicate=True)
            person = q.find_person(db, services.vault, address.channel, address.user_key)
            if person is not None:
                person.last_seen_at = now
                person.unreachable = isinstance(incoming.event, Unsubscribed)
                db.add(person)
            catalogs = services.catalogs
            locale = (
                translator_key(person.locale, person.digits)
                if person
                else catalogs.match(incoming.language_hint)
            )
            turn = Turn(
                db, incoming, person, catalogs.translator(locale), services, self.router, now
            )
            self._dispatch(turn)
            if incoming.keep_replies and incoming.delivery is not None and turn.outcome.replies:
                q.keep_replies(
                    db,
                    address.channel,
                    incoming.delivery,
                    services.vault.seal(address.user_key),
                    encode_replies(turn.outcome.replies),
                )
            return turn.outcome

    def sorry(self, incoming: Incoming) -> Outcome:
        """What a person reads when handling their message failed: never silence."""
        catalogs = self.services.catalogs
        t = catalogs.translator(catalogs.match(incoming.language_hint))
        return Outcome(replies=[home.sorry(t)])

    def _dispatch(self, turn: Turn) -> None:
        match turn.incoming.event:
            case Start(payload=payload):
                onboarding.start(turn, payload)
            case Command(name=name):
                self._command(turn, name)
            case Choice(payload=data):
                self._choice(turn, data)
            case Text(text=text):
                self._text(turn, text)
            case Unsupported():
                home.unsupported(turn)
            case Unsubscribed():
                privacy.stopped_by_platform(turn)  # as /stop: nothing more is started
            case Subscribed():
                pass  # reachability was set above; no answer is due

    def _command(self, turn: Turn, name: str) -> None:
        command = self.router.commands.get(name)
        if command is None:
            home.unknown_command(turn)
        elif command.consent and turn.person is None:
            onboarding.start(turn, "")  # everything else needs a stored person: begin
        else:
            command.handler(turn)

    def _choice(self, turn: Turn, data: str) -> None:
        found = self.router.parse(data)
        if found is None:
            home.stale(turn)
            return
        action, values = found
        if action.consent and turn.person is None:
            home.stale(turn)  # a newcomer (or someone erased) is taken to the start
            return
        staff = turn.staff if action.view == StaffView.RESIDENT else None
        if home.at_work(staff):
            # A resident's button in the staff view (an old message): staff keep no
            # bookings by accident; the resident view is one tap away.
            note = turn.t._("This is for residents. Choose “Resident view” to book for yourself.")
            home.show_menu(turn, note="ℹ️ " + note)
            return
        action.handler(turn, *values)

    def _text(self, turn: Turn, text: str) -> None:
        person = turn.person
        state = person.state if person is not None else ""
        screened = state not in self.router.unscreened and not home.at_work(turn.staff)
        if screened and safety.screen(turn, text):
            return  # answered with who can help; the text goes nowhere
        handler = self.router.text_handlers.get(state)
        if handler is not None and len(text) <= self.router.text_limits.get(state, home.MAX_TEXT):
            handler(turn, text)
        else:
            home.text(turn, text)


def encode_replies(replies: list[Reply]) -> str:
    """Replies as JSON, to be sent again after a crash (see ``decode_replies``)."""
    return json.dumps(
        [
            {
                "text": reply.text,
                "buttons": [[[b.label, b.payload] for b in row] for row in reply.buttons],
                "rtl": reply.rtl,
                **_encode_document(reply.document),
            }
            for reply in replies
        ],
        ensure_ascii=False,
    )


def decode_replies(data: str) -> list[Reply]:
    return [
        Reply(
            text=item["text"],
            buttons=tuple(tuple(Button(label, payload) for label, payload in row)
                          for row in item["buttons"]),
            rtl=bool(item["rtl"]),
            document=_decode_document(item.get("document")),
        )
        for item in json.loads(data)
    ]  # fmt: skip


def _encode_document(document: Document | None) -> dict[str, list[str]]:
    if document is None:
        return {}
    return {"document": [document.kind, document.key, document.filename, document.working]}


def _decode_document(value: object) -> Document | None:
    """A kept reply's document (replies kept before documents existed have none)."""
    if not isinstance(value, list) or len(value) not in (3, 4):
        return None
    kind, key, filename, *working = (str(part) for part in value)
    return Document(kind, key, filename, *working)
