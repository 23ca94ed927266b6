"""Dialogues through the conversation, on SQLite and PostgreSQL, with the database checked after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from bot.app import App
from flows.clock import FakeClock
from flows.events import Address
from storage import queries as q
from storage.models import Booking, LedgerEntry, Person
from tests.dialogue import Resident
from tests.owed import owed
from tests.seeding import World, seed


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str, language: str | None = "en") -> Resident:
    return Resident(app.conversation, key, language)


def people(app: App) -> int:
    with app.database.session() as db:
        return q.count_people(db)


def bookings(app: App) -> list[tuple[int, int, str, int]]:
    with app.database.session() as db:
        rows = db.exec(select(Booking).order_by(Booking.id)).all()  # type: ignore[arg-type]
        return [(b.session_id, b.person_id, b.status, b.queue_no) for b in rows]


def onboard(app: App, key: str, language: str = "en", label: str = "English") -> Resident:
    person = resident(app, key, language)
    person.send("/start krnjaca")
    person.tap(label)
    person.tap_data(person.button("✅"))
    return person


def test_onboarding_from_a_centre_link_stores_nothing_until_agreement(
    app: App, world: World
) -> None:
    amina = resident(app, "1001", language="ar")
    amina.send("/start krnjaca")
    # A few languages at once, the app's language offered first, each in its own name.
    assert amina.labels()[:3] == ["العربية", "English", "فارسی / دری"]
    assert people(app) == 0

    amina.tap("العربية")
    assert "Krnjača" in amina.last
    assert people(app) == 0

    amina.tap("✅")
    assert people(app) == 1
    with app.database.session() as db:
        person = db.exec(select(Person)).one()
        assert person.locale == "ar"
        assert person.centre_id == world.krnjaca
        # Found by a keyed hash; the platform id is stored only encrypted.
        assert "1001" not in person.key_hash and "1001" not in person.address_enc
        assert app.vault.open(person.address_enc) == "1001"
    # The same person is found again by hash (and only on their own channel):
    with app.database.session() as db:
        assert q.find_person(db, app.vault, "telegram", "1001") is not None
        assert q.find_person(db, app.vault, "viber", "1001") is None


def test_start_without_a_link_asks_for_the_centre(app: App, world: World) -> None:
    sam = resident(app, "1002", language=None)
    sam.send("/start")
    assert "English" in sam.labels()
    sam.tap("More languages")
    sam.tap("Srpski")
    assert sam.labels()[:2] == ["Krnjača", "Obrenovac"]
    sam.tap("Obrenovac")
    sam.tap("✅")
    with app.database.session() as db:
        person = db.exec(select(Person)).one()
        assert (person.locale, person.centre_id) == ("sr_Latn", world.obrenovac)


def test_help_works_without_agreeing_and_stores_nothing(app: App, world: World) -> None:
    lina = resident(app, "1003")
    lina.send("/help")
    assert "192" in lina.last and "194" in lina.last
    lina.send("/start krnjaca")
    lina.tap("Help")
    assert "192" in lina.last
    assert "+381 11 000 0101" in lina.last  # the centre from the link
    assert people(app) == 0


def test_declining_stores_nothing(app: App, world: World) -> None:
    omar = resident(app, "1004")
    omar.send("/start krnjaca")
    omar.tap("English")
    omar.tap("No, thank you")
    assert "Nothing about you was saved" in omar.last
    assert people(app) == 0


def test_upcoming_workshops_show_only_bookable_sessions_in_local_time(
    app: App, world: World
) -> None:
    amina = onboard(app, "1010")
    amina.tap("Upcoming workshops")
    text = amina.last
    assert "Sewing workshop" in text and "IT basics" in text
    assert "Yesterday's art" not in text  # already started
    assert "Cancelled football" not in text
    assert "Obrenovac sewing" not in text  # another centre
    # 08:00 UTC + 26 h = 10:00 UTC on Wednesday = 11:00 in Belgrade.
    assert "Wed, Dec 2, 11:00" in text
    assert "12 seats left" in text and "2 seats left" in text
    assert "Languages: Arabic and Persian" in text  # as the reader's language names them


def test_booking_double_taps_waitlist_and_handing_on_a_seat(app: App, world: World) -> None:
    a, b, c = (onboard(app, key) for key in ("2001", "2002", "2003"))
    for person in (a, b):
        person.tap("Upcoming workshops")
        person.tap("IT basics")
        person.tap("Book a seat")
        assert "Your seat is booked" in person.last
    a.tap_data(f"B:{world.it}")  # a second tap on the same button
    assert "You already have a seat" in a.last

    c.tap("Upcoming workshops")
    assert "No seats left. You can join the waitlist." in c.last
    c.tap("IT basics")
    c.tap("Join the waitlist")
    assert "number 1 on the waitlist" in c.last
    c.tap_data(f"B:{world.it}")
    assert "already on the waitlist, number 1" in c.last
    assert [s for s, _, status, _ in bookings(app) if status == "confirmed"] == [world.it] * 2

    a.tap("My bookings")
    assert "IT basics" in a.last
    a.tap("Cancel")
    assert "Do you want to cancel your seat?" in a.last  # asked once
    a.tap("Yes, cancel")
    assert "Your booking is cancelled" in a.last
    assert a.last_outcome is not None and a.last_outcome.notify
    statuses = {person: status for _, person, status, _ in bookings(app)}
    assert list(statuses.values()) == ["cancelled", "confirmed", "confirmed"]

    sent = owed(app)
    assert len(sent) == 1 and sent[0].outgoing is not None
    assert sent[0].outgoing.address == Address("telegram", "2003")
    assert "a seat became free and it is yours" in sent[0].outgoing.reply.text
    assert owed(app) == []  # claimed once, never again

    a.tap_data(a.replies[-2].buttons[0][0].payload)  # the stale "yes, cancel" again
    assert "already cancelled" in a.last


def test_the_seat_offer_is_written_in_the_receivers_language(app: App, world: World) -> None:
    english = onboard(app, "2101")
    arabic = onboard(app, "2102", language="ar", label="العربية")
    with app.database.session() as db:
        pa = q.find_person(db, app.vault, "telegram", "2101")
        pb = q.find_person(db, app.vault, "telegram", "2102")
        assert pa and pb and pa.id and pb.id
        q.book(
            db, person_id=pa.id, session_id=world.it, centre_id=world.krnjaca, now=app.clock.now()
        )
        q.book(
            db, person_id=pb.id, session_id=world.it, centre_id=world.krnjaca, now=app.clock.now()
        )
        other = q.add_centre(
            db,
            slug="x",
            name="X",
            kind="asylum",
            timezone="Europe/Belgrade",
            contact=None,
            now=app.clock.now(),
        )
        assert other.id
    # Fill the session so the Arabic reader waits, then free a seat.
    third = onboard(app, "2103")
    third.tap_data(f"B:{world.it}")
    assert "full" in third.last
    english.tap("My bookings")
    english.tap("Cancel")
    english.tap("Yes, cancel")
    sent = owed(app)
    assert [o.outgoing.address.user_key for o in sent if o.outgoing] == ["2103"]
    del arabic


def test_forged_and_stale_buttons_change_nothing(app: App, world: World) -> None:
    mallory = onboard(app, "3001")
    victim = onboard(app, "3002")
    victim.tap_data(f"B:{world.sewing}")
    before = bookings(app)
    victim_booking = next(row for row in before if row[0] == world.sewing)
    with app.database.session() as db:
        booking_id = db.exec(select(Booking.id)).one()

    for forged in (
        f"X:{booking_id}",  # someone else's booking
        "B:999999",  # a session that does not exist
        f"B:{world.past}",  # started already
        f"B:{world.cancelled}",  # cancelled by the operator
        f"B:{world.elsewhere}",  # another centre's session
        "B:abc",
        "S:-1",
        "ZZ:1",
        "DEL",  # erasing without having asked to
        "L:xx",
        "C:424242",
        "x" * 200,
        "",
    ):
        mallory.tap_data(forged)
        assert mallory.replies[-1].buttons, f"no way forward after {forged!r}"
        assert "Traceback" not in mallory.last
    assert bookings(app) == before
    assert victim_booking in bookings(app)
    assert people(app) == 2


def test_forged_buttons_before_agreement_store_nothing(app: App, world: World) -> None:
    eve = resident(app, "3003")
    for forged in ("A:xx:1", f"A:en:{999}", "A:en", "L:zz:1", "A:en:abc", "M", "B:1"):
        eve.tap_data(forged)
        assert eve.replies[-1].buttons
    assert people(app) == 0


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        ("hello?", "did not understand"),
        ("x" * 10_000, "too long"),
        ("/nonsense", "do not know that command"),
    ],
)
def test_unknown_input_gets_a_kind_answer_and_the_menu(
    app: App, world: World, send: str, expected: str
) -> None:
    amina = onboard(app, "4001")
    before = bookings(app)
    amina.send(send)
    assert expected in amina.last
    assert amina.has_button("Upcoming workshops")
    assert bookings(app) == before


def test_stickers_photos_voice_and_location_get_an_answer(app: App, world: World) -> None:
    amina = onboard(app, "4002", language="ar", label="العربية")
    for kind in ("sticker", "photo", "voice", "location"):
        amina.send_unsupported(kind)
        assert amina.replies[-1].rtl
        assert amina.replies[-1].buttons
    newcomer = resident(app, "4003")
    newcomer.send_unsupported("sticker")
    assert newcomer.has_button("English")
    assert people(app) == 1


@pytest.mark.parametrize("slug", ["nowhere", "KRNJ@CA", "a" * 80, "../etc"])
def test_unknown_or_malformed_centre_links(app: App, world: World, slug: str) -> None:
    sam = resident(app, "5001")
    sam.send(f"/start {slug}")
    # A newcomer is asked their language first, then the centre in that language.
    assert "Please choose your language" in sam.last
    sam.tap("More languages")
    sam.tap("Srpski")
    assert sam.has_button("Krnjača") and "centru" in sam.last
    assert people(app) == 0
    known = onboard(app, "5002")
    known.send(f"/start {slug}")
    assert "could not find that centre" in known.last
    assert known.has_button("Krnjača")


def test_commands_language_and_centre_changes(app: App, world: World) -> None:
    amina = onboard(app, "6001")
    amina.send("/language")
    amina.tap("Srpski")
    assert "Jezik" in amina.last or amina.replies[-1].text != ""
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "telegram", "6001")
        assert person is not None and person.locale == "sr_Latn"
    amina.send("/start obrenovac")  # a new centre's link moves the person there
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "telegram", "6001")
        assert person is not None and person.centre_id == world.obrenovac
    amina.send("/menu")
    assert amina.replies[-1].buttons


def test_mydata_and_delete_erase_the_person_and_hand_on_their_seat(app: App, world: World) -> None:
    a = onboard(app, "7001")
    b = onboard(app, "7002")
    c = onboard(app, "7003")
    for person in (a, b, c):
        person.tap_data(f"B:{world.it}")
    a.send("/mydata")
    assert "1 booking" in a.last and "English" in a.last
    a.send("/delete")
    a.tap("Yes, delete")
    assert "Everything is deleted" in a.last
    assert people(app) == 2
    statuses = sorted(status for _, _, status, _ in bookings(app))
    assert statuses == ["confirmed", "confirmed"]  # c took a's seat
    with app.database.session() as db:
        assert db.exec(select(func.count()).select_from(LedgerEntry)).one() == 1
    a.send("/menu")  # after erasure they are a newcomer again
    assert a.has_button("English")


def test_dates_follow_the_centre_time_zone_across_daylight_saving(
    app: App, world: World, clock: FakeClock
) -> None:
    amina = onboard(app, "8001")
    with app.database.session() as db:
        summer = q.add_session(
            db,
            centre_id=world.krnjaca,
            title="Summer picnic",
            starts_at=clock.now() + timedelta(days=200),
            minutes=60,
            capacity=5,
            languages=[],
            place=None,
            now=clock.now(),
        )
    amina.tap_data(f"S:{summer.id}")
    # 08:00 UTC in June is 10:00 in Belgrade (UTC+2), not 09:00.
    assert "10:00" in amina.last and "Jun" in amina.last


def test_a_person_who_writes_again_is_reachable_again(app: App, world: World) -> None:
    amina = onboard(app, "9001")
    with app.database.session() as db:
        q.set_reachable(db, app.vault, "telegram", "9001", reachable=False)
    amina.send("/menu")
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "telegram", "9001")
        assert person is not None and not person.unreachable


# --- what a new resident ran into ---------------------------------------------------------------


def add_sessions(app: App, centre: int, count: int, *, start_hours: float = 30) -> list[int]:
    ids = []
    with app.database.session() as db:
        for n in range(count):
            session = q.add_session(
                db, centre_id=centre, title=f"Class {n:02d}",
                starts_at=app.clock.now() + timedelta(hours=start_hours + n), minutes=60,
                capacity=5, languages=[], place=None, now=app.clock.now(),
            )  # fmt: skip
            assert session.id is not None
            ids.append(session.id)
    return ids


def test_every_upcoming_session_is_reachable_page_by_page(app: App, world: World) -> None:
    add_sessions(app, world.krnjaca, 14)  # with the seeded ones: 16 bookable
    amina = onboard(app, "10001")
    amina.tap("Upcoming workshops")
    seen = set()
    pages = 0
    while True:
        pages += 1
        seen |= {label for label in amina.labels() if ":" in label and "Class" in label}
        assert "of 16" in amina.last
        if not amina.has_button("Later"):
            break
        amina.tap("Later")
    assert pages == 3 and len(seen) == 14
    amina.tap("Earlier")
    assert "Workshops 7 to 12 of 16" in amina.last
    amina.tap_data("W:99")  # a page past the end shows the last one
    assert "Workshops 13 to 16 of 16" in amina.last


def test_dates_in_another_year_show_the_year(app: App, world: World, clock: FakeClock) -> None:
    amina = onboard(app, "10002")
    with app.database.session() as db:
        later = q.add_session(
            db, centre_id=world.krnjaca, title="New year party",
            starts_at=clock.now() + timedelta(days=40), minutes=60, capacity=5,
            languages=[], place=None, now=clock.now(),
        )  # fmt: skip
    amina.tap_data(f"S:{later.id}")
    assert "Jan 10, 2027" in amina.last  # next year: said
    amina.tap_data(f"S:{world.sewing}")
    assert "2026" not in amina.last  # this year: not


def test_mydata_counts_what_is_active_and_names_each_centre(app: App, world: World) -> None:
    amina = onboard(app, "10003")
    amina.tap_data(f"B:{world.sewing}")
    amina.tap_data(f"B:{world.it}")
    amina.send("/mydata")
    assert "2 bookings" in amina.last
    amina.tap("Menu")
    amina.tap("My bookings")
    amina.tap("IT basics")  # the cancel button names the workshop
    amina.tap("Yes, cancel")
    amina.send("/start obrenovac")  # she moves; her Krnjača booking stays
    amina.send("/mydata")
    assert "1 booking" in amina.last and "Sewing workshop" in amina.last
    assert "Krnjača" in amina.last  # the booking's centre, not only her current one
    amina.tap("Menu")
    amina.tap("My bookings")
    assert "🏠 Krnjača" in amina.last  # named because it is not her current centre
    labels = amina.labels()
    assert any("Sewing workshop" in label for label in labels if label.startswith("❌"))


def test_cancelling_is_asked_once_and_no_keeps_the_seat(app: App, world: World) -> None:
    amina = onboard(app, "10004")
    amina.tap_data(f"B:{world.it}")
    amina.tap("My bookings")
    amina.tap("IT basics")
    assert "Do you want to cancel your seat?" in amina.last
    amina.tap("No, keep it")
    assert "Your bookings" in amina.last
    assert [status for *_, status, _ in bookings(app)] == ["confirmed"]


def test_after_delete_old_buttons_lead_to_the_start(app: App, world: World) -> None:
    amina = onboard(app, "10005")
    amina.send("/delete")
    amina.tap("Yes, delete")
    amina.tap_data("M")  # the terminal chat's "2" taps a button of an old message
    assert "Please choose your language" in amina.last
    assert "no longer valid" not in amina.said()
    assert people(app) == 0


def test_mydata_and_delete_from_someone_unknown_say_nothing_is_kept(app: App, world: World) -> None:
    stranger = resident(app, "10006")
    stranger.send("/mydata")
    assert any("keeps nothing about you" in r.text for r in stranger.replies)
    stranger.send("/delete")
    assert "keeps nothing about you" in stranger.last
    assert people(app) == 0


def test_right_to_left_help_isolates_numbers_and_lists_use_arabic_commas(
    app: App, world: World
) -> None:
    amina = onboard(app, "10007", language="ar", label="العربية")
    amina.send("/help")
    assert "\u2068192\u2069" in amina.last and "\u2068112\u2069" in amina.last
    amina.tap_data(f"S:{world.sewing}")
    plain = amina.last.replace("\u2068", "").replace("\u2069", "")
    assert "اللغات: العربية والفارسية" in plain  # Arabic names, Arabic "and", once each
    assert amina.labels()[-1].startswith("➡️")  # "back" points the way Arabic reads from
