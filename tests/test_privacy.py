"""Privacy a person can see and control, help in distress, and keeping little: dialogues
through the conversation on SQLite and PostgreSQL, with the database checked after."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select as sql_select
from sqlmodel import SQLModel, select

import storage.models  # noqa: F401  (every table in the metadata)
from bot.app import App
from flows import booking, figures, privacy, retention
from flows.clock import FakeClock
from flows.events import Address, Incoming, Unsubscribed
from storage import queries as q
from storage.models import (
    AbuseReport,
    AuditEntry,
    Booking,
    BookingStatus,
    Broadcast,
    DistressCount,
    LedgerEntry,
    Person,
    SeenDelivery,
)
from tests.dialogue import Resident
from tests.owed import owed, sweep
from tests.seeding import World, seed
from tests.staffing import invitation, operator, staff_member

DISTRESS = Path(__file__).parent.parent / "flows" / "data" / "distress.toml"


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def onboard(app: App, key: str, language: str = "en", label: str = "English") -> Resident:
    person = Resident(app.conversation, key, language)
    person.send("/start krnjaca")
    person.tap(label)
    person.tap("✅")
    return person


def book(person: Resident, session_id: int) -> None:
    person.tap_data(booking.BOOK.data(session_id))
    assert "Sorry" not in person.last


def people(app: App) -> int:
    with app.database.session() as db:
        return q.count_people(db)


def person_of(app: App, key: str) -> Person:
    with app.database.session() as db:
        found = q.find_person(db, app.vault, "telegram", key)
        assert found is not None
        db.expunge(found)
        return found


def traces(app: App, person: Person, key: str) -> list[str]:
    """Everything in the database that still points to this person: a reference to their
    row, their platform id, key hash or tally token in any text, an encrypted column that
    opens to their platform id."""
    found = []
    with app.database.session() as db:
        for table in SQLModel.metadata.sorted_tables:
            refers = {
                fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "person"
            }
            for row in db.execute(sql_select(table)).mappings():
                for column, value in row.items():
                    where = f"{table.name}.{column}={value!r}"
                    own = column in refers or (table.name == "person" and column == "id")
                    named = isinstance(value, str) and _names(app, column, value, person, key)
                    if (own and value == person.id) or named:
                        found.append(where)
    return found


def _names(app: App, column: str, value: str, person: Person, key: str) -> bool:
    if any(part in value for part in (key, person.key_hash, person.tally_token)):
        return True
    return column.endswith("_enc") and _opens_to(app, value, key)


def _opens_to(app: App, sealed: str, key: str) -> bool:
    try:
        return key in app.vault.open(sealed)
    except Exception:
        return False


# --- /privacy and help, before anything is stored ---------------------------------------------


def test_privacy_and_help_before_agreeing_store_nothing(app: App, world: World) -> None:
    sam = Resident(app.conversation, "2001", "en")
    sam.send("/help")  # before even a language
    assert all(n in sam.last for n in ("192", "194", "193", "112"))
    assert "Centar Srce" in sam.last and "0800 300 303" in sam.last
    sam.send("/start krnjaca")
    sam.tap("English")
    sam.tap("Privacy")
    assert "Telegram and Viber also see this conversation" in sam.last
    assert "90 days" in sam.last
    sam.tap("Back")
    assert "Do you agree?" in sam.last  # back at the notice
    sam.send("/privacy")
    assert "Your privacy" in sam.last
    assert people(app) == 0


def test_someone_under_15_is_sent_to_staff_and_nothing_is_stored(app: App, world: World) -> None:
    kid = Resident(app.conversation, "2002", "en")
    kid.send("/start krnjaca")
    kid.tap("English")
    kid.tap("I am under 15")
    assert "ask the staff at your centre" in kid.last
    assert "Nothing about you was saved" in kid.last
    assert people(app) == 0
    kid.tap("Help")
    assert "+381 11 000 0101" in kid.last  # the centre's contact, from the link
    assert people(app) == 0


def test_help_shows_the_centres_contact_and_psychologist(app: App, world: World) -> None:
    with app.database.session() as db:
        centre = q.centre_by_id(db, world.krnjaca)
        assert centre is not None
        centre.psychologist = "Tuesday 10:00–14:00, room 3"
        db.add(centre)
    amina = onboard(app, "2003")
    amina.send("/menu")
    amina.tap("Help")
    assert "Psychologist at the centre: Tuesday 10:00–14:00, room 3" in amina.last
    assert "Staff at Krnjača: +381 11 000 0101" in amina.last
    assert amina.has_button("Report abuse")


# --- /mydata ------------------------------------------------------------------------------------


def test_mydata_shows_everything_held(app: App, world: World, clock: FakeClock) -> None:
    first = onboard(app, "2010")
    book(first, world.it)
    second = onboard(app, "2011")
    book(second, world.it)
    amina = onboard(app, "2012")
    book(amina, world.it)
    book(amina, world.sewing)
    with app.database.session() as db:  # a past session, attended, feedback given
        me = q.find_person(db, app.vault, "telegram", "2012")
        assert me is not None and me.id is not None
        now = clock.now()
        past = Booking(
            session_id=world.past, person_id=me.id, status="confirmed", ticket=1,
            attended_at=now, feedback_given=True, created_at=now, updated_at=now,
        )  # fmt: skip
        db.add(past)
    amina.send("/menu")
    amina.tap("Messages")
    amina.tap("Pause for two weeks")
    amina.send("/mydata")
    text = amina.last
    for expected in (
        "Language: English",
        "Centre: Krnjača",
        "Date you agreed",
        "Last time you used the bot",
        "paused until",
        "2 bookings",
        "Sewing workshop",
        "IT basics",
        "waitlist number 1",
        "Yesterday's art",
        "you came",
        "you gave feedback",
    ):
        assert expected in text, (expected, text)


# --- /delete ------------------------------------------------------------------------------------


def test_delete_leaves_nothing_and_hands_the_seat_on(app: App, world: World) -> None:
    first = onboard(app, "2020")
    book(first, world.it)
    other = onboard(app, "2021")
    book(other, world.it)
    waiting = onboard(app, "2022")
    book(waiting, world.it)
    first.send("/mydata")
    first.send("hello, just some words")
    me = person_of(app, "2020")
    assert traces(app, me, "2020")  # the scan finds them while they are here

    # A forged "yes" without having asked (or from someone else) erases nothing.
    first.tap_data(privacy.ERASE.data())
    other.tap_data(privacy.ERASE.data())
    assert people(app) == 3

    first.send("/delete")
    first.tap("Yes, delete everything")
    assert "Everything is deleted" in first.last
    assert people(app) == 2
    assert traces(app, me, "2020") == []
    # The seat went to the first person waiting, who is told.
    told = owed(app)
    assert [item.outgoing.address.user_key for item in told if item.outgoing] == ["2022"]
    with app.database.session() as db:
        statuses = db.exec(select(Booking.status).where(Booking.session_id == world.it)).all()
        assert sorted(statuses) == ["confirmed", "confirmed"]

    # Twice, or from someone the bot does not know: nothing to erase, said kindly.
    first.send("/delete")
    assert "The bot keeps nothing about you" in first.last
    first.tap_data(privacy.ERASE.data())
    stranger = Resident(app.conversation, "2029", "en")
    stranger.send("/delete")
    assert "The bot keeps nothing about you" in stranger.last
    assert people(app) == 2


# --- pause, stop, mute ---------------------------------------------------------------------------


def test_pause_stop_and_mute_hold_back_reminders_and_notices(
    app: App, world: World, clock: FakeClock
) -> None:
    names = {"2030": "nothing", "2031": "paused", "2032": "stopped", "2033": "muted"}
    for key in names:
        person = onboard(app, key)
        book(person, world.sewing)
        person.send("/menu")
        if names[key] == "paused":
            person.tap("Messages")
            person.tap("Pause for two weeks")
            assert "paused until" in person.last
        elif names[key] == "stopped":
            person.send("/stop")
            assert "stopped" in person.last
        elif names[key] == "muted":
            person.tap("My bookings")
            person.tap("No reminders")
            assert "You will get no reminders for Sewing workshop" in person.last

    clock.advance(timedelta(hours=2, minutes=1))  # the sewing workshop starts in 24 hours
    reminded = {c.outgoing.address.user_key for c in sweep(app.ledger) if c.outgoing}
    assert reminded == {"2030"}

    with app.database.session() as db:  # staff would see: 2 reachable, 2 who asked not
        assert q.audience_count(db, world.krnjaca, "centre", None, None, clock.now()) == (2, 2)

    # A paused person who writes is answered; and turning messages on again works.
    paused = Resident(app.conversation, "2031", "en")
    paused.send("/menu")
    assert "What would you like to do?" in paused.last
    paused.tap("Messages")
    paused.tap("Turn messages on again")
    assert "Messages are on again" in paused.last
    clock.advance(timedelta(hours=23, minutes=1))  # the 1-hour reminder
    reminded = {c.outgoing.address.user_key for c in sweep(app.ledger) if c.outgoing}
    assert reminded == {"2030", "2031"}


def test_viber_unsubscribe_stops_messages(app: App, world: World) -> None:
    viber = Resident(app.conversation, "vb-2040", "en", channel="viber")
    viber.send("/start krnjaca")
    viber.tap("English")
    viber.tap("✅")
    app.conversation.handle(Incoming(Address("viber", "vb-2040"), Unsubscribed()))
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "viber", "vb-2040")
        assert person is not None and person.stopped_at is not None and person.unreachable


# --- distress ------------------------------------------------------------------------------------


def _first_phrase(code: str) -> str:
    lists = tomllib.loads(DISTRESS.read_text(encoding="utf-8"))
    return str(lists[code]["phrases"][0])


@pytest.mark.parametrize(
    ("language", "label", "sentence", "answer"),
    [
        ("en", "English", "I am so tired. I want to kill myself, nobody helps.", "not alone"),
        ("sr_Latn", "Srpski", "Umorna sam... Ubiću se, niko mi ne pomaže.", "192"),
        ("ar", "العربية", "أنا متعب جدا، أريد أن أنتحر الليلة.", "112"),
    ],
)
def test_distress_gets_who_can_help_and_only_a_count_is_kept(
    app: App, world: World, language: str, label: str, sentence: str, answer: str
) -> None:
    person = onboard(app, "2050", language, label)
    person.send(sentence)
    assert answer in person.last
    assert "192" in person.last and "194" in person.last
    with app.database.session() as db:
        counted = db.exec(select(DistressCount)).all()
        assert [(c.centre_id, c.count) for c in counted] == [(world.krnjaca, 1)]
    me = person_of(app, "2050")
    assert traces(app, me, sentence[:20]) == [] or all(
        "key_hash" in t or "person." in t or ".person_id=" in t for t in traces(app, me, "\0")
    )
    with app.database.session() as db:  # the message itself is nowhere
        for table in SQLModel.metadata.sorted_tables:
            for row in db.execute(sql_select(table)):
                assert not any(isinstance(v, str) and sentence[5:25] in v for v in row)
    # Words that only look alike do not trigger it.
    person.send("I learn new skills, I am on a diet, and I like to dobiti prize.")
    assert "not alone" not in person.last
    with app.database.session() as db:
        assert sum(c.count for c in db.exec(select(DistressCount))) == 1


def test_distress_before_choosing_a_language(app: App, world: World) -> None:
    newcomer = Resident(app.conversation, "2060", "en")
    newcomer.send(f"please {_first_phrase('en')} now")
    assert "This bot is not a counsellor" in newcomer.last
    assert people(app) == 0
    with app.database.session() as db:
        assert [(c.centre_id, c.count) for c in db.exec(select(DistressCount))] == [(0, 1)]


# --- abuse reports -----------------------------------------------------------------------------


def test_an_abuse_report_reaches_only_the_focal_point(app: App, world: World) -> None:
    staff = staff_member(app, "2070", world.krnjaca, "staff")
    focal = Resident(app.conversation, "2071", "en")
    focal.send(f"/start staff-{invitation(app, 'focal', world.krnjaca)}")
    focal.tap("I agree")
    assert "protection focal point at Krnjača" in focal.last
    assert "Reports of abuse or misconduct will reach you here" in focal.last
    assert not focal.has_button("Staff tools")  # no staff tools: only reports
    amina = onboard(app, "2072")
    amina.send("/help")
    amina.tap("Report abuse")
    amina.tap("Yes, anonymous")
    amina.send("A guard shouted at my son and pushed him.")
    assert "Send this report" in amina.last
    send = amina.button("Send")
    amina.tap_data(send)
    assert "Your report is on its way" in amina.last
    amina.tap_data(send)  # a second tap sends nothing more
    assert "no longer valid" in amina.last
    with app.database.session() as db:
        report = db.exec(select(AbuseReport)).one()
        assert "guard" not in report.text_enc  # encrypted
    told = owed(app)
    assert [item.outgoing.address.user_key for item in told if item.outgoing] == ["2071"]
    text = told[0].outgoing.reply.text if told[0].outgoing else ""
    assert "A guard shouted at my son" in text and "anonymous" in text
    with app.database.session() as db:  # kept only until received
        assert db.exec(select(AbuseReport)).all() == []
    assert staff.last == staff.replies[-1].text  # nothing new reached ordinary staff


def test_no_focal_point_means_no_report_is_taken(app: App, world: World) -> None:
    amina = onboard(app, "2080")
    amina.send("/report")
    assert "Reports cannot be received through the bot yet" in amina.last
    assert "192" in amina.last


# --- retention ------------------------------------------------------------------------------------


def _figures(app: App, as_of: datetime) -> list[tuple[Any, ...]]:
    with app.database.session() as db:
        centres = q.list_centres(db)
        period = figures.Period(datetime(2026, 1, 1).date(), datetime(2028, 1, 1).date())
        counts = figures.counts(db, period, centres, as_of)
        return [
            (key, t.held, t.booked, t.attended, t.distinct, t.promoted, t.feedback, t.cancelled)
            for key, t in sorted(counts.rows.items())
        ] + [(counts.total.distinct, counts.total.attended)]


def test_retention_keeps_the_figures_and_forgets_people(
    app: App, world: World, clock: FakeClock
) -> None:
    regular = onboard(app, "2090")
    book(regular, world.sewing)
    idle = onboard(app, "2091")
    book(idle, world.sewing)
    giver = person_of(app, "2090").id
    with app.database.session() as db:  # both came; one gave feedback
        for row in db.exec(select(Booking)):
            row.attended_at = clock.now() + timedelta(hours=26)
            row.feedback_given = row.person_id == giver
            db.add(row)
        q.audit(db, now=clock.now(), actor="cli", role="operator", action="test", centre_id=None)
    clock.advance(timedelta(days=3))  # every session seeded has started
    sweep(app.ledger)
    as_of = clock.now()
    before = _figures(app, as_of)
    assert before[-1] == (2, 2)

    clock.advance(timedelta(days=60))
    regular.send("/menu")  # the regular keeps using the bot
    clock.advance(timedelta(days=31))  # the sessions started 91 days ago
    done = retention.run(app.database, clock, retention.Policy(days=90))
    assert done.bookings == 2 and done.people == 1
    assert _figures(app, as_of) == before  # the counts did not change
    assert people(app) == 1
    with app.database.session() as db:
        assert db.exec(select(Booking)).all() == []
        assert db.exec(select(LedgerEntry)).all() == []
        assert db.exec(select(SeenDelivery)).all() == []
        assert len(db.exec(select(AuditEntry)).all()) == 1  # kept for a year
    clock.advance(timedelta(days=366))
    regular.send("/menu")
    retention.run(app.database, clock, retention.Policy(days=90))
    with app.database.session() as db:
        assert db.exec(select(AuditEntry)).all() == []
    assert _figures(app, as_of) == before  # still


def test_a_status_the_retention_sees_as_waitlisted_is_not_counted(app: App, world: World) -> None:
    """Reduced bookings count seats as the live ones do: confirmed only."""
    with app.database.session() as db:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        person = q.create_person(db, app.vault, channel="telegram", user_key="2099",
                                 locale="en", centre_id=world.krnjaca, now=now)  # fmt: skip
        assert person.id is not None
        waiting = Booking(
            session_id=world.past, person_id=person.id, status=BookingStatus.WAITLISTED,
            created_at=now, updated_at=now,
        )  # fmt: skip
        db.add(waiting)
        db.flush()
        before = q.session_tallies(db, now - timedelta(days=3650), now + timedelta(days=3650))
        ids = q.old_booking_ids(db, now + timedelta(days=3650))
        q.archive_bookings(db, ids)
        after = q.session_tallies(db, now - timedelta(days=3650), now + timedelta(days=3650))
        assert sorted(before, key=lambda t: t.session_id) == sorted(
            after, key=lambda t: t.session_id
        )


def test_a_report_not_sent_is_encrypted_and_discarded_on_cancel(app: App, world: World) -> None:
    staff_member(app, "2085", world.krnjaca, "staff")
    focal = Resident(app.conversation, "2086", "en")
    focal.send(f"/start staff-{invitation(app, 'focal', None)}")  # for every centre
    focal.tap("I agree")
    amina = onboard(app, "2087")
    amina.send("/report")
    amina.tap("No, I want to be contacted")
    assert "Write how the focal point can reach you" in amina.last
    amina.send("Someone took my papers. Room 7.")
    with app.database.session() as db:  # a draft, sealed; the conversation keeps only its id
        draft = db.exec(select(AbuseReport)).one()
        assert draft.sent_at is None and "papers" not in draft.text_enc
        me = q.find_person(db, app.vault, "telegram", "2087")
        assert me is not None and "papers" not in me.state_data
    amina.tap("Cancel")
    assert "Nothing was sent" in amina.last
    with app.database.session() as db:
        assert db.exec(select(AbuseReport)).all() == []
    assert owed(app) == []


def test_retention_forgets_old_notices_and_unsent_reports(
    app: App, world: World, clock: FakeClock
) -> None:
    now = clock.now()
    with app.database.session() as db:
        for state, age in (("done", 91), ("cancelled", 91), ("done", 10), ("scheduled", 91)):
            db.add(
                Broadcast(
                    centre_id=world.krnjaca, author="cli", audience="centre", base_locale="en",
                    texts='{"en": "Amina, please come to the office."}', state=state,
                    send_at=now - timedelta(days=age), created_at=now - timedelta(days=age),
                    finished_at=now - timedelta(days=age) if state == "done" else None,
                )
            )  # fmt: skip
        db.add(AbuseReport(text_enc="x", created_at=now - timedelta(days=2)))  # a draft
        db.add(AbuseReport(text_enc="y", created_at=now - timedelta(hours=2)))
        sent = now - timedelta(days=2)
        db.add(AbuseReport(text_enc="z", created_at=sent, sent_at=sent))
    done = retention.run(app.database, clock, retention.Policy(days=90))
    assert done.notices == 2 and done.reports == 1
    with app.database.session() as db:
        assert sorted(b.state for b in db.exec(select(Broadcast))) == ["done", "scheduled"]
        assert sorted(r.text_enc for r in db.exec(select(AbuseReport))) == ["y", "z"]


def test_staff_and_operators_set_what_help_says_about_the_centre(
    app: App, world: World, tmp_path: Path
) -> None:
    lena = staff_member(app, "2095", world.krnjaca, "staff")
    lena.tap("Help details")
    assert "Contact: +381 11 000 0101" in lena.last and "Psychologist: -" in lena.last
    lena.tap("Change the psychologist's hours")
    lena.send("Tuesday\nThursday")  # one line only: asked again, nothing changed
    assert "must be one line" in lena.last
    lena.send("Tuesday and Thursday 10:00–14:00, room 3")
    assert "Saved." in lena.last and "Psychologist: Tuesday and Thursday" in lena.last
    lena.tap("Change the contact")
    lena.send("-")
    assert "Contact: -" in lena.last
    amina = onboard(app, "2096")
    amina.send("/help")
    assert "Psychologist at the centre: Tuesday and Thursday 10:00–14:00, room 3" in amina.last
    assert "+381 11 000 0101" not in amina.last
    # A resident cannot reach the screen by forging its button.
    amina.tap_data("CH")
    assert "Psychologist:" not in amina.last

    done = operator(app, tmp_path, "centre", "help", "krnjaca", "--contact", "+381 11 222 333")
    assert done.returncode == 0, done.stderr
    assert "contact +381 11 222 333" in done.stdout and "Tuesday and Thursday" in done.stdout
    amina.send("/help")
    assert "Staff at Krnjača: +381 11 222 333" in amina.last
    refused = operator(app, tmp_path, "centre", "help", "krnjaca")
    assert refused.returncode == 2 and "nothing to change" in refused.stderr
    with app.database.session() as db:
        actions = [e.action for e in db.exec(select(AuditEntry))]
        assert actions.count("centre help set") == 3
