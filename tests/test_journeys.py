"""The main resident journeys, written as dialogues: what the person does, what the bot must
say (and must not), and what the database holds afterwards. On SQLite and PostgreSQL.

Each step is ``(action, expected, after)``: the action is typed text, a /command, or
``("tap", label)``; ``expected`` are substrings of the answer (its texts and button labels);
``after`` is a check or counts such as ``{"people": 1, "confirmed": 1}``
(see :func:`tests.dialogue.counts`). When the wording changes, change the strings here.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import App
from flows.clock import FakeClock
from storage.models import Person
from tests.dialogue import Action, After, Expected, Resident, Step, verify_dialog
from tests.owed import owed
from tests.seeding import World, seed

NOTHING = {"people": 0, "bookings": 0}


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str, language: str | None = "en") -> Resident:
    return Resident(app.conversation, key, language)


def joins(already: int = 0) -> list[tuple[Action, Expected, After]]:
    """Scan Krnjača's poster, choose English, agree: stored only at the end."""
    before, after = {"people": already}, {"people": already + 1}
    return [
        ("/start krnjaca", ["Please choose your language", "[English]", "[🌐 More"], before),
        (("tap", "English"), ["Welcome to the workshops at Krnjača", "Do you agree?"], before),
        (("tap", "I agree"), ["You can now book workshops", "You are at Krnjača"], after),
    ]


def test_onboarding_from_a_centre_link_stores_nothing_until_agreement(
    app: App, world: World
) -> None:
    amina = resident(app, "1001", language="ar")

    def stored_as_arabic_at_krnjaca() -> None:
        with app.database.session() as db:
            person = db.exec(select(Person)).one()
        assert (person.locale, person.centre_id) == ("ar", world.krnjaca)
        assert "1001" not in person.address_enc + person.key_hash  # hashed and sealed

    verify_dialog(
        amina,
        [
            # Every language at once, the app's language first, each in its own name.
            ("/start krnjaca", ["اختر لغتك", "Please choose your language", "[العربية]"], NOTHING),
            (("tap", "العربية"), ["Krnjača", "[✅ "], NOTHING),
            (("tap", "✅"), "Krnjača", stored_as_arabic_at_krnjaca),
        ],
    )


def test_a_link_to_no_centre_asks_for_the_centre_in_the_chosen_language(
    app: App, world: World
) -> None:
    verify_dialog(
        resident(app, "1002", language=None),
        [
            ("/start", "Please choose your language", NOTHING),
            (("tap", "More languages"), ["[Srpski]", "[Українська]", "[کوردی]"], NOTHING),
            (("tap", "Srpski"), ["[Krnjača]", "[Obrenovac]"], NOTHING),
            (("tap", "Obrenovac"), "Obrenovac", NOTHING),
            (("tap", "✅"), "Obrenovac", {"people": 1}),
        ],
    )


def test_declining_stores_nothing(app: App, world: World) -> None:
    verify_dialog(
        resident(app, "1003"),
        [
            *joins()[:2],
            (("tap", "No, thank you"), ["Nothing about you was saved", "/start"], NOTHING),
            ("/mydata", "The bot keeps nothing about you", NOTHING),
            ("/start krnjaca", "Please choose your language", NOTHING),  # they may come back
        ],
    )


def test_help_before_agreement_works_and_stores_nothing(app: App, world: World) -> None:
    verify_dialog(
        resident(app, "1004"),
        [
            ("/help", ["Police: 192", "Ambulance: 194", "112"], NOTHING),
            ("/start krnjaca", "Please choose your language", NOTHING),
            (("tap", "Help"), ["192", "Staff at Krnjača: +381 11 000 0101"], NOTHING),
            (("tap", "Back"), "Do you agree?", NOTHING),
            ("sos", "192", NOTHING),
            (("send", "sticker"), "Please choose your language", NOTHING),
        ],
    )


def test_booking_a_seat(app: App, world: World) -> None:
    verify_dialog(
        resident(app, "2001"),
        [
            *joins(),
            Step(
                ("tap", "Upcoming workshops"),
                ["Sewing workshop", "IT basics", "2 seats left"],
                absent=["Yesterday's art", "Cancelled football", "Obrenovac sewing"],
            ),
            (("tap", "IT basics"), ["Thu, Dec 3, 11:00", "90 minutes", "[✅ Book a seat]"]),
            (("tap", "Book a seat"), "Your seat is booked", {"confirmed": 1}),
            (("data", f"B:{world.it}"), "You already have a seat", {"bookings": 1}),  # twice
            (("tap", "My bookings"), ["IT basics", "Cancel"]),
        ],
    )


def test_the_waitlist_and_handing_on_a_seat(app: App, world: World) -> None:
    first, second, third = (resident(app, key) for key in ("3001", "3002", "3003"))

    def to_it_basics(already: int) -> list[tuple[Action, Expected, After]]:
        return [
            *joins(already),
            (("tap", "Upcoming workshops"), "IT basics", {"people": already + 1}),
            (("tap", "IT basics"), "IT basics", {"bookings": already}),
        ]

    verify_dialog(first, [*to_it_basics(0), (("tap", "Book a seat"), "Your seat is booked")])
    verify_dialog(second, [*to_it_basics(1), (("tap", "Book a seat"), "Your seat is booked")])
    verify_dialog(
        third,
        [
            *to_it_basics(2)[:-1],
            (("tap", "IT basics"), ["No seats left", "[⏳ Join the waitlist]"]),
            (("tap", "Join the waitlist"), "number 1 on the waitlist", {"waitlisted": 1}),
        ],
    )
    assert owed(app) == []

    verify_dialog(
        first,
        [
            (("tap", "My bookings"), "IT basics"),
            (("tap", "Cancel"), ["Do you want to cancel your seat?", "[❌ Yes, cancel]"]),
            (("tap", "Yes"), "Your booking is cancelled", {"confirmed": 2, "waitlisted": 0}),
        ],
    )
    offers = [item.outgoing for item in owed(app) if item.outgoing is not None]
    assert [offer.address.user_key for offer in offers] == ["3003"]
    assert "a seat became free and it is yours" in offers[0].reply.text
    verify_dialog(third, [(("tap", "My bookings"), ["IT basics", "You have a seat"])])


def test_cancelling_is_asked_once_and_a_second_tap_changes_nothing(app: App, world: World) -> None:
    omar = resident(app, "4001")
    verify_dialog(
        omar,
        [
            *joins(),
            (("data", f"B:{world.sewing}"), "Your seat is booked", {"confirmed": 1}),
            (("tap", "My bookings"), "Sewing workshop"),
            (("tap", "Cancel"), "Sewing workshop", {"confirmed": 1}),  # asked, not done
            (("tap", "Yes"), "Your booking is cancelled", {"confirmed": 0, "cancelled": 1}),
            (("tap", "My bookings"), "You have no bookings"),
        ],
    )
    yes = omar.replies[-3].buttons[0][0].payload  # the "yes" of the question, tapped again
    verify_dialog(omar, [(("data", yes), "already cancelled", {"cancelled": 1})])


def test_mydata_then_delete_erases_everything_and_hands_on_the_seat(app: App, world: World) -> None:
    lina, next_in_line = resident(app, "5001"), resident(app, "5002")
    book_it = ("data", f"B:{world.it}")  # the button of the workshop, as in test_booking_a_seat
    verify_dialog(lina, [*joins(0), (book_it, "Your seat is booked")])
    verify_dialog(next_in_line, [*joins(1), (book_it, "Your seat is booked")])
    verify_dialog(resident(app, "5003"), [*joins(2), (book_it, "number 1 on the waitlist")])
    verify_dialog(
        lina,
        [
            (
                "/mydata",
                ["Language: English", "Centre: Krnjača", "1 booking", "IT basics"],
                {"people": 3},
            ),
            ("/delete", ["delete everything", "[🗑️ Yes, delete everything]"], {"people": 3}),
            Step(
                ("tap", "Yes, delete everything"),
                "Everything is deleted",
                absent="[",  # nothing to tap: they are gone
                after={"people": 2, "confirmed": 2, "waitlisted": 0, "owed": 1},
            ),
            ("/mydata", "The bot keeps nothing about you", {"people": 2}),
            ("/menu", "Please choose your language", {"people": 2}),  # a newcomer again
        ],
    )
