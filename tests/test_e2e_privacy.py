"""End to end: privacy a person can see and control, and help in distress, on Telegram (the bot
long-polling the stand-in Bot API) and on Viber (signed callbacks to the real web server).

What is kept and why (/privacy, before and after agreeing), everything kept (/mydata), erasing
it (/delete, proven by scanning every row of every table), what the bot may start (pause,
stop, no reminders for one booking) against a staff notice and the reminders, the answer to a
message suggesting crisis (in the person's language, the text kept nowhere, only counted), an
abuse report that reaches the protection focal point alone and is then deleted, and the
retention job run with the clock moved on: the figures stay, the people and records go."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.app import App
from flows import booking, figures, privacy
from flows.clock import FakeClock
from flows.figures import Period, Tally, iso_week
from flows.i18n import AUTONYMS, Translator
from storage import queries as q
from storage.db import Database
from storage.models import (
    AbuseReport,
    AttendanceMark,
    AuditEntry,
    Booking,
    BookingStatus,
    Broadcast,
    BroadcastState,
    Centre,
    DistressCount,
    InviteAttempt,
    LedgerEntry,
    LedgerKind,
    LedgerState,
    Person,
    SeenDelivery,
    SessionCount,
    StaffMember,
)
from tests import e2e
from tests.e2e import serve
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.seeding import World
from tests.staffing import invitation
from tests.traces import row_count, traces_of_person, where_written

EMERGENCY = ("192", "194", "193", "112")
ZONE = ZoneInfo("Europe/Belgrade")
_telegram_ids = itertools.count(8_316_400_001)  # long and distinctive: found only where kept


# --- one person on either platform ------------------------------------------------------------


def _changed(before: list[str], now: list[str]) -> list[str]:
    """The messages that are new, or were edited, since ``before``."""
    return [text for i, text in enumerate(now) if i >= len(before) or before[i] != text]


class Chat:
    """A person on a stand-in, with steps that wait for the bot's answer: the first message,
    new or edited, that contains ``expect``."""

    channel: str
    key: str  # the platform's id of the person, as the bot receives it

    def __init__(self, rig: Rig) -> None:
        self.rig = rig

    # What differs between the platforms.
    def texts(self) -> list[str]:
        raise NotImplementedError

    def said(self) -> list[str]:
        """Every text the bot ever showed this person, edited versions included."""
        raise NotImplementedError

    def keyboard(self) -> list[tuple[str, str]]:
        """(label, data) of the newest message with buttons."""
        raise NotImplementedError

    async def _write(self, text: str) -> None:
        raise NotImplementedError

    async def _press(self, label: str) -> None:
        raise NotImplementedError

    async def _tap(self, data: str, *, forged: bool) -> None:
        raise NotImplementedError

    async def open(self, payload: str) -> str:
        """Open the chat through a link with ``payload`` (a centre, an invitation)."""
        raise NotImplementedError

    # The same on both.
    async def _answered(self, act: Callable[[], Awaitable[None]], expect: str) -> str:
        before = self.texts()
        await act()

        def done() -> bool:
            return any(expect in text for text in _changed(before, self.texts()))

        await self.rig.wait_for(done)
        return next(text for text in reversed(_changed(before, self.texts())) if expect in text)

    async def say(self, text: str, expect: str = "") -> str:
        return await self._answered(lambda: self._write(text), expect)

    async def press(self, label: str, expect: str = "") -> str:
        return await self._answered(lambda: self._press(label), expect)

    async def tap(self, data: str, expect: str = "", *, forged: bool = False) -> str:
        """Tap the button with this data on the newest keyboard, or (``forged``) send the data
        as if a button had it."""
        if not forged:
            assert data in [d for _, d in self.keyboard()], (data, self.keyboard())
        return await self._answered(lambda: self._tap(data, forged=forged), expect)

    @property
    def last(self) -> str:
        texts = self.texts()
        return texts[-1] if texts else ""

    def labels(self) -> list[str]:
        return [label for label, _ in self.keyboard()]

    async def join(self, language: str = "en", centre: str = "krnjaca") -> None:
        """Onboard through the centre's link in ``language``, to the menu."""
        t = self.rig.t(language)
        first = await self.open(centre)
        assert "Please choose your language." in first, first
        await self.press(AUTONYMS[language], expect=t._("Do you agree?"))
        await self.press("✅", expect=t._("Thank you. You can now book workshops."))

    async def book(self, title: str, expect: str = "Your seat is booked") -> str:
        """From anywhere: the menu, the list of workshops, this one, a seat (or a place on its
        waitlist)."""
        await self.say("/menu", expect="What would you like to do?")
        await self.press("Upcoming workshops", expect=title)
        await self.press(title, expect="minutes")
        seat = any("Book a seat" in label for label in self.labels())
        action = "Book a seat" if seat else "Join the waitlist"
        return await self.press(action, expect=expect)

    def person(self) -> Person | None:
        with self.rig.app.database.session() as db:
            return q.find_person(db, self.rig.app.vault, self.channel, self.key)

    def person_id(self) -> int:
        found = self.person()
        assert found is not None and found.id is not None
        return found.id


class TelegramChat(Chat):
    channel = "telegram"

    def __init__(self, rig: Rig, fake: FakeTelegram, user: FakeUser) -> None:
        super().__init__(rig)
        self.fake = fake
        self.user = user
        self.key = str(user.id)

    def texts(self) -> list[str]:
        return [str(m.get("text", m.get("caption", ""))) for m in self.fake.messages(self.user)]

    def said(self) -> list[str]:
        return [
            str(version.get("text", ""))
            for message in self.fake.messages(self.user)
            for version in self.fake.history(self.user, message)
        ]

    def keyboard(self) -> list[tuple[str, str]]:
        with_buttons = [m for m in self.fake.messages(self.user) if self.fake.buttons(m)]
        return self.fake.buttons(with_buttons[-1]) if with_buttons else []

    async def _write(self, text: str) -> None:
        self.fake.send_text(self.user, text)

    async def _press(self, label: str) -> None:
        self.fake.press(self.user, label)

    async def _tap(self, data: str, *, forged: bool) -> None:
        messages = self.fake.messages(self.user)
        with_buttons = [m for m in messages if self.fake.buttons(m)]
        target = messages[-1] if forged else with_buttons[-1]
        self.fake.tap(self.user, target, data, check=not forged)

    async def open(self, payload: str) -> str:
        return await self.say(f"/start {payload}")


class ViberChat(Chat):
    channel = "viber"

    def __init__(self, rig: Rig, fake: FakeViber, user: FakeViberUser) -> None:
        super().__init__(rig)
        self.fake = fake
        self.user = user
        self.key = user.id

    def texts(self) -> list[str]:
        return self.fake.texts(self.user)

    def said(self) -> list[str]:
        return self.texts()

    def keyboard(self) -> list[tuple[str, str]]:
        with_buttons = [m for m in self.fake.messages(self.user) if m.get("keyboard")]
        return self.fake.buttons(with_buttons[-1]) if with_buttons else []

    async def _write(self, text: str) -> None:
        await self.fake.send_text(self.user, text)

    async def _press(self, label: str) -> None:
        await self.fake.tap(self.user, label)

    async def _tap(self, data: str, *, forged: bool) -> None:
        await self.fake.send_text(self.user, data)  # what a button sends on Viber

    async def open(self, payload: str) -> str:
        welcome = await self.fake.open(self.user, payload)
        return str(welcome.get("text", ""))


# --- the running bot on one platform ---------------------------------------------------------


@dataclass
class Rig:
    platform: str
    app: App
    world: World
    clock: FakeClock
    telegram: FakeTelegram | None = None
    viber: FakeViber | None = None

    def t(self, code: str) -> Translator:
        return self.app.catalogs.translator(code)

    def person(self, name: str, language: str | None = "en") -> Chat:
        if self.telegram is not None:
            user = self.telegram.user(name, language, user_id=next(_telegram_ids))
            chat: Chat = TelegramChat(self, self.telegram, user)
        else:
            assert self.viber is not None
            chat = ViberChat(self, self.viber, self.viber.user(name, language))
        return chat

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        fake = self.telegram or self.viber
        assert fake is not None
        await fake.wait_for(predicate, timeout)

    async def idle(self) -> None:
        """Every message received is handled, and every answer and owed message sent."""
        fake = self.telegram or self.viber
        assert fake is not None
        await fake.wait_idle()
        await self.app.settle()
        await fake.wait_idle()

    async def sweep(self) -> None:
        """What the scheduler's next sweep does at the clock's moment (reminders due)."""
        await self.app.sender.sweep(wait=True)
        await self.idle()

    async def staff(self, role: str, name: str) -> Chat:
        """Someone who opened an invitation for ``role`` at Krnjača and agreed."""
        member = self.person(name)
        code = invitation(self.app, role, self.world.krnjaca)
        assert "Do you agree?" in await member.open(f"staff-{code}")
        await member.press("✅", expect="Welcome. You are now")
        return member

    def count_people(self) -> int:
        with self.app.database.session() as db:
            return q.count_people(db)


# The platforms' limit of a message a second per chat is kept by the real outbox; here it is
# raised, so that a person who taps through many screens is not held back for seconds.
QUICK = {"chat_rate_limit": 200.0, "chat_burst": 200}


def polling_bot(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> contextlib.AbstractAsyncContextManager[tuple[App, World]]:
    """``tests.e2e.polling_bot`` with :data:`QUICK` chats."""
    return e2e.polling_bot(telegram, database, clock, tmp_path, **QUICK)


@pytest.fixture(params=["telegram", "viber"])
async def rig(
    request: pytest.FixtureRequest,
    telegram: FakeTelegram,
    viber: FakeViber,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[Rig]:
    """The bot running on one platform: long polling the Telegram stand-in, or serving the
    Viber stand-in's webhook on the real web server."""
    if request.param == "telegram":
        async with polling_bot(telegram, database, clock, tmp_path) as (app, world):
            yield Rig("telegram", app, world, clock, telegram=telegram)
    else:
        async for app, world, _ in serve(viber, database, clock, tmp_path, **QUICK):
            yield Rig("viber", app, world, clock, viber=viber)


def fill(rig: Rig, session_id: int, seats: int) -> None:
    """Other residents (not in the chat of this test) take ``seats`` seats of a session."""
    app = rig.app
    with app.database.session() as db:
        for _ in range(seats):
            other = q.create_person(
                db, app.vault, channel="telegram", user_key=f"other-{next(_telegram_ids)}",
                locale="en", centre_id=rig.world.krnjaca, now=app.clock.now(),
            )  # fmt: skip
            assert other.id is not None
            q.book(
                db, person_id=other.id, session_id=session_id, centre_id=rig.world.krnjaca,
                now=app.clock.now(),
            )  # fmt: skip


def no_reminders(found: Booking) -> str:
    """The data of the "🔕 No reminders" button of one booking in My bookings."""
    assert found.id is not None
    return booking.MUTE.data(found.id, 1)


def kept(chat: Chat, column: str) -> object:
    """One column of the person's row (None when there is no row)."""
    found = chat.person()
    return getattr(found, column) if found is not None else None


def booking_of(rig: Rig, chat: Chat, session_id: int) -> Booking:
    person_id = chat.person_id()
    with rig.app.database.session() as db:
        found = db.exec(
            select(Booking).where(Booking.person_id == person_id, Booking.session_id == session_id)
        ).one()
        db.expunge(found)
        return found


# --- 1. what is kept, and help, before anything is kept ------------------------------------------


async def test_privacy_and_help_before_and_after_agreeing(rig: Rig) -> None:
    amina = rig.person("Amina")
    first = await amina.open("krnjaca")
    assert "Please choose your language." in first
    help_label = next(label for label in amina.labels() if "Help" in label)
    helped = await amina.press(help_label, expect="urgent help")
    assert all(number in helped for number in EMERGENCY), helped
    assert "Staff at Krnjača" in helped  # the centre of the link, though nothing is stored
    assert rig.count_people() == 0

    await amina.press("Back", expect="Do you agree?")
    told = await amina.press("Privacy", expect="Your privacy")
    assert "90 days" in told and "/delete" in told and "does not keep your name" in told
    assert "Delete my data" not in " ".join(amina.labels())  # nothing to delete yet
    assert rig.count_people() == 0
    await amina.press("Back", expect="Do you agree?")

    # Under 15, or "no, thank you": nothing kept.
    child, no = rig.person("Child"), rig.person("No")
    for chat, label in ((child, "I am under 15"), (no, "No, thank you")):
        await chat.open("krnjaca")
        await chat.press("English", expect="Do you agree?")
        await chat.press(label, expect="Nothing about you was saved")
    await rig.idle()
    assert rig.count_people() == 0
    # Not even in a delivery record or an owed answer: no trace of their platform ids.
    for chat in (amina, child, no):
        hashed = rig.app.vault.lookup_hash(chat.channel, chat.key)
        found = traces_of_person(
            rig.app.database, rig.app.vault, person_id=-1, secrets=[chat.key, hashed]
        )
        assert found == [], found

    await amina.press("✅", expect="What would you like to do?")
    assert rig.count_people() == 1
    after = await amina.say("/privacy", expect="Your privacy")
    assert "90 days" in after
    assert {"📋 My data", "🗑️ Delete my data"} <= set(amina.labels())
    mine = await amina.press("📋 My data", expect="This is everything the bot keeps about you")
    assert "Centre: Krnjača" in mine


# --- 2. everything kept about a person ------------------------------------------------------------


async def test_mydata_lists_centre_language_bookings_and_messages(rig: Rig) -> None:
    fill(rig, rig.world.it, 2)  # IT basics is full: Ben can only wait
    ben = rig.person("Ben")
    await ben.join()
    await ben.book("Sewing workshop")
    await ben.book("IT basics", expect="number 1 on the waitlist")

    shown = await ben.say("/mydata", expect="This is everything the bot keeps about you")
    for line in (
        "Language: English",
        "Centre: Krnjača",
        "Date you agreed: Dec 1, 2026",
        "Last time you used the bot: Dec 1, 2026",
        "Messages from the bot: on (reminders and notices).",
        "2 bookings",
        "Sewing workshop, Wed, Dec 2, 11:00, Krnjača",
        "IT basics, Thu, Dec 3, 11:00, Krnjača – waitlist number 1",
    ):
        assert line in shown, (line, shown)
    assert "Sewing workshop, Wed, Dec 2, 11:00, Krnjača –" not in shown  # a seat, not waiting

    # What the person chose about messages is part of what is kept, and shown.
    await ben.say("/menu", expect="What would you like to do?")
    await ben.press("🔔 Messages", expect="Messages from the bot: on")
    await ben.press("Pause for two weeks", expect="Messages are paused until Dec 15, 2026.")
    sewing = booking_of(rig, ben, rig.world.sewing)
    await ben.press("Menu", expect="What would you like to do?")
    await ben.press("My bookings", expect="Your bookings:")
    await ben.tap(no_reminders(sewing), expect="You will get no reminders for Sewing workshop")
    shown = await ben.say("/mydata", expect="This is everything the bot keeps about you")
    assert "Messages from the bot: paused until Dec 15, 2026." in shown
    assert "Sewing workshop, Wed, Dec 2, 11:00, Krnjača – no reminders" in shown


# --- 3. erasing everything ----------------------------------------------------------------------


def past_attendance(rig: Rig, chat: Chat) -> None:
    """The person came to the workshop that started an hour ago, and staff marked them at
    the door (a booking the chat can no longer make: the workshop has started)."""
    now = rig.clock.now()
    with rig.app.database.session() as db:
        db.add(
            Booking(
                session_id=rig.world.past, person_id=chat.person_id(),
                status=BookingStatus.CONFIRMED, ticket=1, attended_at=now,
                created_at=now - timedelta(days=2), updated_at=now - timedelta(days=2),
            )
        )  # fmt: skip


def session_counts(rig: Rig, session_id: int) -> tuple[int, int]:
    """(booked, attended) of a session as the statistics read them (live and kept)."""
    with rig.app.database.session() as db:
        start = rig.clock.now() - timedelta(days=1)
        [tally] = [
            found
            for found in q.session_tallies(db, start, rig.clock.now(), [rig.world.krnjaca])
            if found.session_id == session_id
        ]
        return tally.booked, tally.attended


async def test_delete_erases_every_trace_and_hands_the_seat_on(rig: Rig) -> None:
    app, world = rig.app, rig.world
    amina = rig.person("Amina")
    # A wrong invitation code before she agreed to anything: a failed try, by her key hash.
    refused = await amina.open("staff-abcdefghijkmnpqr")
    assert "This invitation is not valid" in refused
    await amina.join()
    await amina.book("Sewing workshop")
    await amina.book("IT basics")
    fill(rig, world.it, 1)  # the last seat of IT basics
    chen = rig.person("Chen")
    await chen.join()
    await chen.book("IT basics", expect="number 1 on the waitlist")
    await amina.say("/menu", expect="What would you like to do?")
    await amina.press("🔔 Messages", expect="Messages from the bot: on")
    await amina.press("Pause for two weeks", expect="Messages are paused")
    past_attendance(rig, amina)
    assert session_counts(rig, world.past) == (1, 1)

    found = amina.person()
    assert found is not None and found.id is not None
    person_id, token = found.id, found.tally_token
    key_hash = app.vault.lookup_hash(amina.channel, amina.key)
    with app.database.session() as db:
        assert db.exec(select(InviteAttempt).where(InviteAttempt.key_hash == key_hash)).all()
    await rig.idle()
    secrets = [amina.key, key_hash, token]
    before = traces_of_person(app.database, app.vault, person_id=person_id, secrets=secrets)
    seen = {trace.split(" ")[0] for trace in before}  # the scan does see her, everywhere:
    assert seen >= {
        "person.id", "person.key_hash", "person.address_enc", "person.tally_token",
        "booking.person_id", "invite_attempt.key_hash",
    }, before  # fmt: skip

    asked = await amina.say("/delete", expect="Do you want to delete everything")
    assert "Your bookings will be cancelled." in asked
    done = await amina.press("Yes, delete everything", expect="Everything is deleted.")
    assert "/start" in done
    # Her seat went to the first person waiting, who is told at once.
    await rig.wait_for(lambda: any("a seat became free" in t for t in chen.texts()))
    assert "IT basics" in next(t for t in chen.texts() if "a seat became free" in t)
    assert booking_of(rig, chen, world.it).status == BookingStatus.CONFIRMED

    await rig.idle()  # the answers sent: no owed reply keeps her address any more
    left = traces_of_person(app.database, app.vault, person_id=person_id, secrets=secrets)
    assert left == [], "\n".join(left)
    assert amina.person() is None
    with app.database.session() as db:
        assert db.exec(select(AttendanceMark).where(AttendanceMark.token == token)).all() == []
    # The workshop she came to is still counted (without her).
    assert session_counts(rig, world.past) == (1, 1)

    # Again: nothing is kept, and the old "yes" erases nothing.
    people = rig.count_people()
    again = await amina.say("/delete", expect="The bot keeps nothing about you.")
    assert "/start" in again
    await amina.say("/mydata", expect="The bot keeps nothing about you.")
    await amina.tap(privacy.ERASE.data(), expect="Please choose your language.", forged=True)
    assert rig.count_people() == people and amina.person() is None


async def test_delete_from_a_stranger_and_a_forged_yes_erase_nothing(rig: Rig) -> None:
    stranger = rig.person("Stranger")
    said = await stranger.say("/delete", expect="The bot keeps nothing about you.")
    assert "Start again" in " ".join(stranger.labels()) and "/start" in said
    await stranger.say("/mydata", expect="The bot keeps nothing about you.")
    assert rig.count_people() == 0

    dana = rig.person("Dana")
    await dana.join()
    await dana.book("Sewing workshop")
    # The confirming button's data, sent without having been asked.
    refused = await dana.tap(
        privacy.ERASE.data(), expect="This button is no longer valid.", forged=True
    )
    assert "Everything is deleted" not in refused
    # Asked, then "No", then the old "yes" again.
    await dana.say("/delete", expect="Do you want to delete everything")
    await dana.press("No", expect="What would you like to do?")
    await dana.tap(privacy.ERASE.data(), expect="This button is no longer valid.", forged=True)
    await rig.idle()
    assert dana.person() is not None and rig.count_people() == 1
    assert booking_of(rig, dana, rig.world.sewing).status == BookingStatus.CONFIRMED


async def test_a_staff_member_who_deletes_leaves_only_an_anonymous_ref(rig: Rig) -> None:
    app = rig.app
    resident = rig.person("Resident")
    await resident.join()
    boss = await rig.staff("staff", "Boss")
    # A notice for later: its author's progress message (their chat) is kept with it.
    await boss.press("Announce", expect="Who should receive it?")
    await boss.press("Everyone at Krnjača", expect="Please write the notice")
    await boss.say("Cinema night on Friday.", expect="will receive it")
    await boss.press("Send later", expect="When")
    await boss.say("2026-12-04 19:30", expect="Fri, Dec 4, 19:30")
    await boss.press("Yes, schedule it", expect="Scheduled")
    found = boss.person()
    assert found is not None and found.id is not None
    person_id, token = found.id, found.tally_token
    with app.database.session() as db:
        [ref] = db.exec(select(StaffMember.ref).where(StaffMember.person_id == person_id)).all()
        [progress] = db.exec(select(Broadcast.progress_enc)).all()
    assert progress is not None and boss.key in app.vault.open(progress)

    asked = await boss.say("/delete", expect="Do you want to delete everything")
    assert "Your staff role will end too." in asked
    await boss.press("Yes, delete everything", expect="Everything is deleted.")
    await rig.idle()
    secrets = [boss.key, app.vault.lookup_hash(boss.channel, boss.key), token]
    left = traces_of_person(app.database, app.vault, person_id=person_id, secrets=secrets)
    assert left == [], "\n".join(left)
    with app.database.session() as db:
        assert db.exec(select(StaffMember)).all() == []
        erased = db.exec(select(AuditEntry).where(AuditEntry.action == "own data erased")).all()
        assert [entry.actor for entry in erased] == [ref]
        [notice] = db.exec(select(Broadcast)).all()
        assert notice.state == BroadcastState.SCHEDULED  # the notice itself still goes out


# --- 4. what the bot may start: pause, stop, no reminders for one booking -----------------------


def reminders(chat: Chat, title: str) -> int:
    """How many reminders of a workshop the person received (edited away or not)."""
    return sum(1 for text in chat.said() if "Reminder: your workshop" in text and title in text)


def notices(chat: Chat) -> int:
    return sum(1 for text in chat.said() if "Notice from Krnjača" in text)


def broadcast_done(rig: Rig) -> bool:
    with rig.app.database.session() as db:
        states = db.exec(select(Broadcast.state)).all()
        return bool(states) and all(state == BroadcastState.DONE for state in states)


async def test_pause_stop_and_no_reminders_hold_back_notices_and_reminders(rig: Rig) -> None:
    app, world, clock = rig.app, rig.world, rig.clock
    boss = await rig.staff("staff", "Boss")
    paula, stefan, mira, nora, rami = (
        rig.person(name) for name in ("Paula", "Stefan", "Mira", "Nora", "Rami")
    )
    for resident in (paula, stefan, mira, nora, rami):
        await resident.join()
        await resident.book("Sewing workshop")
    await mira.book("IT basics")

    await paula.say("/menu", expect="What would you like to do?")
    await paula.press("🔔 Messages", expect="Messages from the bot: on")
    await paula.press("Pause for two weeks", expect="Messages are paused until Dec 15, 2026.")
    if rig.viber is not None:  # Viber's "unsubscribe" is a stop too
        assert isinstance(stefan, ViberChat)
        await rig.viber.unsubscribe(stefan.user)
        await rig.wait_for(lambda: kept(stefan, "stopped_at") is not None)
        # Writing again makes him reachable (subscribed) again, but not wanting messages.
        await stefan.say("/menu", expect="What would you like to do?")
        await rig.wait_for(lambda: kept(stefan, "unreachable") is False)
    else:
        await stefan.say("/stop", expect="All messages from the bot are stopped.")
    await stefan.say("/menu", expect="What would you like to do?")
    shown = await stefan.press("🔔 Messages", expect="Messages from the bot: stopped")
    assert "Turn messages on again" in " ".join(stefan.labels()), shown
    sewing = booking_of(rig, mira, world.sewing)
    await mira.press("My bookings", expect="Your bookings:")
    await mira.tap(no_reminders(sewing), expect="You will get no reminders for Sewing workshop")

    # A notice to everyone at the centre.
    await boss.press("Announce", expect="Who should receive it?")
    await boss.press("Everyone at Krnjača", expect="Please write the notice")
    preview = await boss.say("Bring your ID card tomorrow.", expect="will receive it")
    assert "3 people will receive it" in preview, preview  # Paula and Stefan asked for none
    await boss.press("Send now", expect="Sending to")
    await rig.wait_for(lambda: broadcast_done(rig))
    await rig.idle()
    assert [notices(p) for p in (paula, stefan, mira, nora, rami)] == [0, 0, 1, 1, 1]
    with app.database.session() as db:
        [broadcast_id] = db.exec(select(Broadcast.id)).all()
        assert q.broadcast_counts(db, broadcast_id or 0) == {"sent": 3, "unreachable": 2}

    # The reminder a day before: only those who did not pause, stop or mute it.
    clock.set(datetime(2026, 12, 1, 10, 1, tzinfo=UTC))  # Sewing starts in 24 hours
    await rig.sweep()
    await rig.wait_for(lambda: reminders(nora, "Sewing") == 1 and reminders(rami, "Sewing") == 1)
    await rig.idle()
    people = (paula, stefan, mira, nora, rami)
    assert [reminders(p, "Sewing") for p in people] == [0, 0, 0, 1, 1]
    # Rami wants no more for this one: on the reminder itself.
    await rami.press("No more reminders for this", expect="You will get no reminders for Sewing")

    # Paused, Paula is still answered when she writes; then she turns messages on again.
    await paula.say("/menu", expect="What would you like to do?")
    await paula.press("🔔 Messages", expect="Messages from the bot: paused until Dec 15, 2026.")
    await paula.press("Turn messages on again", expect="Messages are on again.")

    # An hour before: Paula again (on again), Nora; not Stefan, Mira (muted) nor Rami.
    clock.set(datetime(2026, 12, 2, 9, 1, tzinfo=UTC))
    await rig.sweep()
    await rig.wait_for(lambda: reminders(paula, "Sewing") == 1 and reminders(nora, "Sewing") == 2)
    await rig.idle()
    assert [reminders(p, "Sewing") for p in people] == [1, 0, 0, 2, 1]
    # Muting one booking mutes only that one: IT basics is reminded a day before.
    clock.set(datetime(2026, 12, 2, 10, 1, tzinfo=UTC))
    await rig.sweep()
    await rig.wait_for(lambda: reminders(mira, "IT basics") == 1)
    await rig.idle()
    assert [reminders(p, "IT basics") for p in people] == [0, 0, 1, 0, 0]
    assert notices(boss) <= 1  # the author's preview at most, never the notice itself


# --- 5. a message that suggests crisis ----------------------------------------------------------

# In each language with a list of crisis words and a catalog: a message with a listed phrase
# inside longer text, and everyday talk with look-alike words. Each is looked for in the
# database whole and by its first words (not by a listed word: the answer may contain one).
CRISIS = {
    "en": (
        "Since the interview in March I cannot sleep, honestly I want to die, nobody listens.",
        "My phone died in March and I am dying to know if the diet workshop is on.",
    ),
    "ar": (
        "منذ المقابلة في آذار لا أنام، والله تعبت، بدي موت، ما حدا بيسمعني.",
        "منذ آذار بدي أتعلم الخياطة وأشتغل، ما بدي أضيع وقتي.",
    ),
    "sr_Latn": (
        "Od intervjua u martu ne spavam, ne mogu više da živim ovako, niko me ne sluša.",
        "Od marta želim da živim mirno i da idem na radionicu šivenja.",
    ),
    "fa": (
        "از مصاحبه در ماه مارس خواب ندارم، واقعاً می‌خواهم بمیرم، هیچ کس گوش نمی‌دهد.",
        "از ماه مارس می‌خواهم خیاطی یاد بگیرم و کار کنم.",
    ),
    "ps": (
        "له مرکې راهیسې خوب نه لرم، غواړم مړ شم، هیڅوک مې نه اوري.",
        "غواړم د خیاطۍ ورکشاپ ته لاړ شم او کار زده کړم.",
    ),
    "ur": (
        "انٹرویو کے بعد سے نیند نہیں آتی، میں مرنا چاہتا ہوں، کوئی نہیں سنتا۔",
        "میں سلائی سیکھنا چاہتا ہوں اور کام کرنا چاہتا ہوں۔",
    ),
    "tr": (
        "Mülakattan beri uyuyamıyorum, kendimi öldüreceğim, kimse beni dinlemiyor.",
        "Telefonum öldü, dikiş atölyesi yarın var mı?",
    ),
    "fr": (
        "Depuis l'entretien en mars je ne dors plus, je veux mourir, personne ne m'écoute.",
        "Mon téléphone est mort, l'atelier de couture a lieu demain ?",
    ),
    "uk": (
        "Після співбесіди не сплю, хочу покінчити з собою, ніхто мене не слухає.",
        "Мій телефон розрядився, чи буде завтра заняття з шиття?",
    ),
    "ru": (
        "После интервью не сплю, хочу покончить с собой, никто меня не слушает.",
        "Мой телефон умер, будет ли завтра занятие по шитью?",
    ),
    "es": (
        "Desde la entrevista no duermo, quiero morir, nadie me escucha.",
        "Mi teléfono murió, ¿hay taller de costura mañana?",
    ),
    "ckb": (
        "لە دوای چاوپێکەوتنەکە خەوم نایەت، دەمەوێت بمرم، کەس گوێم لێ ناگرێت.",
        "دەمەوێت دروومان فێر بم و کار بکەم.",
    ),
}


def distress_count(rig: Rig, centre_id: int) -> int:
    week = iso_week(rig.clock.now().astimezone(ZONE).date())
    with rig.app.database.session() as db:
        row = db.get(DistressCount, (centre_id, week))
        return row.count if row else 0


def crisis_languages(rig: Rig) -> list[str]:
    return sorted(set(rig.app.catalogs.codes) & rig.app.conversation.services.distress.languages)


async def test_a_crisis_message_gets_help_in_the_readers_language_and_is_not_kept(
    rig: Rig,
) -> None:
    languages = crisis_languages(rig)
    assert {"en", "ar", "sr_Latn"} <= set(languages)
    assert set(languages) <= set(CRISIS), "a language needs a crisis sentence in this test"
    centre = rig.world.krnjaca
    written: list[str] = []
    for code in languages:
        t = rig.t(code)
        crisis, everyday = CRISIS[code]
        written += [crisis, everyday]
        resident = rig.person(f"Reader {code}", code.split("_")[0])
        await resident.join(code)
        counted = distress_count(rig, centre)
        first_line = t._("Thank you for writing. What you feel matters.")
        answer = await resident.say(crisis, expect=first_line)
        assert code == "en" or first_line != "Thank you for writing. What you feel matters."
        assert t._("If you are in danger or need urgent help, call:") in answer, answer
        assert all(number in answer for number in EMERGENCY), answer
        assert (
            t._("You can also go to the staff of your centre at any time. You are not alone.")
            in answer
        )
        assert distress_count(rig, centre) == counted + 1, code
        # Everyday talk with look-alike words: the ordinary answer, nothing counted.
        ordinary = await resident.say(everyday, expect=t._("Sorry, I did not understand that."))
        assert first_line not in ordinary
        assert distress_count(rig, centre) == counted + 1, code

    # Before choosing a language (or agreeing to anything): the answer all the same, counted
    # for no centre, and still nobody is stored.
    people = rig.count_people()
    newcomer = rig.person("Newcomer", "ar")
    assert "Please choose your language." in await newcomer.open("krnjaca")
    unknown = distress_count(rig, 0)
    crisis = "I am alone here and I keep thinking about suicide, please."
    written.append(crisis)
    answer = await newcomer.say(
        crisis, expect=rig.t("ar")._("Thank you for writing. What you feel matters.")
    )  # her phone's language
    assert all(number in answer for number in EMERGENCY), answer
    assert distress_count(rig, 0) == unknown + 1
    assert rig.count_people() == people

    await rig.idle()
    # Neither the messages nor a part of them (their first words) are kept anywhere.
    found = where_written(rig.app.database, rig.app.vault, written + [w[:18] for w in written])
    assert found == [], "\n".join(found)


# --- 6. an abuse report ----------------------------------------------------------------------


async def test_an_abuse_report_reaches_only_the_focal_point_and_is_then_deleted(rig: Rig) -> None:
    app = rig.app
    colleague = await rig.staff("staff", "Colleague")
    focal = await rig.staff("focal", "Focal")
    assert "protection focal point at Krnjača" in focal.last
    resident = rig.person("Resident")
    await resident.join()
    await rig.idle()
    staff_saw, focal_saw = len(colleague.said()), len(focal.said())

    report = "The night guard in block C shouts at the children and takes their phones."
    await resident.press("Help", expect="urgent help")
    await resident.press("Report abuse", expect="Do you want to stay anonymous?")
    await resident.press("Yes, anonymous", expect="Please write what happened")
    confirm = await resident.say(report, expect="Send this report to the protection focal point?")
    assert report in confirm
    await resident.press("Send", expect="Your report is on its way.")

    def received() -> list[str]:
        return [text for text in focal.said() if "A report of abuse or misconduct" in text]

    await rig.wait_for(lambda: len(received()) == 1)
    [delivered] = received()
    assert report in delivered and "The person wants to stay anonymous." in delivered
    assert "Centre: Krnjača" in delivered
    await rig.wait_for(lambda: row_count(app.database, "abuse_report") == 0)
    await rig.idle()
    assert len(colleague.said()) == staff_saw  # ordinary staff, whom it may be about: nothing
    assert len(focal.said()) == focal_saw + 1
    with app.database.session() as db:
        assert db.exec(select(AbuseReport)).all() == []
        states = db.exec(
            select(LedgerEntry.state).where(LedgerEntry.kind == LedgerKind.REPORT)
        ).all()  # (the entry goes with the report it carried, or stays as sent)
        assert all(state == LedgerState.SENT for state in states), states
    # The text is nowhere now: not in the report's row, not in her conversation's state,
    # not in an answer kept to be sent.
    found = where_written(app.database, app.vault, [report, report[:30]])
    assert found == [], "\n".join(found)


# --- 7. keeping little, for a short time ---------------------------------------------------------

DECEMBER_TO_MARCH = Period(date(2026, 12, 1), date(2027, 3, 31))


def tally_of(found: Tally) -> dict[str, int]:
    return {
        "held": found.held, "cancelled": found.cancelled, "booked": found.booked,
        "attended": found.attended, "distinct": found.distinct, "promoted": found.promoted,
        "feedback": found.feedback, "taken": found.taken,
        "booked_where_taken": found.booked_where_taken,
    }  # fmt: skip


def the_counts(rig: Rig) -> dict[str, dict[str, int]]:
    with rig.app.database.session() as db:
        centres = list(db.exec(select(Centre).order_by(col(Centre.id))).all())
        found = figures.counts(db, DECEMBER_TO_MARCH, centres, rig.clock.now())
        shown = {"total": tally_of(found.total)}
        for centre_id, tally in found.by_centre.items():
            shown[f"centre {centre_id}"] = tally_of(tally)
        for (centre_id, month), tally in found.rows.items():
            shown[f"centre {centre_id}, {month:%Y-%m}"] = tally_of(tally)
        return shown


def mark_came(rig: Rig, session_id: int, *chats: Chat) -> None:
    """Staff tick these people's door numbers."""
    numbers = [booking_of(rig, chat, session_id).ticket for chat in chats]
    with rig.app.database.session() as db:
        changed, unknown = q.mark_attendance(
            db, session_id, numbers, came=True, now=rig.clock.now()
        )
    assert sorted(changed) == sorted(numbers) and unknown == []


def old_records(rig: Rig, before: datetime) -> tuple[int, int]:
    """Ledger entries that ended, and delivery records, older than ``before``."""
    with rig.app.database.session() as db:
        ledger = db.exec(select(LedgerEntry)).all()
        ended = [
            entry
            for entry in ledger
            if entry.state not in (LedgerState.PENDING, LedgerState.CLAIMED)
            and (entry.done_at or entry.created_at) < before
        ]
        seen = db.exec(select(SeenDelivery).where(col(SeenDelivery.seen_at) < before)).all()
        return len(ended), len(seen)


async def test_retention_keeps_the_figures_and_forgets_people_and_records(rig: Rig) -> None:
    app, world, clock = rig.app, rig.world, rig.clock
    with app.database.session() as db:
        spring = q.add_session(
            db, centre_id=world.krnjaca, title="Spring class", starts_at=clock.now() +
            timedelta(days=80), minutes=90, capacity=10, languages=[], place=None,
            now=clock.now(),
        ).id  # fmt: skip
    assert spring is not None
    amir, bojan, chen, kira = (rig.person(name) for name in ("Amir", "Bojan", "Chen", "Kira"))
    for resident in (amir, bojan, chen, kira):
        await resident.join()
    await amir.book("IT basics")
    await bojan.book("IT basics")
    await chen.book("IT basics", expect="number 1 on the waitlist")
    await amir.press("My bookings", expect="Your bookings:")
    await amir.press("Cancel: IT basics", expect="Do you want to cancel your seat?")
    await amir.press("Yes, cancel", expect="Your booking is cancelled.")
    await rig.wait_for(lambda: any("a seat became free" in t for t in chen.texts()))
    for resident in (amir, bojan, kira):
        await resident.book("Sewing workshop")
    await amir.book("Spring class")

    clock.set(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))  # Sewing is over
    mark_came(rig, world.sewing, amir, kira)
    await kira.say("/feedback", expect="Question 1 of 4")
    await kira.press("😄", expect="Question 2 of 4")
    await kira.press("Skip", expect="Question 3 of 4")
    await kira.press("Maybe", expect="Question 4 of 4")
    await kira.say("A kind teacher.", expect="Thank you! Your answers were saved")
    clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # IT basics is over
    mark_came(rig, world.it, chen)
    clock.set(datetime(2027, 1, 30, 8, 0, tzinfo=UTC))  # Kira still uses the bot
    await kira.say("/menu", expect="What would you like to do?")
    clock.set(datetime(2027, 2, 19, 10, 0, tzinfo=UTC))  # Spring class is over
    mark_came(rig, spring, amir)
    await rig.idle()

    clock.set(datetime(2027, 3, 6, 8, 0, tzinfo=UTC))  # 95 days after the start
    before = the_counts(rig)
    krnjaca = f"centre {world.krnjaca}"
    assert {key: before[krnjaca][key] for key in (
        "held", "cancelled", "booked", "attended", "distinct", "promoted", "feedback",
    )} == {
        "held": 4, "cancelled": 1, "booked": 6, "attended": 4, "distinct": 3, "promoted": 1,
        "feedback": 1,
    }, before[krnjaca]  # fmt: skip
    week_ago = clock.now() - timedelta(days=7)
    ledger, deliveries = old_records(rig, week_ago)
    assert ledger >= 1 and deliveries >= 10

    await app.scheduler.keep_little()  # the running bot's daily job

    assert the_counts(rig) == before
    assert [chat.person() is None for chat in (amir, bojan, chen, kira)] == [
        True,
        True,
        True,
        False,
    ]  # idle for 90 days and more: erased; Kira wrote 35 days ago
    assert old_records(rig, week_ago) == (0, 0)
    with app.database.session() as db:
        assert db.exec(select(Booking)).all() == []  # reduced to counts, or erased with Amir
        assert len(db.exec(select(SessionCount)).all()) == 3
    # Kira is still there, and the bot still answers her.
    await kira.say("/mydata", expect="This is everything the bot keeps about you")


async def test_a_report_written_but_never_sent_is_not_kept_beyond_a_week(rig: Rig) -> None:
    await rig.staff("focal", "Focal")
    resident = rig.person("Resident")
    await resident.join()
    report = "The cook in the canteen hits the boys from room 12 when nobody is looking."
    await resident.press("Help", expect="urgent help")
    await resident.press("Report abuse", expect="Do you want to stay anonymous?")
    await resident.press("Yes, anonymous", expect="Please write what happened")
    await resident.say(report, expect="Send this report to the protection focal point?")
    # She does not tap "Send" (afraid, interrupted, the phone taken away)...
    rig.clock.advance(timedelta(days=8))
    await rig.app.scheduler.keep_little()  # the daily job, a week and more later
    assert resident.person() is not None  # (not idle for 90 days: she is kept)
    found = where_written(rig.app.database, rig.app.vault, [report])
    assert found == [], "\n".join(found)


@pytest.fixture
async def capped(
    viber: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Rig]:
    """The bot on Viber with no bot-initiated message allowed this month (the cap reached)."""
    async for app, world, _ in serve(
        viber, database, clock, tmp_path, viber_monthly_proactive_cap=0, **QUICK
    ):
        yield Rig("viber", app, world, clock, viber=viber)


async def test_a_report_the_viber_cap_holds_back_is_not_lost(capped: Rig) -> None:
    rig = capped
    focal = await rig.staff("focal", "Focal")
    rig.clock.advance(timedelta(hours=25))  # she has not written for a day: a billed message
    resident = rig.person("Resident")
    await resident.join()
    report = "A volunteer asks the girls in room 4 for money to put them on the list."
    await resident.press("Help", expect="urgent help")
    await resident.press("Report abuse", expect="Do you want to stay anonymous?")
    await resident.press("Yes, anonymous", expect="Please write what happened")
    await resident.say(report, expect="Send this report to the protection focal point?")
    await resident.press("Send", expect="Your report is on its way.")
    await rig.idle()
    delivered = any(report in text for text in focal.said())
    waiting = row_count(rig.app.database, "abuse_report") == 1  # to be sent when it can be
    assert delivered or waiting, "the report was neither delivered nor kept"
