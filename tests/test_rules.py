"""The operator's rules (flows/rules.py), on SQLite and PostgreSQL: each wrong value is refused
with one sentence, and nothing is written; right values are stored as given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import col, select

from bot.settings import PROJECT_ROOT
from flows import rules
from flows.clock import FakeClock
from flows.i18n import Catalogs
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import (
    Booking,
    BookingStatus,
    Centre,
    LedgerEntry,
    LedgerKind,
    Person,
    WorkshopSession,
)
from tests.conftest import TEST_KEY
from tests.seeding import booked_people

CATALOGS = Catalogs.load(PROJECT_ROOT / "locales")
ENGLISH = CATALOGS.translator("en")
# Known language codes enough to pass the 100 characters the session row keeps for them.
MANY_LANGUAGES = [
    "ar",
    "fa",
    "ps",
    "ur",
    "tr",
    "fr",
    "uk",
    "ru",
    "es",
    "ckb",
    "en",
    "de",
    "it",
    "pt",
    "nl",
    "sv",
    "pl",
    "cs",
    "sk",
    "sl",
    "hr",
    "bs",
    "sq",
    "mk",
    "bg",
    "ro",
    "hu",
    "el",
    "he",
    "hi",
    "bn",
    "zh",
    "ja",
    "ko",
]


def refusal(database: Database, now: datetime, action: str, **values: Any) -> str:
    """The English sentence a change was refused with (it must be refused)."""
    with pytest.raises(rules.Refusal) as refused, database.session() as db:
        getattr(rules, action)(db, now, **values)
    return refused.value.text(ENGLISH)


def centre(database: Database, now: datetime, slug: str = "krnjaca", **values: Any) -> Centre:
    fields: dict[str, Any] = {
        "slug": slug,
        "name": "Krnjača",
        "kind": "asylum",
        "timezone": "Europe/Belgrade",
        "contact": "+381 11 000 0101",
    }
    fields.update(values)
    with database.session() as db:
        return rules.add_centre(db, now, **fields)


def session_values(**values: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "centre_slug": "krnjaca",
        "title": "Sewing workshop",
        "starts": "2026-12-02 10:00",
        "minutes": 90,
        "capacity": 12,
    }
    fields.update(values)
    return fields


def add_session(database: Database, now: datetime, **values: Any) -> rules.SessionAdded:
    with database.session() as db:
        return rules.add_session(db, now, **session_values(**values))


def count(database: Database, table: type[Centre] | type[WorkshopSession]) -> int:
    with database.session() as db:
        return len(db.exec(select(table)).all())


# --- centres -------------------------------------------------------------------------------


def test_a_centre_is_added_as_given(database: Database, clock: FakeClock) -> None:
    added = centre(database, clock.now(), "banja-koviljaca", name="  Banja Koviljača  ")
    assert (added.slug, added.name, added.timezone) == (
        "banja-koviljaca",
        "Banja Koviljača",
        "Europe/Belgrade",
    )
    with database.session() as db:
        assert [c.slug for c in rules.list_centres(db)] == ["banja-koviljaca"]


def test_a_slug_that_cannot_go_into_a_link_is_refused(database: Database, clock: FakeClock) -> None:
    for slug in ["Bad Slug", "a--b", "-a", "a-", "", "krnjača", "a_b", "x" * 41]:
        text = refusal(
            database,
            clock.now(),
            "add_centre",
            slug=slug,
            name="X",
            kind="asylum",
            timezone="Europe/Belgrade",
        )
        assert "a-z and 0-9, with single hyphens" in text, slug
    assert count(database, Centre) == 0


def test_a_slug_is_taken_once(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    values = {"slug": "krnjaca", "name": "Other", "kind": "asylum", "timezone": "UTC"}
    text = refusal(database, clock.now(), "add_centre", **values)
    assert text == "A centre with the slug krnjaca exists already."
    assert count(database, Centre) == 1


WRONG_CENTRES: list[tuple[dict[str, str], str]] = [
    ({"name": ""}, "The centre's name must not be empty."),
    ({"name": "   "}, "The centre's name must not be empty."),
    ({"name": "x" * 121}, "The centre's name is 121 characters long; at most 120 fit."),
    ({"name": "Krnjača\nsecond line"}, "The centre's name must be one line"),
    ({"name": "Krnjača\u2028line"}, "The centre's name must be one line"),
    ({"contact": "x" * 201}, "The contact is 201 characters long; at most 200 fit."),
    ({"contact": "+381\r\n11"}, "The contact must be one line"),
    ({"kind": "prison"}, "The kind of centre must be one of: asylum, reception."),
    ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
    ({"timezone": "../etc/passwd"}, "is not a time zone"),
    ({"timezone": ""}, "is not a time zone"),
]


def test_a_wrong_centre_value_is_refused(database: Database, clock: FakeClock) -> None:
    for values, expected in WRONG_CENTRES:
        fields = {
            "slug": "krnjaca",
            "name": "Krnjača",
            "kind": "asylum",
            "timezone": "Europe/Belgrade",
            "contact": None,
            **values,
        }
        assert expected in refusal(database, clock.now(), "add_centre", **fields), values
    assert count(database, Centre) == 0


def test_limits_are_inclusive(database: Database, clock: FakeClock) -> None:
    added = centre(database, clock.now(), name="n" * 120, contact="c" * 200)
    assert len(added.name) == 120 and added.contact == "c" * 200
    with_place = add_session(
        database, clock.now(), title="t" * 120, place="p" * 120, capacity=500, minutes=600
    )
    assert with_place.session.capacity == 500
    smallest = add_session(database, clock.now(), title="Tiny", capacity=1, minutes=5)
    assert (smallest.session.capacity, smallest.session.minutes) == (1, 5)


# --- sessions ------------------------------------------------------------------------------


def test_a_session_time_is_the_centres_local_time(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    winter = add_session(database, clock.now(), languages=["ar", "FA", "sr-Latn", "ar"])
    assert winter.session.starts_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # UTC+1
    assert winter.session.languages == "ar,fa,sr_Latn"
    assert winter.note is None
    summer = add_session(database, clock.now(), starts="2027-07-01 9:05")
    assert summer.session.starts_at == datetime(2027, 7, 1, 7, 5, tzinfo=UTC)  # UTC+2


def test_a_time_the_clocks_jump_over_is_refused(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    text = refusal(
        database, clock.now(), "add_session", **session_values(starts="2027-03-28 02:30")
    )
    assert text == (
        "There is no 02:30 on 2027-03-28 in Europe/Belgrade: the clocks jump forward that "
        "night. Choose another time."
    )
    assert count(database, WorkshopSession) == 0


def test_a_time_that_comes_twice_takes_the_first_and_says_so(
    database: Database, clock: FakeClock
) -> None:
    centre(database, clock.now())
    added = add_session(database, clock.now(), starts="2027-10-31 02:30")
    assert added.session.starts_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # UTC+2
    assert added.note is not None
    assert "the first 02:30, summer time (UTC+2)" in added.note.text(ENGLISH)


WRONG_SESSIONS: list[tuple[dict[str, Any], str]] = [
    ({"starts": "2026-12-01 08:59"}, "2026-12-01 08:59 has already passed."),
    ({"starts": "2026-12-01 09:00"}, "2026-12-01 09:00 has already passed."),  # now
    ({"starts": "tomorrow"}, 'A time must look like "2026-12-01 10:00"'),
    ({"starts": "2026-12-02T10:00"}, "A time must look like"),
    ({"starts": "2026-13-01 10:00"}, "A time must look like"),
    ({"starts": "2026-12-02 24:00"}, "A time must look like"),
    ({"title": " "}, "The title must not be empty."),
    ({"title": "x" * 121}, "The title is 121 characters long; at most 120 fit."),
    ({"title": "Sewing\nworkshop"}, "The title must be one line"),
    ({"place": "p" * 121}, "The place is 121 characters long; at most 120 fit."),
    ({"place": "Room\n2"}, "The place must be one line"),
    ({"capacity": 0}, "The number of seats must be from 1 to 500, not 0."),
    ({"capacity": 501}, "The number of seats must be from 1 to 500, not 501."),
    ({"minutes": 4}, "A session lasts from 5 to 600 minutes, not 4."),
    ({"minutes": 601}, "A session lasts from 5 to 600 minutes, not 601."),
    ({"languages": ["ar", "xx"]}, "'xx' is not a language code"),
    ({"languages": ["ar;fa"]}, "'ar;fa' is not a language code"),
    ({"languages": MANY_LANGUAGES}, "Too many languages"),
    ({"centre_slug": "nowhere"}, "There is no centre with the slug 'nowhere'."),
]


def test_a_wrong_session_value_is_refused(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    for values, expected in WRONG_SESSIONS:
        text = refusal(database, clock.now(), "add_session", **session_values(**values))
        assert expected in text, (values, text)
    assert count(database, WorkshopSession) == 0


def test_the_same_session_twice_is_refused(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    centre(database, clock.now(), "obrenovac", name="Obrenovac")
    first = add_session(database, clock.now())
    text = refusal(
        database, clock.now(), "add_session", **session_values(title=" Sewing workshop ")
    )
    assert text == "Sewing workshop at Krnjača is already on at that time."
    add_session(database, clock.now(), centre_slug="obrenovac")  # another centre: fine
    add_session(database, clock.now(), starts="2026-12-02 12:00")  # another time: fine
    with database.session() as db:
        rules.cancel_session(db, clock.now(), first.session.id or 0)
    add_session(database, clock.now())  # the cancelled one does not count
    assert count(database, WorkshopSession) == 4


# --- moving and cancelling -----------------------------------------------------------------


def booked_session(database: Database, clock: FakeClock) -> int:
    """Krnjača, a session tomorrow with 2 seats: two booked, one waiting."""
    return booked_people(
        database,
        Vault(TEST_KEY),
        ["101", "102", "103"],
        starts_at=clock.now() + timedelta(days=1),
        capacity=2,
        now=clock.now(),
    )


def test_moving_tells_everyone_booked_or_waiting(database: Database, clock: FakeClock) -> None:
    session_id = booked_session(database, clock)
    with database.session() as db:
        moved = rules.move_session(db, clock.now(), session_id, "2026-12-03 11:00")
    assert moved.told == 3 and moved.note is None
    assert moved.session.starts_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    with database.session() as db:
        (row,) = rules.list_sessions(db, clock.now(), centre_slug="krnjaca")
    assert (row.session.id, row.taken, row.centre.slug) == (session_id, 2, "krnjaca")
    assert row.session.starts_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_what_cannot_be_moved(database: Database, clock: FakeClock) -> None:
    session_id = booked_session(database, clock)
    now = clock.now()

    def move(session: int, starts: str) -> str:
        return refusal(database, clock.now(), "move_session", session_id=session, starts=starts)

    assert move(77, "2026-12-03 11:00") == "There is no session 77."
    assert move(session_id, "2026-12-01 08:00") == "2026-12-01 08:00 has already passed."
    assert move(session_id, "2027-03-28 02:15").startswith("There is no 02:15 on 2027-03-28")
    assert move(session_id, "2026-12-02 09:00") == f"Session {session_id} is at that time already."
    clock.advance(timedelta(days=1, minutes=1))
    assert move(session_id, "2026-12-09 10:00") == (
        f"Session {session_id} has already started; it cannot be moved."
    )
    clock.set(now)
    with database.session() as db:
        cancelled = rules.cancel_session(db, clock.now(), session_id)
    assert cancelled.told == 3
    assert move(session_id, "2026-12-09 10:00") == (
        f"Session {session_id} is cancelled; it cannot be moved."
    )
    with database.session() as db:
        (row,) = rules.list_sessions(db, clock.now(), past=True)
    assert row.session.starts_at == now + timedelta(days=1)  # never moved


def test_what_cannot_be_cancelled(database: Database, clock: FakeClock) -> None:
    session_id = booked_session(database, clock)

    def cancel(session: int) -> str:
        return refusal(database, clock.now(), "cancel_session", session_id=session)

    assert cancel(77) == "There is no session 77."
    with database.session() as db:
        assert rules.cancel_session(db, clock.now(), session_id).told == 3
    assert cancel(session_id) == f"Session {session_id} is cancelled already."


def test_listing_sessions_of_a_centre_that_is_not_there(
    database: Database, clock: FakeClock
) -> None:
    text = refusal(database, clock.now(), "list_sessions", centre_slug="nowhere")
    assert text == "There is no centre with the slug 'nowhere'."


def test_a_refusal_is_data_for_the_readers_language(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    with pytest.raises(rules.Refusal) as refused, database.session() as db:
        rules.add_session(db, clock.now(), **session_values(title="x" * 130))
    assert refused.value.message == "{what} is {length} characters long; at most {limit} fit."
    assert refused.value.values["length"] == 130
    assert str(refused.value) == "The title is 130 characters long; at most 120 fit."
    shown = refused.value.text(CATALOGS.translator("ar"))
    assert "\u2068١٣٠\u2069" in shown  # set apart in right-to-left text, in Arabic digits
    kept = refused.value.text(CATALOGS.translator("ar@latn"))
    assert "\u2068130\u2069" in kept  # someone who keeps Western digits


# --- editing and seats ---------------------------------------------------------------------


def test_a_title_and_place_are_edited_with_the_checks_of_adding(
    database: Database, clock: FakeClock
) -> None:
    session_id = booked_session(database, clock)
    now = clock.now()
    with database.session() as db:
        edited = rules.edit_session(db, now, session_id, title="  Sewing circle ", place="Hall B")
    assert (edited.session.title, edited.session.place) == ("Sewing circle", "Hall B")
    with database.session() as db:
        rules.edit_session(db, now, session_id, place="")  # an empty place removes it
        rules.edit_session(db, now, session_id, title="Sewing circle")  # unchanged: fine

    def edit(**values: Any) -> str:
        return refusal(database, now, "edit_session", session_id=session_id, **values)

    assert edit(title="x" * 5000) == "The title is 5000 characters long; at most 120 fit."
    assert edit(title=" ") == "The title must not be empty."
    assert edit(place="Room\n2") == "The place must be one line, without line breaks."
    with database.session() as db:
        rules.cancel_session(db, now, session_id)
    assert edit(title="New") == f"Session {session_id} is cancelled; it cannot be changed."
    assert refusal(database, now, "edit_session", session_id=77, title="X") == (
        "There is no session 77."
    )
    with database.session() as db:
        row = db.get(WorkshopSession, session_id)
        assert row is not None and (row.title, row.place) == ("Sewing circle", None)


def test_a_new_title_may_not_make_the_same_session_twice(
    database: Database, clock: FakeClock
) -> None:
    centre(database, clock.now())
    first = add_session(database, clock.now(), title="Sewing")
    second = add_session(database, clock.now(), title="Art")
    text = refusal(
        database, clock.now(), "edit_session", session_id=second.session.id, title="Sewing"
    )
    assert text == "Sewing at Krnjača is already on at that time."
    assert first.session.id != second.session.id


def statuses(database: Database, session_id: int) -> list[str]:
    with database.session() as db:
        rows = db.exec(
            select(Booking).where(Booking.session_id == session_id).order_by(col(Booking.id))
        ).all()
        return [row.status for row in rows]


def test_more_seats_go_to_the_people_waiting_in_order(database: Database, clock: FakeClock) -> None:
    session_id = booked_people(
        database, Vault(TEST_KEY), ["1", "2", "3", "4", "5"],
        starts_at=clock.now() + timedelta(days=1), capacity=2, now=clock.now(),
    )  # fmt: skip
    with database.session() as db:
        changed = rules.set_capacity(db, clock.now(), session_id, 3)
    assert (changed.promoted, changed.demoted, changed.session.capacity) == (1, 0, 3)
    assert statuses(database, session_id) == [
        "confirmed", "confirmed", "confirmed", "waitlisted", "waitlisted",
    ]  # fmt: skip
    with database.session() as db:
        assert rules.set_capacity(db, clock.now(), session_id, 500).promoted == 2
        owed = db.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SEAT_OFFERED))
        assert len(owed.all()) == 3


def test_fewer_seats_than_booked_is_said_first_and_done_when_confirmed(
    database: Database, clock: FakeClock
) -> None:
    session_id = booked_people(
        database, Vault(TEST_KEY), ["1", "2", "3", "4", "5"],
        starts_at=clock.now() + timedelta(days=1), capacity=4, now=clock.now(),
    )  # fmt: skip
    with pytest.raises(rules.SeatsTaken) as asked, database.session() as db:
        rules.set_capacity(db, clock.now(), session_id, 2)
    assert asked.value.losing == 2 and asked.value.field == "capacity"
    assert str(asked.value) == (
        "2 people are booked after seat 2. They will move to the top of the waitlist and be told."
    )
    assert statuses(database, session_id) == [*["confirmed"] * 4, "waitlisted"]
    with database.session() as db:
        changed = rules.set_capacity(db, clock.now(), session_id, 2, demote=True)
    assert (changed.promoted, changed.demoted, changed.session.capacity) == (0, 2, 2)
    with database.session() as db:
        rows = db.exec(
            select(Booking).where(Booking.session_id == session_id).order_by(col(Booking.id))
        ).all()
        waiting = sorted((b.queue_no, b.ticket) for b in rows if b.status == "waitlisted")
        lost = db.exec(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SEAT_LOST))
        told = sorted(entry.booking_id or 0 for entry in lost.all())
    # The last two to book (3 and 4) now wait first, in their order, before 5.
    assert [ticket for _, ticket in waiting] == [3, 4, 5]
    assert told == sorted(b.id or 0 for b in rows if b.ticket in (3, 4))


def test_seats_out_of_range_or_too_late_are_refused(database: Database, clock: FakeClock) -> None:
    session_id = booked_session(database, clock)
    now = clock.now()

    def seats(value: int, session: int = session_id) -> str:
        return refusal(database, clock.now(), "set_capacity", session_id=session, seats=value)

    for value in (0, -3, 501):
        assert seats(value) == f"The number of seats must be from 1 to 500, not {value}."
    assert seats(5, 77) == "There is no session 77."
    clock.advance(timedelta(days=1))
    assert seats(5) == f"Session {session_id} has already started; its seats cannot be changed."
    clock.set(now)
    with database.session() as db:
        rules.cancel_session(db, now, session_id)
    assert seats(5) == f"Session {session_id} is cancelled; it cannot be changed."
    with database.session() as db:
        row = db.get(WorkshopSession, session_id)
        assert row is not None and row.capacity == 2


def test_a_refusal_names_the_value_it_refused(database: Database, clock: FakeClock) -> None:
    centre(database, clock.now())
    fields: dict[str, dict[str, Any]] = {
        "title": {"title": ""},
        "starts": {"starts": "2001-01-01 10:00"},
        "minutes": {"minutes": 1},
        "capacity": {"capacity": 0},
        "languages": {"languages": ["xx"]},
        "place": {"place": "p" * 200},
    }
    for name, values in fields.items():
        with pytest.raises(rules.Refusal) as refused, database.session() as db:
            rules.add_session(db, clock.now(), **session_values(**values))
        assert refused.value.field == name, values


Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 5)),
        st.tuples(st.just("book"), st.integers(0, 5)),  # twice as often: waitlists form
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("seats"), st.integers(1, 5)),
    ),
    min_size=4,
    max_size=25,
)


@settings(
    max_examples=20, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(ops=OPS)
def test_seats_always_go_in_queue_order_and_a_lost_seat_waits_first(
    database: Database, ops: list[Op]
) -> None:
    """Against a model: people get seats in queue order; fewer seats send the last to get one
    back to the front of the queue, in their order; nobody is lost or seated twice."""
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with database.session() as db:
        for table in ("ledger", "booking", "person", "workshop_session", "centre"):
            db.execute(text(f"DELETE FROM {table}"))
    session_id = booked_people(
        database, Vault(TEST_KEY), [f"p{n}" for n in range(6)],
        starts_at=start + timedelta(days=1), capacity=2, now=start, book=False,
    )  # fmt: skip
    with database.session() as db:
        people = sorted(p.id or 0 for p in db.exec(select(Person)))
        row = db.get(WorkshopSession, session_id)
        assert row is not None
        centre_id = row.centre_id
    seated: list[int] = []  # in the order they got their seat
    queue: list[int] = []
    capacity = 2
    for step, (op, value) in enumerate(ops, start=1):
        now = start + timedelta(minutes=step)
        with database.session() as db:
            if op == "book":
                person = people[value]
                q.book(db, person_id=person, session_id=session_id, centre_id=centre_id, now=now)
                if person not in seated and person not in queue:
                    (seated if len(seated) < capacity else queue).append(person)
            elif op == "cancel":
                person = people[value]
                found = q.booking_for(db, person, session_id)
                if found is not None and found.id is not None:
                    q.cancel_booking(db, person_id=person, booking_id=found.id, now=now)
                if person in seated:
                    seated.remove(person)
                    if queue:
                        seated.append(queue.pop(0))
                elif person in queue:
                    queue.remove(person)
            else:
                rules.set_capacity(db, now, session_id, value, demote=True)
                capacity = value
                queue = seated[capacity:] + queue
                seated = seated[:capacity]
                while queue and len(seated) < capacity:
                    seated.append(queue.pop(0))
        with database.session() as db:
            rows = db.exec(select(Booking).where(Booking.session_id == session_id)).all()
            confirmed = {b.person_id for b in rows if b.status == BookingStatus.CONFIRMED}
            waiting = [
                b.person_id
                for b in sorted(rows, key=lambda b: b.queue_no)
                if b.status == BookingStatus.WAITLISTED
            ]
            tickets = [b.ticket for b in rows]
        assert confirmed == set(seated) and len(confirmed) <= capacity, (ops[:step], seated)
        assert waiting == queue, (ops[:step], queue)
        assert len(set(tickets)) == len(tickets)
