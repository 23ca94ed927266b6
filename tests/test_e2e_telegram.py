"""End to end: the bot's real long-polling loop against a stand-in Telegram Bot API over HTTP.

Residents write and tap buttons on the stand-in; the bot fetches updates with getUpdates and
answers with sendMessage, editMessageText and answerCallbackQuery; the database is checked after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import App
from flows.clock import FakeClock
from storage import queries as q
from storage.db import Database
from storage.models import Booking, Person
from tests.e2e import polling_bot
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.owed import pending
from tests.seeding import World

JSON = dict[str, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(rate_limit=30) as server:
        yield server


@pytest.fixture
async def running(
    fake: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, World]]:
    async with polling_bot(fake, database, clock, tmp_path) as running:
        yield running


def _said(message: dict[str, object]) -> str:
    """A message's text, or a file's caption."""
    return str(message.get("text", message.get("caption", "")))


class Person_:
    """A resident on the stand-in, with steps that wait for the bot's answer."""

    def __init__(self, fake: FakeTelegram, user: FakeUser) -> None:
        self.fake = fake
        self.user = user

    def _version(self) -> tuple[int, str]:
        messages = self.fake.messages(self.user)
        return len(messages), _said(messages[-1]) if messages else ""

    async def _answered(self, before: tuple[int, str], expect: str) -> str:
        def done() -> bool:
            now = self._version()
            return now != before and expect in now[1]

        await self.fake.wait_for(done, timeout=10)
        return self.last

    async def say(self, text: str, expect: str = "") -> str:
        before = self._version()
        self.fake.send_text(self.user, text)
        return await self._answered(before, expect)

    async def press(self, label: str, expect: str = "") -> str:
        before = self._version()
        self.fake.press(self.user, label)
        return await self._answered(before, expect)

    async def tap(self, data_prefix: str, expect: str = "") -> str:
        """Tap the first button on the newest keyboard whose data starts with ``data_prefix``."""
        message = next(m for m in reversed(self.fake.messages(self.user)) if m.get("reply_markup"))
        data = next(d for _, d in self.fake.buttons(message) if d.startswith(data_prefix))
        before = self._version()
        self.fake.tap(self.user, message, data)
        return await self._answered(before, expect)

    async def join(self, centre: str = "krnjaca") -> None:
        """Onboard in English through the centre's link, to the menu."""
        await self.say(f"/start {centre}", expect="Please choose")
        await self.press("English", expect="Do you agree?")
        await self.press("I agree", expect="What would you like to do?")

    async def book(self, title: str) -> str:
        """From the menu: the list of workshops, this one, a seat."""
        await self.press("Upcoming workshops", expect=title)
        await self.press(title, expect="minutes")
        return await self.press("Book a seat", expect="Your seat is booked")

    @property
    def last(self) -> str:
        return _said(self.fake.last_message(self.user))


async def test_onboarding_booking_waitlist_and_cancellation(
    fake: FakeTelegram, running: tuple[App, World]
) -> None:
    app, world = running
    amina = Person_(fake, fake.user("Amina", "ar"))
    ben = Person_(fake, fake.user("Ben", "en"))
    chen = Person_(fake, fake.user("Chen", "en"))

    await amina.say("/start krnjaca", expect="Please choose")
    first_message = fake.last_message(amina.user)
    assert fake.buttons(first_message)[0][0] == "العربية"  # her phone's language first
    await amina.press("العربية", expect="Krnjača")
    # The notice took the place of the language question instead of adding a message.
    assert len(fake.messages(amina.user)) == 1
    await amina.tap("A:", expect="Krnjača")
    await amina.tap("W", expect="IT basics")
    await amina.tap(f"S:{world.it}", expect="IT basics")
    booked = await amina.tap(f"B:{world.it}", expect="IT basics")
    assert "✅" in booked

    for person in (ben, chen):
        await person.join()
        await person.press("Upcoming workshops", expect="IT basics")
        await person.press("IT basics", expect="minutes")
    await ben.press("Book a seat", expect="Your seat is booked")
    # Chen's screen still offers a seat; the server knows better and puts him on the waitlist.
    await chen.press("Book a seat", expect="number 1 on the waitlist")

    # Amina cancels; Chen is told at once, in English, that the seat is now his.
    await amina.tap("K", expect="IT basics")
    await amina.tap("X:", expect="هل تريد")  # "are you sure?", in her language
    await amina.tap("XY:")
    await fake.wait_for(lambda: "a seat became free" in chen.last, timeout=10)
    assert any(d.startswith("X:") for _, d in fake.buttons(fake.last_message(chen.user)))

    with app.database.session() as db:
        rows = db.exec(select(Booking).where(Booking.session_id == world.it)).all()
        assert sorted(b.status for b in rows) == ["cancelled", "confirmed", "confirmed"]
        people = db.exec(select(Person)).all()
        assert len(people) == 3
        assert all("Amina" not in p.key_hash + p.address_enc for p in people)

    await fake.wait_idle()
    assert fake.unanswered_callbacks() == []
    assert fake.too_many_requests == 0


async def test_bad_input_through_telegram_gets_an_answer(
    fake: FakeTelegram, running: tuple[App, World]
) -> None:
    app, _ = running
    sara = Person_(fake, fake.user("Sara", "en"))
    await sara.join()

    before = len(fake.messages(sara.user))
    fake.send_sticker(sara.user)
    fake.send_photo(sara.user)
    fake.send_voice(sara.user)
    fake.send_location(sara.user)
    await fake.wait_for(lambda: len(fake.messages(sara.user)) >= before + 4, timeout=10)
    assert all("only understand written messages" in t for t in fake.texts(sara.user)[before:])

    await sara.say("x" * 4096, expect="too long")
    await sara.say("what?", expect="did not understand")
    message = fake.last_message(sara.user)
    fake.tap(sara.user, message, "B:424242", check=False)  # forged data
    fake.tap(sara.user, message, "hello", check=False)
    await fake.wait_for(lambda: "no longer" in sara.last, timeout=10)
    with app.database.session() as db:
        assert db.exec(select(Booking)).all() == []
    await fake.wait_idle()
    assert fake.unanswered_callbacks() == []


async def test_retry_after_is_honoured_and_blocked_people_are_skipped(
    fake: FakeTelegram, running: tuple[App, World]
) -> None:
    app, world = running
    omar = Person_(fake, fake.user("Omar", "en"))
    lina = Person_(fake, fake.user("Lina", "en"))
    for person in (omar, lina):
        await person.join()
        await person.tap("W", expect="Sewing")
        await person.tap(f"S:{world.sewing}", expect="minutes")
        await person.press("Book a seat", expect="Your seat is booked")

    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await omar.say("/menu", expect="What would you like to do?")
    assert loop.time() - started >= 1.0  # waited as told, then sent it once
    assert sum(1 for m in fake.messages(omar.user) if "What would" in m["text"]) >= 1

    # Lina blocks the bot; the operator cancels the session: Omar is told, Lina is skipped.
    fake.block(lina.user)
    await fake.wait_for(lambda: _unreachable(app, lina.user.id), timeout=10)
    fake.unblock(lina.user)  # unblocking alone does not make her reachable: writing does
    fake.block(lina.user)
    with app.database.session() as db:
        q.cancel_session(db, world.sewing, app.clock.now())
    app.scheduler.kick()
    await fake.wait_for(lambda: "was cancelled" in omar.last, timeout=10)
    await app.settle()
    assert not any("was cancelled" in t for t in fake.texts(lina.user))
    assert pending(app) == 0

    fake.unblock(lina.user)
    await lina.say("/menu", expect="What would you like to do?")
    assert not _unreachable(app, lina.user.id)


def _unreachable(app: App, user_id: int) -> bool:
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "telegram", str(user_id))
        return person is not None and person.unreachable
