"""Races that happen in real life: the last seats, and two taps on "Book" at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import select

from bot.app import App
from flows.clock import FakeClock
from flows.events import Address, Choice, Incoming
from storage import queries as q
from storage.models import Booking, BookingStatus
from tests.seeding import booked_people


def _setup(app: App, clock: FakeClock, people: int, capacity: int) -> tuple[int, list[str]]:
    keys = [str(100_000 + n) for n in range(people)]
    session_id = booked_people(
        app.database,
        app.vault,
        keys,
        starts_at=clock.now() + timedelta(days=1),
        capacity=capacity,
        now=clock.now(),
        book=False,
    )
    return session_id, keys


def _at_once(app: App, calls: list[Incoming]) -> None:
    barrier = threading.Barrier(len(calls))

    def go(incoming: Incoming) -> None:
        barrier.wait()
        app.conversation.handle(incoming)

    with ThreadPoolExecutor(len(calls)) as pool:
        list(pool.map(go, calls))


def test_fifty_people_racing_for_ten_seats(app: App, clock: FakeClock) -> None:
    session_id, keys = _setup(app, clock, people=50, capacity=10)
    _at_once(app, [Incoming(Address("telegram", k), Choice(f"B:{session_id}")) for k in keys])
    with app.database.session() as db:
        rows = db.exec(select(Booking).where(Booking.session_id == session_id)).all()
        confirmed = [b for b in rows if b.status == BookingStatus.CONFIRMED]
        waiting = [b for b in rows if b.status == BookingStatus.WAITLISTED]
        assert (len(rows), len(confirmed), len(waiting)) == (50, 10, 40)
        positions = sorted(q.waitlist_position(db, b) for b in waiting)
        assert positions == list(range(1, 41))


def test_two_taps_on_book_at_the_same_moment(app: App, clock: FakeClock) -> None:
    session_id, keys = _setup(app, clock, people=1, capacity=5)
    tap = Incoming(Address("telegram", keys[0]), Choice(f"B:{session_id}"))
    _at_once(app, [tap] * 4)
    with app.database.session() as db:
        rows = db.exec(select(Booking)).all()
        assert [(b.session_id, b.status) for b in rows] == [(session_id, "confirmed")]
