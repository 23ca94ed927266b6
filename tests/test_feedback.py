"""Anonymous feedback after a workshop (flows/feedback.py), on SQLite and PostgreSQL: the
questionnaire, once per booking, skips, trimmed comments, forged and late buttons, and the
database afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import App
from flows import booking, feedback
from flows.clock import FakeClock
from storage import queries as q
from storage.models import Booking, Feedback
from tests.dialogue import Resident, counts
from tests.seeding import World, seed


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str, language: str = "en", label: str = "English") -> Resident:
    person = Resident(app.conversation, key, language)
    person.send("/start krnjaca")
    person.tap(label)
    person.tap_data(person.button("✅"))
    return person


def took_part(app: App, clock: FakeClock, world: World, *people: Resident) -> None:
    """They booked the sewing workshop (tomorrow), and it ended an hour ago."""
    for person in people:
        person.tap_data(booking.BOOK.data(world.sewing))
    clock.advance(timedelta(hours=26 + 1.5 + 1))


def rows(app: App) -> list[Feedback]:
    with app.database.session() as db:
        return list(db.exec(select(Feedback)).all())


def given(app: App, session_id: int) -> list[bool]:
    with app.database.session() as db:
        found = db.exec(select(Booking).where(Booking.session_id == session_id)).all()
        return [b.feedback_given for b in found]


def test_a_participant_answers_skips_and_comments_and_only_totals_are_kept(
    app: App, clock: FakeClock, world: World
) -> None:
    amina = resident(app, "2001")
    took_part(app, clock, world, amina)
    amina.send("/feedback")
    assert "stored without your name" in amina.last
    assert "at least 5 people" in amina.last
    assert "Question 1 of 4" in amina.last
    assert amina.labels()[:5] == ["😞", "🙁", "😐", "🙂", "😄"]
    amina.tap("🙂")
    assert "Question 2 of 4" in amina.last
    amina.tap("Skip")
    amina.tap("Maybe")
    assert "Question 4 of 4" in amina.last
    assert rows(app) == []  # nothing is written before the end
    amina.send("It helped me sleep.\x07 Thank you\u202e")
    assert "Thank you! Your answers were saved" in amina.last
    [row] = rows(app)
    assert row.answers == "again=maybe;useful=4"
    assert row.comment == "It helped me sleep. Thank you"
    assert row.workshop == "Sewing workshop" and row.week == "2026-W49"
    assert len(row.id) == 32
    assert given(app, world.sewing) == [True]

    # Once per booking: another try is told kindly, and nothing more is stored.
    amina.send("/feedback")
    assert "no workshop to give feedback on" in amina.last
    amina.tap_data(feedback.START.data(_booking_of(app, world.sewing, amina)))
    assert "already received your feedback" in amina.last
    assert len(rows(app)) == 1


def test_a_long_comment_is_trimmed_and_the_person_is_told(
    app: App, clock: FakeClock, world: World
) -> None:
    sam = resident(app, "2002")
    took_part(app, clock, world, sam)
    sam.send("/feedback")
    for _ in range(3):
        sam.tap("Skip")
    sam.send("x" * 10_000)
    assert "only the first 500 characters were kept" in sam.last
    [row] = rows(app)
    assert row.comment == "x" * 500 and row.answers == ""


def test_forged_late_and_double_taps_change_nothing(
    app: App, clock: FakeClock, world: World
) -> None:
    amina, sam = resident(app, "2003"), resident(app, "2004")
    took_part(app, clock, world, amina, sam)
    before = counts(amina)
    # Someone else's booking: treated as a button that is not valid.
    amina.tap_data(feedback.START.data(_booking_of(app, world.sewing, sam)))
    assert "no longer valid" in amina.last
    amina.tap_data(feedback.ANSWER.data(_booking_of(app, world.sewing, sam), 0, 1))
    assert "no longer valid" in amina.last
    # A booking on a session that has not happened: not yet.
    amina.tap_data(booking.BOOK.data(world.it))
    amina.tap_data(feedback.START.data(_booking_of(app, world.it, amina)))
    assert "once the workshop has ended" in amina.last

    amina.send("/feedback")
    first = amina.button("😄")
    amina.tap_data(first)
    amina.tap_data(first)  # the same face twice: the second is not a second answer
    assert "already answered" in amina.last and "Question 2 of 4" in amina.last
    amina.send("/menu")  # leaves the questionnaire: the answers so far are gone
    amina.tap_data(feedback.ANSWER.data(_booking_of(app, world.sewing, amina), 1, 1))
    assert "questionnaire was closed" in amina.last
    assert rows(app) == []
    assert given(app, world.sewing) == [False, False]

    # Seven days after the end, no more.
    clock.advance(timedelta(days=7))
    amina.tap_data(feedback.START.data(_booking_of(app, world.sewing, amina)))
    assert "closed" in amina.last
    assert counts(amina)["people"] == before["people"]


def _booking_of(app: App, session_id: int, person: Resident) -> int:
    with app.database.session() as db:
        found = q.find_person(db, app.vault, person.channel, person.user_key)
        assert found is not None and found.id is not None
        mine = q.booking_for(db, found.id, session_id)
        assert mine is not None and mine.id is not None
        return mine.id
