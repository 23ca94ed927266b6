"""Staff run their sessions from the chat (flows/staff_sessions.py), on SQLite and PostgreSQL:
creating one step by step, changing and cancelling it with the people booked told, marking
attendance by door number, and everything refused to whoever may not do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, col, select

from bot.app import App
from flows import booking, staff_sessions
from flows.clock import FakeClock
from flows.router import Action, Int, Locale
from storage import queries as q
from storage.models import Booking, WorkshopSession
from tests.dialogue import Resident, Step, verify_dialog
from tests.owed import owed, sweep
from tests.seeding import World, seed
from tests.staffing import staff_member

NOT_ALLOWED = "Sorry, you are not allowed to do that."


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str, centre: str = "krnjaca") -> Resident:
    """Someone who agreed to the notice at a centre."""
    person = Resident(app.conversation, key, "en")
    person.send(f"/start {centre}")
    person.tap("English")
    person.tap("I agree")
    return person


def book(person: Resident, session_id: int) -> str:
    person.tap_data(booking.BOOK.data(session_id))
    return person.last


def play(person: Resident, *actions: str | tuple[str, str]) -> None:
    """Steps whose answers do not matter here (each must still be answered)."""
    verify_dialog(person, [Step(action) for action in actions])


def session_row(app: App, session_id: int) -> WorkshopSession:
    with app.database.session() as db:
        found = db.get(WorkshopSession, session_id)
        assert found is not None
        return found


def statuses(app: App, session_id: int) -> list[tuple[int, str, int]]:
    """(door number, status, waitlist order) of a session's bookings, by door number."""
    with app.database.session() as db:
        rows = db.exec(
            select(Booking).where(Booking.session_id == session_id).order_by(col(Booking.ticket))
        ).all()
        return [(b.ticket, b.status, b.queue_no) for b in rows]


def audit(app: App) -> list[tuple[str, str, int | None, str]]:
    with app.database.session() as db:
        return [(e.action, e.role, e.centre_id, e.detail) for e in q.audit_entries(db)]


def owed_texts(app: App) -> list[str]:
    return [item.outgoing.reply.text for item in owed(app) if item.outgoing is not None]


def snapshot(app: App) -> dict[str, list[str]]:
    """Every row of every table but the people's own (whose state moves with each answer)."""
    found: dict[str, list[str]] = {}
    with app.database.session() as db:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in ("person", "seen_delivery"):
                continue
            rows = db.execute(text(f"SELECT * FROM {table.name}")).all()
            found[table.name] = sorted(repr(tuple(row)) for row in rows)
    return found


# --- a new session, step by step ------------------------------------------------------------


def test_staff_create_a_session_step_by_step_and_residents_book_it(app: App, world: World) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    verify_dialog(
        lena,
        [
            (("tap", "New session"), ["step 1 of 8", "title residents will see"]),
            ("Art club", ["step 2 of 8", "Wed, Dec 2", "Mon, Dec 7"]),
            (("tap", "Thu, Dec 3"), ["step 3 of 8", "At what time on Thu, Dec 3?"]),
            ("9.30", ["step 4 of 8", "60 minutes", "120 minutes"]),
            (("tap", "120 minutes"), ["step 5 of 8", "How many seats?"]),
            ("14", ["step 6 of 8", "Chosen: none yet"]),
            (("tap", "English"), ["Chosen: English", "✅ English"]),
            (("tap", "العربية"), "Chosen: English and العربية"),
            (("tap", "English"), "Chosen: العربية"),
            (("tap", "Done"), ["step 7 of 8", "room or place"]),
            ("Room 5", ["step 8 of 8", "how residents will see it"]),
        ],
    )
    preview = lena.last
    for line in [
        "Art club",
        "Thu, Dec 3, 09:30",
        "120 minutes",
        "Room 5",
        "Languages: Arabic",
        "14 seats",
    ]:
        assert line in preview, line
    assert len(app_sessions(app)) == 5  # nothing stored before "Create"
    create = lena.button("Create")
    verify_dialog(
        lena,
        [
            Step(
                ("data", create),
                "The session is created",
                after=lambda: len(app_sessions(app)) == 6,
            ),
            # A second tap on the same button: the step is over, nothing more is created.
            Step(("data", create), "This step is over", after=lambda: len(app_sessions(app)) == 6),
        ],
    )
    added = app_sessions(app)[-1]
    assert (added.title, added.minutes, added.capacity, added.place, added.languages) == (
        "Art club",
        120,
        14,
        "Room 5",
        "ar",
    )
    assert added.starts_at == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)  # 09:30 in Belgrade
    assert (
        "session added",
        "staff",
        world.krnjaca,
        f"session {added.id}: 2026-12-03 09:30",
    ) in audit(app)
    # Residents see it, book it, and are given their door number.
    amina, omar = resident(app, "r-1"), resident(app, "r-2")
    assert added.id is not None
    assert "Your number: 1. Please show it at the door." in book(amina, added.id)
    assert "Your number: 2." in book(omar, added.id)
    amina.tap("My bookings")
    assert "Art club" in amina.last and "Your number: 1." in amina.last
    assert "Your number: 1." in book(amina, added.id)  # already booked: the same number


def app_sessions(app: App) -> list[WorkshopSession]:
    with app.database.session() as db:
        return list(db.exec(select(WorkshopSession).order_by(col(WorkshopSession.id))).all())


def test_each_bad_answer_is_refused_and_asked_again(app: App, world: World) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    verify_dialog(
        lena,
        [
            (("tap", "New session"), "step 1 of 8"),
            ("   ", ["The title must not be empty.", "step 1 of 8"]),
            ("x" * 121, ["The title is 121 characters long; at most 120 fit.", "step 1 of 8"]),
            ("Art club", "step 2 of 8"),
            ("someday", ["Please tap a day, or type one like 2026-12-08.", "step 2 of 8"]),
            ("2026-02-30", ["Please tap a day", "step 2 of 8"]),
            ("2026-11-30", ["That day has passed.", "step 2 of 8"]),
            ("2026-12-01", "step 3 of 8"),
            ("half past nine", ["Please type the time like 14:30.", "step 3 of 8"]),
            ("25:00", ["Please type the time like 14:30.", "step 3 of 8"]),
            ("08:30", ["2026-12-01 08:30 has already passed.", "step 3 of 8"]),
            (("tap", "Back"), "step 2 of 8"),
            ("2027-03-28", "step 3 of 8"),
            ("2:30", ["There is no 02:30 on 2027-03-28 in Europe/Belgrade", "step 3 of 8"]),
            ("10:00", "step 4 of 8"),
            ("4", ["A session lasts from 5 to 600 minutes, not 4.", "step 4 of 8"]),
            ("long", ["Please type a number, like 90.", "step 4 of 8"]),
            ("75", "step 5 of 8"),
            ("0", ["The number of seats must be from 1 to 500, not 0.", "step 5 of 8"]),
            ("-3", ["The number of seats must be from 1 to 500, not -3.", "step 5 of 8"]),
            ("501", ["The number of seats must be from 1 to 500, not 501.", "step 5 of 8"]),
            ("twelve", ["Please type a number, like 12.", "step 5 of 8"]),
            ("500", "step 6 of 8"),
            (("tap", "Done"), "step 7 of 8"),
            ("r" * 121, ["The place is 121 characters long; at most 120 fit.", "step 7 of 8"]),
            (("tap", "Skip"), ["step 8 of 8", "Sun, Mar 28, 2027, 10:00", "75 minutes"]),
            (("tap", "Back"), "step 7 of 8"),
            (("tap", "Back"), "step 6 of 8"),
            (("tap", "Cancel"), "Staff tools for Krnjača"),
        ],
    )
    assert len(app_sessions(app)) == 5


def test_a_5000_character_title_is_not_taken(app: App, world: World, clock: FakeClock) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("New session")
    lena.send("x" * 5000)  # far over the limit: the step still says what the limit is
    assert "The title is 5000 characters long; at most 120 fit." in lena.last
    assert len(app_sessions(app)) == 5
    lena.tap_data(staff_sessions.TITLE.data(world.sewing))
    lena.send("x" * 1000)  # the longest answer read: the rule says why not
    assert "The title is 1000 characters long; at most 120 fit." in lena.last
    assert session_row(app, world.sewing).title == "Sewing workshop"


def test_a_value_that_became_wrong_before_create_is_asked_again(
    app: App, world: World, clock: FakeClock
) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    play(lena, ("tap", "New session"), "Art club", ("tap", "Tue, Dec 1"), "10:00")
    play(lena, ("tap", "90 minutes"), ("tap", "10"), ("tap", "Done"), ("tap", "Skip"))
    assert "step 8 of 8" in lena.last
    clock.advance(timedelta(hours=2))  # 11:00 in Belgrade: 10:00 has passed meanwhile
    lena.tap("Create")
    assert "2026-12-01 10:00 has already passed." in lena.last and "step 3 of 8" in lena.last
    play(lena, "18:00", ("tap", "90 minutes"), ("tap", "10"), ("tap", "Done"), ("tap", "Skip"))
    lena.tap("Create")
    assert "The session is created" in lena.last
    assert app_sessions(app)[-1].starts_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_the_same_session_twice_is_refused_at_the_time_step(app: App, world: World) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    play(lena, ("tap", "New session"), "Sewing workshop", ("tap", "Wed, Dec 2"), "11:00")
    play(lena, ("tap", "90 minutes"), ("tap", "10"), ("tap", "Done"), ("tap", "Skip"))
    lena.tap("Create")
    assert "Sewing workshop at Krnjača is already on at that time." in lena.last
    assert "step 3 of 8" in lena.last
    assert len(app_sessions(app)) == 5


# --- the week and one session -----------------------------------------------------------------


def test_the_week_shows_seats_taken_and_waiting(app: App, world: World) -> None:
    for key in ["r-1", "r-2", "r-3"]:
        book(resident(app, key), world.it)  # two seats: the third waits
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    labels = lena.labels()
    assert "Thu, Dec 3 11:00: IT basics · 2/2 +1 waiting" in labels
    assert "Wed, Dec 2 11:00: Sewing workshop · 0/12" in labels
    assert not any("Cancelled football" in label or "Obrenovac" in label for label in labels)
    lena.tap("IT basics")
    assert "Seats taken: 2 of 2" in lena.last and "1 person waiting" in lena.last
    lena.tap("Back")
    lena.tap("Next week")
    assert "There are no sessions on these days." in lena.last
    lena.tap("Week before")
    lena.tap("Week before")
    assert "Tue, Nov 24 to Mon, Nov 30" in lena.last


def test_many_sessions_in_a_week_are_shown_a_screen_at_a_time(
    app: App, world: World, clock: FakeClock
) -> None:
    with app.database.session() as db:
        for hour in range(14):
            q.add_session(
                db, centre_id=world.krnjaca, title=f"Talk {hour}",
                starts_at=clock.now() + timedelta(days=4, hours=hour), minutes=30, capacity=5,
                languages=[], place=None, now=clock.now(),
            )  # fmt: skip
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    first = [label for label in lena.labels() if "·" in label]
    assert len(first) == staff_sessions.WEEK_PAGE
    lena.tap("Later")
    second = [label for label in lena.labels() if "·" in label]
    assert len(first) + len(second) == 17 and not set(first) & set(second)


def test_edit_title_and_room(app: App, world: World) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    verify_dialog(
        lena,
        [
            (("tap", "Sewing"), "Seats taken: 0 of 12"),
            (("tap", "Edit title"), "Please type the new title."),
            ("", ["The title must not be empty.", "Please type the new title."]),
            ("Sewing circle", ["The title is changed.", "Sewing circle"]),
            (("tap", "Room"), ["Please type the room or place.", "Now: Room 2"]),
            ("Hall\nB", "The place must be one line"),
            ("Hall B", ["The room is changed.", "Hall B"]),
            (("tap", "Room"), "Now: Hall B"),
            (("tap", "No room"), "The room is changed."),
        ],
    )
    session = session_row(app, world.sewing)
    assert (session.title, session.place) == ("Sewing circle", None)
    edits = [entry for entry in audit(app) if entry[0] == "session edited"]
    assert [detail for *_, detail in edits] == [
        f"session {world.sewing}: title",
        f"session {world.sewing}: room",
        f"session {world.sewing}: room",
    ]


# --- moving, seats, cancelling --------------------------------------------------------------


def test_moving_tells_everyone_booked_or_waiting(app: App, world: World) -> None:
    people = [resident(app, key) for key in ["r-1", "r-2", "r-3"]]
    for person in people:
        book(person, world.it)
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    verify_dialog(
        lena,
        [
            (("tap", "IT basics"), "Move"),
            (("tap", "Move"), "Which day should it move to?"),
            ("next friday", "Please tap a day"),
            (("tap", "Fri, Dec 4"), "At what time on Fri, Dec 4?"),
            ("14:3", "Please type the time like 14:30."),
            (
                "14:30",
                ["Moved to Fri, Dec 4, 14:30.", "3 people will be told.", "Seats taken: 2 of 2"],
            ),
        ],
    )
    assert session_row(app, world.it).starts_at == datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
    told = owed_texts(app)
    assert len(told) == 3
    assert all("The time of this workshop has changed" in message for message in told)
    assert all("Fri, Dec 4, 14:30" in message for message in told)
    assert (
        "session moved",
        "staff",
        world.krnjaca,
        f"session {world.it}: to 2026-12-04 14:30, 3 told",
    ) in audit(app)
    lena.tap("Move")
    lena.tap("Fri, Dec 4")
    lena.send("14:30")
    assert f"Session {world.it} is at that time already." in lena.last


def test_more_seats_go_to_the_people_waiting_at_once(app: App, world: World) -> None:
    people = [resident(app, f"r-{n}") for n in range(4)]
    for person in people:
        book(person, world.it)  # 2 seats: two waiting
    assert statuses(app, world.it) == [
        (1, "confirmed", 0), (2, "confirmed", 0), (3, "waitlisted", 1), (4, "waitlisted", 2),
    ]  # fmt: skip
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    lena.tap("IT basics")
    lena.tap("Seats")
    lena.send("3")
    assert "The session now has 3 seats." in lena.last
    assert "1 person got a seat from the waitlist and will be told." in lena.last
    assert [status for _, status, _ in statuses(app, world.it)] == [
        "confirmed", "confirmed", "confirmed", "waitlisted",
    ]  # fmt: skip
    (told,) = owed_texts(app)
    assert "a seat became free and it is yours" in told and "Your number: 3." in told
    lena.tap("Seats")
    lena.tap("10")
    assert "1 person got a seat" in lena.last and "Seats taken: 4 of 10" in lena.last
    lena.tap_data(staff_sessions.SEATS_SET.data(world.it, 10))  # the same button again
    assert "The session now has 10 seats." in lena.last and "got a seat" not in lena.last
    assert len(owed_texts(app)) == 1
    details = [detail for action, _, _, detail in audit(app) if action == "seats changed"]
    assert details == [
        f"session {world.it}: 3 seats, 1 from the waitlist, 0 back to it",
        f"session {world.it}: 10 seats, 1 from the waitlist, 0 back to it",
    ]


def test_fewer_seats_than_booked_asks_and_the_last_booked_wait_first(
    app: App, world: World, clock: FakeClock
) -> None:
    people = []
    for n in range(4):
        people.append(resident(app, f"r-{n}"))
        book(people[-1], world.it)  # 2 seats: r-0 and r-1 booked, r-2 and r-3 waiting
        clock.advance(timedelta(minutes=1))
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    lena.tap("IT basics")
    lena.tap("Seats")
    before = statuses(app, world.it)
    verify_dialog(
        lena,
        [
            (
                "1",
                [
                    "1 person is booked after seat 1. They will move to the top of the "
                    "waitlist and be told.",
                    "Yes, 1 seat",
                ],
            ),
            Step(
                ("tap", "No, keep them"),
                "Seats taken: 2 of 2",
                after=lambda: statuses(app, world.it) == before,
            ),
            (("tap", "Seats"), "How many seats?"),
            ("1", "1 person is booked after seat 1."),
            (
                ("tap", "Yes"),
                ["The session now has 1 seat.", "1 person moved to the top of the waitlist"],
            ),
        ],
    )
    # r-1 booked last: now first in the queue, before r-2 and r-3, in their order.
    order = statuses(app, world.it)
    assert [status for _, status, _ in order] == [
        "confirmed",
        "waitlisted",
        "waitlisted",
        "waitlisted",
    ]
    queue = sorted(
        (queue_no, ticket) for ticket, status, queue_no in order if status == "waitlisted"
    )
    assert [ticket for _, ticket in queue] == [2, 3, 4]
    (told,) = owed_texts(app)
    assert "you lost your seat" in told and "You are at the top of the waitlist." in told
    people[1].tap("My bookings")
    assert "Waitlist number 1" in people[1].last
    # The one who lost the seat gets it back first when a seat frees up.
    people[0].tap("My bookings")
    people[0].tap("Cancel: IT basics")
    people[0].tap("Yes, cancel")
    (offered,) = owed_texts(app)
    assert "a seat became free and it is yours" in offered and "Your number: 2." in offered
    assert (
        "seats changed",
        "staff",
        world.krnjaca,
        f"session {world.it}: 1 seats, 0 from the waitlist, 1 back to it",
    ) in audit(app)


def test_a_seat_lost_message_is_not_sent_once_the_seat_is_back(app: App, world: World) -> None:
    for n in range(2):
        book(resident(app, f"r-{n}"), world.it)
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap_data(staff_sessions.SEATS_YES.data(world.it, 1))
    lena.tap_data(staff_sessions.SEATS_SET.data(world.it, 2))  # back before it was sent
    texts = owed_texts(app)
    assert len(texts) == 1 and "a seat became free" in texts[0]


def test_cancelling_asks_once_and_tells_everyone(app: App, world: World) -> None:
    for n in range(3):
        book(resident(app, f"r-{n}"), world.it)
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    lena.tap("IT basics")
    verify_dialog(
        lena,
        [
            (
                ("tap", "Cancel session"),
                ["Do you want to cancel this session?", "3 people are booked or waiting."],
            ),
            (("tap", "No, keep it"), "Seats taken: 2 of 2"),
            (("tap", "Cancel session"), "Do you want to cancel this session?"),
        ],
    )
    yes = lena.button("Yes, cancel it")
    lena.tap_data(yes)
    assert "The session is cancelled. 3 people will be told." in lena.last
    assert "Edit title" not in lena.labels()
    lena.tap_data(yes)
    assert f"Session {world.it} is cancelled already." in lena.last
    told = owed_texts(app)
    assert len(told) == 3 and all("this workshop was cancelled" in message for message in told)
    assert session_row(app, world.it).cancelled_at is not None
    assert [a for a in audit(app) if a[0] == "session cancelled"] == [
        ("session cancelled", "staff", world.krnjaca, f"session {world.it}: 3 told")
    ]


# --- attendance -------------------------------------------------------------------------------


def attended(app: App, session_id: int) -> list[int]:
    with app.database.session() as db:
        rows = db.exec(
            select(Booking.ticket).where(
                Booking.session_id == session_id, col(Booking.attended_at).is_not(None)
            )
        ).all()
        return sorted(rows)


def test_attendance_by_taps_and_by_typed_numbers(app: App, world: World, clock: FakeClock) -> None:
    people = [resident(app, f"r-{n}") for n in range(4)]
    for person in people:
        book(person, world.sewing)
    people[3].tap("My bookings")
    people[3].tap("Cancel: Sewing")
    people[3].tap("Yes, cancel")  # number 4 has no seat any more
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    lena.tap("Sewing")
    lena.tap("Attendance")
    assert (
        "Attendance can be marked from 1 hour before the start: from Wed, Dec 2, 10:00."
        in lena.last
    )
    clock.advance(timedelta(hours=25, minutes=30))  # half an hour before it starts
    lena.tap("Attendance")
    assert "Marked: 0 of 3 came." in lena.last
    assert lena.labels()[:3] == ["1", "2", "3"]
    mark_two = lena.button("2")

    def came(*numbers: int) -> Callable[[], bool]:
        return lambda: attended(app, world.sewing) == list(numbers)

    verify_dialog(
        lena,
        [
            Step(("data", mark_two), ["Marked: 1 of 3 came.", "✅ 2"], after=came(2)),
            # The same old button again (a double tap): still marked, once.
            Step(("data", mark_two), "Marked: 1 of 3 came.", after=came(2)),
            Step(("tap", "✅ 2"), "Marked: 0 of 3 came.", after=came()),
            Step(
                "3, 1 40 4",
                ["Marked as came: 1, 3.", "No booking has the numbers 4, 40.", "Marked: 2 of 3"],
                after=came(1, 3),
            ),
            ("3", ["Marked as came: 3.", "Marked: 2 of 3 came."]),
            ("99", ["No booking has number 99.", "Marked: 2 of 3 came."]),
            ("three", "Please type the numbers people show at the door, like 3 7 12."),
            (("tap", "Done"), ["Marked: 2 of 3 came.", "2 people came"]),
        ],
    )
    details = [detail for action, _, _, detail in audit(app) if action == "attendance"]
    assert details == [
        f"session {world.sewing}: marked 2",
        f"session {world.sewing}: unmarked 2",
        f"session {world.sewing}: marked 1, 3",
    ]
    # Cancelling after coming does not take it back: the person still came.
    people[0].tap("My bookings")
    people[0].tap("Cancel: Sewing")
    people[0].tap("Yes, cancel")
    lena.tap("Attendance")
    assert "✅ 1" in lena.labels() and "Marked: 2 of 3 came." in lena.last
    # Seven days after the start it is closed.
    clock.advance(timedelta(days=7, hours=1))
    lena.tap_data(staff_sessions.MARK.data(world.sewing, 2, 0))
    assert "Attendance can be marked until 7 days after the session." in lena.last
    lena.send("2")
    assert attended(app, world.sewing) == [1, 3]


def test_many_door_numbers_are_shown_a_page_at_a_time(
    app: App, world: World, clock: FakeClock
) -> None:
    with app.database.session() as db:
        soon = clock.now() + timedelta(minutes=30)
        talk = q.add_session(
            db, centre_id=world.krnjaca, title="Big talk", starts_at=soon, minutes=60,
            capacity=100, languages=[], place=None, now=clock.now(),
        )  # fmt: skip
        assert talk.id is not None
        for n in range(45):
            person = q.create_person(
                db, app.vault, channel="telegram", user_key=f"p{n}", locale="en",
                centre_id=world.krnjaca, now=clock.now(),
            )  # fmt: skip
            assert person.id is not None
            q.book(
                db,
                person_id=person.id,
                session_id=talk.id,
                centre_id=world.krnjaca,
                now=clock.now(),
            )
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap_data(staff_sessions.ATTENDANCE.data(talk.id))
    assert [label for label in lena.labels() if label.isdigit()] == [str(n) for n in range(1, 21)]
    assert [len(row) for row in lena.replies[-1].buttons] == [5, 5, 5, 5, 1, 1]
    assert sum(len(row) for row in lena.replies[-1].buttons) <= 24  # fits a Viber keyboard
    lena.tap("Later numbers")
    lena.tap("Later numbers")
    assert [label for label in lena.labels() if label.isdigit()] == [str(n) for n in range(41, 46)]
    lena.tap("45")
    assert "✅ 45" in lena.labels() and "Marked: 1 of 45 came." in lena.last
    lena.send("21 22")  # typed numbers work whichever page is shown
    assert attended(app, talk.id) == [21, 22, 45]
    assert "✅ 45" in lena.labels()  # still on the last page


# --- who may do what --------------------------------------------------------------------------


def plausible(action: Action, world: World) -> str:
    """Button data for an action with believable values (a real session first)."""
    values: list[object] = []
    for index, arg in enumerate(action.args):
        if arg is Locale:
            values.append("en")
        elif arg is Int and index == 0:
            values.append(world.sewing)
        else:
            values.append(1)
    return action.data(*values)


def test_a_resident_forging_every_staff_sessions_button_changes_nothing(
    app: App, world: World
) -> None:
    book(resident(app, "r-0"), world.it)
    forger = resident(app, "r-1")
    before = snapshot(app)
    for action in staff_sessions.feature.actions:
        forger.tap_data(plausible(action, world))
        assert NOT_ALLOWED in forger.last, action.code
    # Typed answers too, as if the resident had reached a staff step (with its answers).
    answers = {"session": world.sewing, "centre": world.krnjaca, "day": "2026-12-02", "page": 0}
    for state in staff_sessions.feature.text_handlers:
        with app.database.session() as db:
            person = q.find_person(db, app.vault, "telegram", "r-1")
            assert person is not None
            q.save_state(person, state, answers)
            db.add(person)
        forger.send("3")
        assert NOT_ALLOWED in forger.last, state
    assert snapshot(app) == before


def test_staff_of_another_centre_cannot_open_or_change_a_session(app: App, world: World) -> None:
    for n in range(2):
        book(resident(app, f"r-{n}"), world.sewing)
    marko = staff_member(app, "staff-2", world.obrenovac)
    marko.tap("This week")
    assert any("Obrenovac sewing" in label for label in marko.labels())
    assert not any("Sewing workshop" in label for label in marko.labels())
    before = snapshot(app)
    for action in staff_sessions.feature.actions:
        if action.args and action.args[0] is Int and action not in (
            staff_sessions.WEEK, staff_sessions.NEW_BACK, staff_sessions.NEW_DAY,
            staff_sessions.NEW_MINUTES, staff_sessions.NEW_SEATS,
        ):  # fmt: skip
            marko.tap_data(plausible(action, world))
            assert NOT_ALLOWED in marko.last, action.code
            assert "Sewing workshop" not in marko.last
    assert snapshot(app) == before
    marko.tap_data(staff_sessions.ATTENDANCE.data(world.elsewhere))
    assert NOT_ALLOWED not in marko.last  # their own session is theirs


def test_a_coordinator_looks_but_does_not_change(app: App, world: World) -> None:
    book(resident(app, "r-0"), world.sewing)
    ana = staff_member(app, "coord-1", None, role="coordinator")
    assert "New session" not in " ".join(ana.labels())
    ana.tap("This week")
    assert "Please choose a centre first." in ana.last  # coordinators choose which one
    ana.tap("Krnjača")
    ana.tap("This week")
    assert "New session" not in " ".join(ana.labels())
    ana.tap("Sewing")
    assert "Seats taken: 1 of 12" in ana.last
    assert ana.labels() == ["⬅️ Back"]
    before = snapshot(app)
    for action in [
        staff_sessions.SEATS_SET, staff_sessions.CANCEL_YES, staff_sessions.TITLE,
        staff_sessions.MARK, staff_sessions.ATTENDANCE, staff_sessions.NEW,
    ]:  # fmt: skip
        ana.tap_data(plausible(action, world))
        assert NOT_ALLOWED in ana.last, action.code
    assert snapshot(app) == before


def test_an_admin_changes_any_centre(app: App, world: World) -> None:
    root = staff_member(app, "admin-1", None, role="admin")
    root.tap_data(staff_sessions.SEATS_SET.data(world.elsewhere, 11))
    assert "The session now has 11 seats." in root.last
    assert (
        "seats changed",
        "admin",
        world.obrenovac,
        f"session {world.elsewhere}: 11 seats",
    ) in audit(app)


def test_a_role_taken_away_while_typing_stops_the_next_step(app: App, world: World) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap("This week")
    lena.tap("Sewing")
    lena.tap("Edit title")
    with app.database.session() as db:
        (member,) = q.list_members(db)
        q.revoke_member(db, member.member.ref, datetime(2026, 12, 1, 8, tzinfo=UTC))
    lena.send("Something else")
    assert NOT_ALLOWED in lena.last
    assert session_row(app, world.sewing).title == "Sewing workshop"


def test_door_numbers_in_reminders_and_my_bookings(
    app: App, world: World, clock: FakeClock
) -> None:
    amina = resident(app, "r-0")
    omar = resident(app, "r-1")
    book(amina, world.sewing)
    assert "Your number: 2." in book(omar, world.sewing)
    omar.tap("My bookings")
    assert "Your number: 2. Please show it at the door." in omar.last
    omar.tap_data(booking.DETAILS.data(world.sewing))
    assert "You have a seat." in omar.last and "Your number: 2." in omar.last
    clock.advance(timedelta(hours=2, minutes=1))  # 24 hours before the start
    sent = [item.outgoing.reply.text for item in sweep(app.ledger) if item.outgoing is not None]
    assert len(sent) == 2
    assert any("Your number: 1." in text for text in sent)
    assert any("Your number: 2." in text for text in sent)
    assert all("Reminder: your workshop starts in 1 day." in text for text in sent)


def test_staff_give_a_title_per_language_and_a_known_kind_needs_none(
    app: App, world: World, clock: FakeClock
) -> None:
    lena = staff_member(app, "staff-1", world.krnjaca)
    lena.tap_data(staff_sessions.SESSION.data(world.it))
    lena.tap("Titles in other languages")
    assert "No titles in other languages yet." in lena.last
    lena.tap("فارسی")
    assert "Please type the title in فارسی / دری." in lena.last
    lena.send("   ")  # nothing typed: refused, nothing stored
    assert "must not be empty" in lena.last
    lena.send("آموزش کامپیوتر برای مبتدیان")
    assert "The title in فارسی / دری is saved." in lena.last
    assert "✅ فارسی / دری" in lena.labels()
    reader = resident(app, "reader-fa")
    reader.send("/language")
    reader.tap("فارسی")
    reader.tap_data(booking.DETAILS.data(world.it))
    assert "آموزش کامپیوتر برای مبتدیان" in reader.last
    lena.tap("فارسی")
    lena.tap("Remove this title")
    assert "The title in فارسی / دری is removed." in lena.last
    assert session_row(app, world.it).titles == "{}"
    # Renaming to a known kind's title in any catalog: every resident reads it in theirs.
    lena.tap_data(staff_sessions.TITLE.data(world.it))
    lena.send("Radionica šivenja")
    assert "Residents will read this title in their own language." in lena.last
    assert session_row(app, world.it).kind == "sewing"
    reader.tap_data(booking.DETAILS.data(world.it))
    assert "کارگاه خیاطی" in reader.last and "Radionica" not in reader.last
    assert ("session edited", "staff", world.krnjaca, f"session {world.it}: title (fa)") in audit(
        app
    )
