"""Sequences the stateful property test (tests/test_properties.py) found, replayed exactly as
plain tests so they stay fixed. Each says what went wrong and what the fix was."""

from __future__ import annotations

import pytest

from bot.app import App
from flows.clock import FakeClock
from flows.events import Address, Choice, Event, Incoming, from_text
from flows.replies import Reply
from tests.seeding import SmallWorld, small_world


@pytest.fixture
def world(app: App, clock: FakeClock) -> SmallWorld:
    return small_world(app.database, clock.now())


def send(app: App, who: Address, event: Event, hint: str | None) -> list[Reply]:
    replies = app.conversation.handle(Incoming(who, event, hint)).replies
    assert replies, f"no answer to {event!r}"
    return replies


def test_delete_from_someone_never_stored_offers_a_way_on(app: App, world: SmallWorld) -> None:
    """Found: /delete (and /mydata) from someone the bot does not know answered "The bot keeps
    nothing about you. To book workshops, send /start." with no button: a dead end for
    someone who reads little. Fixed in flows/privacy.py: a "Start again" button."""
    english, serbian = Address("telegram", "1002"), Address("viber", "1001")
    arabic = Address("telegram", "1001")
    obrenovac, first_there = world.centres[1], world.sessions[-2]
    for who, hint, locale in ((english, "en", "en"), (serbian, "sr", "sr_Latn")):
        send(app, who, from_text("/start obrenovac"), hint)
        for data in (f"L:{locale}:{obrenovac}", f"A:{locale}:{obrenovac}", "W"):
            send(app, who, Choice(data), hint)
        for data in (f"S:{first_there}", f"B:{first_there}"):
            send(app, who, Choice(data), hint)

    for command in ("/delete", "/mydata"):
        replies = send(app, arabic, from_text(command), "ar")
        assert replies[-1].buttons, f"{command}: no way forward"
        start_again = replies[-1].buttons[0][0].payload
        # The button begins where /start would, in the language the person was answered in.
        after = send(app, arabic, Choice(start_again), "ar")
        labels = [b.label for row in after[-1].buttons for b in row]
        assert after[-1].rtl and "Obrenovac" in labels, "not the centre choice, in Arabic"
