"""Messages the bot owes people who did not just write: rendered in their language at send time.

The rows are written by ``storage.queries`` in the same transaction as the change they report,
so a crash can delay a message but never lose it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from flows import screens
from flows.clock import Clock
from flows.events import Address
from flows.i18n import Catalogs
from flows.replies import Outgoing, Reply
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import BookingStatus, Notification, Person

DEFAULT_ZONE = "Europe/Belgrade"


@dataclass(frozen=True)
class Owed:
    notification_id: int
    outgoing: Outgoing | None  # None: nothing to send any more (the person left, or it is moot)


class Notifier:
    def __init__(self, database: Database, vault: Vault, catalogs: Catalogs, clock: Clock) -> None:
        self.database = database
        self.vault = vault
        self.catalogs = catalogs
        self.clock = clock

    def pending(self, channels: set[str], limit: int = 200) -> list[Owed]:
        owed: list[Owed] = []
        with self.database.session() as db:
            for notification, person in q.pending_notifications(db, channels, limit=limit):
                assert notification.id is not None
                outgoing = None if person.unreachable else self._render(db, notification, person)
                owed.append(Owed(notification.id, outgoing))
        return owed

    def done(self, notification_id: int) -> None:
        with self.database.session() as db:
            q.mark_notification(db, notification_id, self.clock.now())

    def _render(self, db: Session, notification: Notification, person: Person) -> Outgoing | None:
        assert person.id is not None
        t = self.catalogs.translator(person.locale)
        view = q.session_view(db, notification.session_id) if notification.session_id else None
        if view is None:
            return None
        centre = q.centre_by_id(db, view.session.centre_id)
        zone = centre.timezone if centre else DEFAULT_ZONE
        reply: Reply
        if notification.kind == "seat_offered":
            booking = q.booking_for(db, person.id, view.session.id or 0)
            if booking is None or booking.status != BookingStatus.CONFIRMED or booking.id is None:
                return None  # cancelled again before we could tell them
            reply = screens.seat_offered(t, view.session, zone, booking.id)
        elif notification.kind == "session_moved":
            reply = screens.session_moved(t, view.session, zone)
        elif notification.kind == "session_cancelled":
            reply = screens.session_cancelled(t, view.session, zone)
        else:
            return None
        address = Address(person.channel, self.vault.open(person.address_enc))
        return Outgoing(address, reply, person_id=person.id, bot_initiated=True)
