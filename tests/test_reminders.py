"""Reminder sweeps with a controlled clock: offsets, changes, daylight saving, catch-up,
feedback invitations, and two schedulers at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import App
from flows.clock import FakeClock
from flows.ledger import Claimed, Ledger, LedgerPlan
from storage import queries as q
from storage.models import Booking, LedgerEntry, LedgerKind
from tests.dialogue import Resident
from tests.owed import owed
from tests.owed import sweep as sweep_ledger
from tests.seeding import booked_people

BELGRADE = ZoneInfo("Europe/Belgrade")


def setup(
    app: App, clock: FakeClock, starts_at: datetime, people: int = 1, capacity: int = 10
) -> tuple[int, list[str]]:
    keys = [str(500 + n) for n in range(people)]
    session_id = booked_people(
        app.database, app.vault, keys, starts_at=starts_at, capacity=capacity, now=clock.now()
    )
    return session_id, keys


def sweep(ledger: Ledger) -> list[Claimed]:
    """One sweep, everything it claimed marked as sent; only reminders and invitations are
    returned (messages owed because something changed are read with ``owed``)."""
    kinds = (LedgerKind.REMINDER, LedgerKind.FEEDBACK)
    return [item for item in sweep_ledger(ledger) if item.kind in kinds]


def texts(claimed: list[Claimed]) -> list[str]:
    return [item.outgoing.reply.text for item in claimed if item.outgoing]


def test_reminders_arrive_at_each_offset_once(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=26))
    clock.advance(timedelta(hours=1, minutes=59))
    assert sweep(app.ledger) == []
    clock.advance(timedelta(minutes=1))
    [first] = texts(sweep(app.ledger))
    assert "starts in 1 day" in first and "Sewing" in first and "Room 2" in first
    assert sweep(app.ledger) == []
    clock.advance(timedelta(hours=23))
    [second] = texts(sweep(app.ledger))
    assert "starts in 1 hour" in second
    clock.advance(timedelta(hours=2))  # started, not yet over: nothing more
    assert sweep(app.ledger) == []


def test_the_reminder_buttons(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=1), people=2, capacity=1)
    [item] = [c for c in sweep(app.ledger) if c.outgoing]  # the waiting one gets none
    assert item.outgoing is not None
    person = Resident(app.conversation, item.outgoing.address.user_key)
    person.replies.append(item.outgoing.reply)
    person.tap("I'll come")
    assert "See you there" in person.last
    person.replies.append(item.outgoing.reply)
    person.tap("I can't come")
    person.tap("Yes, cancel")
    assert "cancelled" in person.last
    assert [o.outgoing.address.user_key for o in owed(app) if o.outgoing] == ["501"]


def test_cancelled_bookings_and_sessions_get_no_reminder(app: App, clock: FakeClock) -> None:
    session_id, _ = setup(app, clock, clock.now() + timedelta(hours=3), people=2)
    with app.database.session() as db:
        booking = db.exec(select(Booking)).first()
        assert booking is not None and booking.id
        q.cancel_booking(db, person_id=booking.person_id, booking_id=booking.id, now=clock.now())
    clock.advance(timedelta(hours=2))
    assert len(texts(sweep(app.ledger))) == 1
    with app.database.session() as db:
        q.cancel_session(db, session_id, clock.now())
    clock.advance(timedelta(minutes=30))
    assert sweep(app.ledger) == []


def test_a_moved_session_is_reminded_at_its_new_time(app: App, clock: FakeClock) -> None:
    session_id, _ = setup(app, clock, clock.now() + timedelta(hours=26))
    clock.advance(timedelta(hours=2))
    assert len(texts(sweep(app.ledger))) == 1  # the day-before reminder
    with app.database.session() as db:
        assert q.move_session(db, session_id, clock.now() + timedelta(hours=48), clock.now()) == 1
    told = owed(app)
    assert told and told[0].outgoing and "has changed" in told[0].outgoing.reply.text
    clock.advance(timedelta(hours=23))  # the old 1-hour moment: nothing
    assert sweep(app.ledger) == []
    clock.advance(timedelta(hours=1))  # 24 h before the new time
    [again] = texts(sweep(app.ledger))
    assert "1 day" in again


def test_a_promoted_person_is_reminded_only_from_then_on(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=30), people=2, capacity=1)
    clock.advance(timedelta(hours=10))  # 24 h reminder for the seat holder
    assert len(texts(sweep(app.ledger))) == 1
    with app.database.session() as db:
        holder = q.find_person(db, app.vault, "telegram", "500")
        assert holder and holder.id
        [view] = q.person_bookings(db, holder.id, clock.now())
        assert view.booking.id
        q.cancel_booking(db, person_id=holder.id, booking_id=view.booking.id, now=clock.now())
    assert sweep(app.ledger) == []  # the promoted one booked after the 24 h moment
    clock.advance(timedelta(hours=19))
    [reminder] = [c for c in sweep(app.ledger) if c.outgoing]
    assert reminder.outgoing and reminder.outgoing.address.user_key == "501"


def _run_days(app: App, clock: FakeClock, days: int, step: timedelta) -> list[str]:
    sent: list[str] = []
    for _ in range(int(timedelta(days=days) / step)):
        clock.advance(step)
        sent += texts(sweep(app.ledger))
    return sent


def test_daylight_saving_neither_skips_nor_doubles(app: App, clock: FakeClock) -> None:
    # Spring forward (28 March 2027, 02:00 -> 03:00) and fall back (31 October 2027).
    for day in (datetime(2027, 3, 28, 10, 0), datetime(2027, 10, 31, 10, 0)):
        start_local = day.replace(tzinfo=BELGRADE)
        clock.set(start_local - timedelta(days=2))
        with app.database.session() as db:
            centre = q.centre_by_slug(db, "krnjaca")
        if centre is None:
            setup(app, clock, start_local.astimezone(UTC))
        else:
            with app.database.session() as db:
                session = q.add_session(
                    db,
                    centre_id=centre.id or 0,
                    title="Sewing",
                    starts_at=start_local,
                    minutes=90,
                    capacity=5,
                    languages=[],
                    place=None,
                    now=clock.now(),
                )
                person = q.find_person(db, app.vault, "telegram", "500")
                assert person and person.id and session.id
                q.book(
                    db,
                    person_id=person.id,
                    session_id=session.id,
                    centre_id=centre.id,
                    now=clock.now(),
                )
        sent = _run_days(app, clock, 2, timedelta(minutes=10))
        assert [("1 day" in s, "1 hour" in s) for s in sent] == [(True, False), (False, True)]
        assert all("10:00" in s for s in sent)  # shown in Belgrade time either side of the change


def test_catch_up_after_downtime(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=26))
    clock.advance(timedelta(hours=25, minutes=30))  # down through both moments
    [only] = texts(sweep(app.ledger))
    assert "starts in 30 minutes" in only  # the latest one; the day-before one is dropped
    with app.database.session() as db:
        entries = db.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.REMINDER))
        states = sorted(r.state for r in entries.all())
    assert states == ["dropped", "sent"]
    other, _ = setup_second(app, clock)
    clock.advance(timedelta(hours=2))  # that session started while we were down
    assert [c for c in sweep(app.ledger) if c.outgoing and "Second" in c.outgoing.reply.text] == []
    del other


def setup_second(app: App, clock: FakeClock) -> tuple[int, None]:
    with app.database.session() as db:
        centre = q.centre_by_slug(db, "krnjaca")
        person = q.find_person(db, app.vault, "telegram", "500")
        assert centre and centre.id and person and person.id
        session = q.add_session(
            db,
            centre_id=centre.id,
            title="Second",
            minutes=60,
            capacity=5,
            starts_at=clock.now() + timedelta(hours=1),
            languages=[],
            place=None,
            now=clock.now() - timedelta(days=1),
        )
        assert session.id
        q.book(
            db,
            person_id=person.id,
            session_id=session.id,
            centre_id=centre.id,
            now=clock.now() - timedelta(days=1),
        )
    return session.id, None


def test_feedback_is_invited_once_after_the_session(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=2))
    clock.advance(timedelta(hours=2))
    sweep(app.ledger)  # (the start passes)
    clock.advance(timedelta(minutes=90 + 29))
    assert [t for t in texts(sweep(app.ledger)) if "taking part" in t] == []
    clock.advance(timedelta(minutes=1))
    [invitation] = texts(sweep(app.ledger))
    assert "Thank you for taking part in Sewing" in invitation
    clock.advance(timedelta(hours=5))
    assert sweep(app.ledger) == []


def test_unreachable_people_are_skipped(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=1), people=2)
    with app.database.session() as db:
        q.set_reachable(db, app.vault, "telegram", "500", reachable=False)
    claimed = sweep(app.ledger)
    assert len(claimed) == 2 and len(texts(claimed)) == 1
    assert sweep(app.ledger) == []  # and it does not come back


def test_two_schedulers_claim_each_reminder_once(app: App, clock: FakeClock) -> None:
    setup(app, clock, clock.now() + timedelta(hours=1), people=300, capacity=300)
    plan = LedgerPlan(batch=50)
    schedulers = [
        Ledger(app.database, app.vault, app.catalogs, clock, plan, owner=f"s{n}") for n in range(2)
    ]
    results: list[list[Claimed]] = [[], []]
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = [item for batch in schedulers[index].sweep({"telegram"}) for item in batch]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [item.entry_id for result in results for item in result]
    assert len(ids) == len(set(ids)) == 300


def test_a_dead_schedulers_claims_are_taken_over_when_its_lease_ends(
    app: App, clock: FakeClock
) -> None:
    setup(app, clock, clock.now() + timedelta(hours=1), people=3)
    plan = LedgerPlan(lease=timedelta(minutes=2))
    dead = Ledger(app.database, app.vault, app.catalogs, clock, plan, owner="dead")
    alive = Ledger(app.database, app.vault, app.catalogs, clock, plan, owner="alive")
    claimed = [item for batch in dead.sweep({"telegram"}) for item in batch]
    dead.finish(claimed[0].entry_id, sent=True)  # it sent one, then died
    assert sweep(alive) == []  # the lease still holds
    clock.advance(timedelta(minutes=3))
    taken = sweep(alive)
    assert sorted(c.entry_id for c in taken) == sorted(c.entry_id for c in claimed[1:])


def test_old_webhook_deliveries_are_forgotten(app: App, clock: FakeClock) -> None:
    with app.database.session() as db:
        assert q.first_delivery(db, "viber", "1", clock.now())
    clock.advance(timedelta(days=8))
    with app.database.session() as db:
        assert q.first_delivery(db, "viber", "2", clock.now())
    assert app.ledger.forget_deliveries(timedelta(days=7)) == 1
    with app.database.session() as db:
        assert q.first_delivery(db, "viber", "1", clock.now())  # forgotten, so new again
        assert not q.first_delivery(db, "viber", "2", clock.now())
