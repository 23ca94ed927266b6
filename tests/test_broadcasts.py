"""Broadcasts on their way: the sender (bot/broadcaster.py) against the stand-in Telegram and
Viber over real HTTP, on a real database (SQLite and PostgreSQL).

Everyone receives a notice exactly once, in their language; the platforms' limits and
refusals are kept (429, blocked, unsubscribed, the Viber cap); one sender at a time holds a
broadcast, and one that dies is taken over; the author watches progress in their own message;
and a resident talking to the bot is answered while thousands of messages go out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.app import App, build_app
from bot.channels.base import Delivery
from flows import broadcasts
from flows.broadcasts import Audience
from flows.clock import FakeClock
from flows.events import Address
from flows.replies import Reply
from flows.rules import Refusal
from storage import queries as q
from storage.db import Database
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastAudience,
    BroadcastState,
    Centre,
    LedgerEntry,
    Person,
)
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.seeding import World, seed

EVERYONE = Audience(BroadcastAudience.CENTRE)
TEXTS = {
    "en": "Bring *your* card_id to <b>Room 2</b> & wait.\nThank you.",
    "ar": "أحضروا بطاقتكم إلى <b>الغرفة 2</b>.",
}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def viber() -> AsyncIterator[FakeViber]:
    async with FakeViber() as fake:
        yield fake


Build = Callable[..., Awaitable[App]]


@pytest.fixture
async def build(
    telegram: FakeTelegram,
    viber: FakeViber,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[Build]:
    """The real composition root with both platforms pointed at the stand-ins."""
    built: list[App] = []

    async def make(**settings: object) -> App:
        values: dict[str, object] = {
            "telegram_bot_token": telegram.token,
            "telegram_api_url": telegram.base_url,
            "telegram_rate_limit": 1000,
            "viber_auth_token": viber.token,
            "viber_api_url": viber.base_url,
            **settings,
        }
        app = build_app(make_settings(tmp_path, **values), clock=clock, database=database)
        built.append(app)
        if app.telegram is not None:
            await app.telegram.start()
        return app

    yield make
    for app in built:
        await app.aclose()


@dataclass
class Crowd:
    """Residents on both platforms, by language, and the people who must not receive it."""

    world: World
    telegram: dict[str, list[FakeUser]]
    viber: dict[str, list[FakeViberUser]]
    elsewhere: FakeUser  # a resident of another centre
    staff: FakeUser  # staff at the centre
    staff_ref: str


def store(app: App, channel: str, key: str, locale: str, centre_id: int) -> int:
    with app.database.session() as db:
        person = q.create_person(
            db, app.vault, channel=channel, user_key=key, locale=locale, centre_id=centre_id,
            now=app.clock.now(),
        )  # fmt: skip
        assert person.id is not None
        return person.id


def crowd(
    app: App,
    telegram: FakeTelegram,
    viber: FakeViber,
    on_telegram: dict[str, int],
    on_viber: dict[str, int] | None = None,
) -> Crowd:
    world = seed(app.database, app.clock.now())
    tg = {
        locale: [telegram.user(f"T{locale}{n}", locale) for n in range(count)]
        for locale, count in on_telegram.items()
    }
    vb = {
        locale: [viber.user(f"V{locale}{n}", locale, subscribed=True) for n in range(count)]
        for locale, count in (on_viber or {}).items()
    }
    people = [
        *((str(user.id), "telegram", locale) for locale, users in tg.items() for user in users),
        *((user.id, "viber", locale) for locale, users in vb.items() for user in users),
    ]
    now = app.clock.now()
    with app.database.session() as db:  # in one transaction: hundreds take a moment
        db.add_all(
            Person(
                key_hash=app.vault.lookup_hash(channel, key), channel=channel,
                address_enc=app.vault.seal(key), locale=locale, centre_id=world.krnjaca,
                consented_at=now, last_seen_at=now,
            )
            for key, channel, locale in people
        )  # fmt: skip
    elsewhere = telegram.user("Elsewhere", "en")
    store(app, "telegram", str(elsewhere.id), "en", world.obrenovac)
    staff = telegram.user("Staff", "en")
    staff_id = store(app, "telegram", str(staff.id), "en", world.krnjaca)
    with app.database.session() as db:
        member = q.add_member(
            db, person_id=staff_id, role="staff", centre_id=world.krnjaca, now=app.clock.now()
        )
    return Crowd(world, tg, vb, elsewhere, staff, member.ref)


def create(
    app: App,
    centre_id: int,
    texts: dict[str, str] | None = None,
    *,
    author: str = "cli",
    audience: Audience = EVERYONE,
    **options: object,
) -> int:
    with app.database.session() as db:
        centre = db.get(Centre, centre_id)
        assert centre is not None
        made = broadcasts.create(
            db, app.clock.now(), centre=centre, author=author, audience=audience,
            texts=texts or TEXTS, base_locale="en", **options,  # type: ignore[arg-type]
        )  # fmt: skip
        assert made.id is not None
        return made.id


def expected(app: App, locale: str, texts: dict[str, str] | None = None) -> str:
    """The notice as a resident reading ``locale`` must receive it."""
    catalogs = app.catalogs
    base = catalogs.translator("en")
    return broadcasts.notice(catalogs.translator(locale), texts or TEXTS, base, "Krnjača").text


def states(app: App, broadcast_id: int) -> dict[str, int]:
    with app.database.session() as db:
        return q.broadcast_counts(db, broadcast_id)


def the_broadcast(app: App, broadcast_id: int) -> Broadcast:
    with app.database.session() as db:
        found = db.get(Broadcast, broadcast_id)
        assert found is not None
        return found


def received(
    fake: FakeTelegram | FakeViber, users: Sequence[FakeUser | FakeViberUser], text: str
) -> Counter[str]:
    """How often each user got ``text`` (a notice's header is enough to recognise it)."""
    counts: Counter[str] = Counter()
    for user in users:
        texts = fake.texts(user)  # type: ignore[arg-type]
        counts[str(user.id)] = sum(1 for said in texts if text in said)
    return counts


async def test_everyone_at_the_centre_receives_it_once_in_their_language(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build()
    people = crowd(
        app, telegram, viber, {"en": 3, "ar": 3, "sr_Latn": 2}, {"en": 2, "ar": 2, "sr_Latn": 1}
    )
    broadcast_id = create(app, people.world.krnjaca)
    progress: list[int] = []
    tally = await app.broadcaster.send(
        broadcast_id, on_progress=lambda counts, total: progress.append(sum(counts.values()))
    )
    assert tally is not None and tally.finished
    assert (tally.delivered, tally.unreachable, tally.failed, tally.total) == (13, 0, 0, 13)
    assert progress[-1] == 13 and progress == sorted(progress)
    for locale, tg_users in people.telegram.items():
        for user in tg_users:
            assert telegram.texts(user) == [expected(app, locale)], locale
    for locale, vb_users in people.viber.items():
        for viber_user in vb_users:
            assert viber.texts(viber_user) == [expected(app, locale)], locale
    english = telegram.texts(people.telegram["en"][0])[0]
    assert TEXTS["en"] in english  # "*", "_", "<b>" and "&" arrive as written
    serbian = telegram.texts(people.telegram["sr_Latn"][0])[0]
    assert "ℹ️" in serbian and TEXTS["en"].split("\n")[0] in serbian  # the author's text, noted
    assert "الغرفة 2" in telegram.texts(people.telegram["ar"][0])[0]
    assert telegram.texts(people.elsewhere) == [] and telegram.texts(people.staff) == []
    # Viber: one call per language, whoever reads it.
    assert len(viber.broadcasts()) == 3
    done = the_broadcast(app, broadcast_id)
    assert done.state == BroadcastState.DONE and done.finished_at is not None
    assert states(app, broadcast_id) == {"sent": 13}
    with app.database.session() as db:
        entry = db.exec(
            select(AuditEntry).where(AuditEntry.action == "broadcast sent")
            .order_by(col(AuditEntry.id).desc())
        ).first()  # fmt: skip
    assert entry is not None and entry.role == "operator" and entry.actor == "cli"
    assert entry.detail == f"broadcast {broadcast_id}: 13 delivered, 0 unreachable, 0 failed"
    # Done is done: nobody receives it twice.
    assert await app.broadcaster.send(broadcast_id) is None
    assert await app.broadcaster.run_due() == 0
    assert sum(received(telegram, people.telegram["en"], "Room 2").values()) == 3


async def test_bad_notices_are_refused_and_nothing_is_stored(build: Build) -> None:
    app = await build()
    world = seed(app.database, app.clock.now())
    store(app, "telegram", "42", "en", world.krnjaca)
    past = app.clock.now() - timedelta(hours=1)
    for texts, send_at in [
        ({"en": "   \n "}, None),
        ({"en": "x" * (broadcasts.MAX_CHARS + 1)}, None),
        ({"en": "Hello", "ar": "y" * (broadcasts.MAX_CHARS + 1)}, None),
        ({"en": "Hello"}, past),
    ]:
        with pytest.raises(Refusal):
            create(app, world.krnjaca, texts, send_at=send_at)
    with app.database.session() as db:
        assert db.exec(select(Broadcast)).all() == []
        assert db.exec(select(LedgerEntry)).all() == []
    # Nobody at Obrenovac yet: refused too.
    with pytest.raises(Refusal):
        create(app, world.obrenovac, {"en": "Hello"})


def attempts(telegram: FakeTelegram, user: FakeUser) -> int:
    return sum(1 for params in telegram.calls_of("sendMessage") if params["chat_id"] == user.id)


async def test_a_429_is_honoured_and_nobody_is_lost_or_doubled(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build()
    people = crowd(app, telegram, viber, {"en": 30, "ar": 10})
    telegram.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=2
    )
    started = time.monotonic()
    tally = await app.broadcaster.send(create(app, people.world.krnjaca))
    assert tally is not None and (tally.delivered, tally.failed) == (40, 0)
    assert app.outbox.retries_after == 2 and time.monotonic() - started >= 1.0
    everyone = people.telegram["en"] + people.telegram["ar"]
    assert set(received(telegram, everyone, "Krnjača").values()) == {1}
    # Memory stays flat: the outbox forgets each chat once its per-chat limit has recovered.
    await telegram.wait_for(lambda: not app.outbox._chats, timeout=5)


async def test_people_who_blocked_or_left_are_counted_unreachable_and_not_retried(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build()
    people = crowd(app, telegram, viber, {"en": 6}, {"en": 4})
    blocked = people.telegram["en"][:2]
    for user in blocked:
        telegram.block(user)
    gone = people.viber["en"][0]
    viber._chat_of(gone).subscribed = False  # unsubscribed while the bot was not listening
    first = await app.broadcaster.send(create(app, people.world.krnjaca))
    assert first is not None and (first.delivered, first.unreachable, first.failed) == (7, 3, 0)
    assert [attempts(telegram, user) for user in blocked] == [1, 1]
    with app.database.session() as db:
        marked = {
            key
            for key in [str(u.id) for u in blocked] + [gone.id, str(people.telegram["en"][2].id)]
            if (person := q.find_person(db, app.vault, "telegram" if key.isdigit() else "viber",
                                        key)) and person.unreachable
        }  # fmt: skip
    assert marked == {str(blocked[0].id), str(blocked[1].id), gone.id}
    # The next notice counts them without trying again.
    calls = len(viber.broadcasts())
    second = await app.broadcaster.send(create(app, people.world.krnjaca, {"en": "Again"}))
    assert second is not None and (second.delivered, second.unreachable) == (7, 3)
    assert [attempts(telegram, user) for user in blocked] == [1, 1]
    receivers = [r for body in viber.broadcasts()[calls:] for r in body["broadcast_list"]]
    assert gone.id not in receivers and len(receivers) == 3


async def test_700_viber_recipients_in_two_languages_take_four_calls_at_most(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build()
    people = crowd(app, telegram, viber, {}, {"en": 350, "ar": 350})
    tally = await app.broadcaster.send(create(app, people.world.krnjaca))
    assert tally is not None and tally.delivered == 700
    sizes = [len(body["broadcast_list"]) for body in viber.broadcasts()]
    assert len(sizes) <= 4 and max(sizes) <= 300 and sum(sizes) == 700
    for locale, users in people.viber.items():
        assert set(received(viber, users, "Krnjača").values()) == {1}
        assert {viber.texts(user)[0] for user in users} == {expected(app, locale)}


async def test_over_the_viber_cap_the_rest_fail_and_a_viber_author_gets_the_tally(
    build: Build, telegram: FakeTelegram, viber: FakeViber, clock: FakeClock
) -> None:
    app = await build(viber_monthly_proactive_cap=3)
    people = crowd(app, telegram, viber, {"en": 2}, {"en": 5})
    author = viber.user("Author", "en", subscribed=True)
    store(app, "viber", author.id, "en", people.world.krnjaca)
    clock.advance(timedelta(hours=25))  # nobody wrote for a day: every Viber message is billed
    where = app.vault.seal(json.dumps({"user": author.id, "message": None}))
    broadcast_id = create(
        app, people.world.krnjaca, progress_channel="viber", progress_enc=where,
        author_locale="en",
    )  # fmt: skip
    tally = await app.broadcaster.send(broadcast_id)
    # The author is at the centre but not staff here: they are a recipient too (6 on Viber).
    assert tally is not None and (tally.delivered, tally.failed) == (2 + 3, 3)
    assert states(app, broadcast_id) == {"sent": 5, "failed": 3}
    with app.database.session() as db:
        assert q.usage(db, "viber", clock.now().strftime("%Y-%m")).reserved == 3
    final = broadcasts.tally(app.catalogs.translator("en"), {"sent": 5, "failed": 3}, 8, done=True)
    assert viber.texts(author)[-1] == final  # a new message: Viber cannot edit


async def test_two_senders_never_send_one_broadcast_at_the_same_time(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    first, second = await build(), await build()
    people = crowd(first, telegram, viber, {"en": 40}, {"ar": 40})
    broadcast_id = create(first, people.world.krnjaca)
    results = await asyncio.gather(
        first.broadcaster.send(broadcast_id), second.broadcaster.send(broadcast_id)
    )
    assert sorted(result is None for result in results) == [False, True]
    assert set(received(telegram, people.telegram["en"], "Krnjača").values()) == {1}
    assert set(received(viber, people.viber["ar"], "Krnjača").values()) == {1}
    # Both schedulers looking for due ones at once: still once.
    again = create(first, people.world.krnjaca, {"en": "Second notice"})
    counts = await asyncio.gather(first.broadcaster.run_due(), second.broadcaster.run_due())
    assert sorted(counts) == [0, 1]
    assert set(received(telegram, people.telegram["en"], "Second notice").values()) == {1}
    assert states(first, again) == {"sent": 80}


async def test_a_sender_that_dies_is_taken_over_after_its_lease(
    build: Build, telegram: FakeTelegram, viber: FakeViber, clock: FakeClock
) -> None:
    dying, survivor = await build(), await build()
    people = crowd(dying, telegram, viber, {"en": 120, "ar": 30}, {"en": 310})
    broadcast_id = create(dying, people.world.krnjaca)
    telegram.send_delay = 0.01  # slow enough to stop it half-way
    sending = asyncio.create_task(dying.broadcaster.send(broadcast_id))
    await telegram.wait_for(lambda: telegram.sent_count >= 40, timeout=20)
    sending.cancel()  # it dies: nothing more is recorded, nothing is handed back
    await dying.outbox.close()
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    assert telegram.sent_count < 150
    left = the_broadcast(survivor, broadcast_id)
    assert left.state == BroadcastState.SENDING and left.owner == dying.broadcaster.owner
    assert await survivor.broadcaster.run_due() == 0  # its lease still holds
    clock.advance(dying.broadcaster.lease + timedelta(seconds=1))
    assert await survivor.broadcaster.run_due() == 1
    done = the_broadcast(survivor, broadcast_id)
    assert done.state == BroadcastState.DONE and done.owner == survivor.broadcaster.owner
    assert states(survivor, broadcast_id) == {"sent": 460}
    on_telegram = people.telegram["en"] + people.telegram["ar"]
    counts = received(telegram, on_telegram, "Krnjača")
    assert min(counts.values()) == 1, "somebody was lost"
    assert sum(counts.values()) - len(on_telegram) <= 1, "more than the one in flight repeated"
    assert set(received(viber, people.viber["en"], "Krnjača").values()) == {1}


async def test_the_author_watches_progress_in_their_message_and_sees_the_tally(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build()
    people = crowd(app, telegram, viber, {"en": 100, "ar": 50})
    chat = str(people.staff.id)
    await app.outbox.submit(Delivery(Address("telegram", chat), Reply("⏳ Sending to 150…")))
    message_id = telegram.last_message(people.staff)["message_id"]
    where = app.vault.seal(json.dumps({"user": chat, "message": f"{chat}:{message_id}"}))
    broadcast_id = create(
        app, people.world.krnjaca, author=people.staff_ref, progress_channel="telegram",
        progress_enc=where, author_locale="sr_Latn",
    )  # fmt: skip
    app.broadcaster.progress_every = 0.1
    telegram.send_delay = 0.01  # about 1.5 s of sending
    tally = await app.broadcaster.send(broadcast_id)
    assert tally is not None and tally.delivered == 150
    await app.outbox.join()
    versions = [version["text"] for version in telegram.history(people.staff, message_id)]
    serbian = app.catalogs.translator("sr_Latn")
    assert versions[0] == "⏳ Sending to 150…"
    assert versions[-1] == broadcasts.tally(serbian, {"sent": 150}, 150, done=True)
    between = versions[1:-1]
    assert between, "no progress was shown while sending"
    assert all(text.startswith("⏳") for text in between)
    assert len(telegram.messages(people.staff)) == 1  # edited in place, never a new message
    edits = telegram.calls_of("editMessageText")
    assert {(e["chat_id"], e["message_id"]) for e in edits} == {(people.staff.id, message_id)}
    with app.database.session() as db:
        entry = db.exec(
            select(AuditEntry).where(AuditEntry.action == "broadcast sent",
                                     AuditEntry.actor == people.staff_ref)
        ).one()  # fmt: skip
    assert entry.role == "staff" and entry.centre_id == people.world.krnjaca


async def test_a_scheduled_notice_waits_for_its_time_and_the_ledger_sweep_leaves_it_alone(
    build: Build, telegram: FakeTelegram, viber: FakeViber, clock: FakeClock
) -> None:
    app = await build()
    people = crowd(app, telegram, viber, {"en": 5}, {"en": 2})
    later = create(app, people.world.krnjaca, send_at=clock.now() + timedelta(hours=1))
    now = create(app, people.world.krnjaca, {"en": "Right now"})
    assert await app.sender.sweep() == 0  # the reminders' sweep: not its entries
    assert states(app, now) == {"pending": 7}
    assert await app.broadcaster.run_due() == 1
    assert states(app, later) == {"pending": 7} and states(app, now) == {"sent": 7}
    clock.advance(timedelta(hours=1))
    assert await app.broadcaster.run_due() == 1
    assert states(app, later) == {"sent": 7}
    assert set(received(telegram, people.telegram["en"], "Room 2").values()) == {1}


async def test_the_allowance_is_taken_in_one_go_and_never_past_the_cap(
    database: Database,
) -> None:
    with database.session() as db:
        taken = [q.reserve_proactive_many(db, "viber", "2026-12", 10, n) for n in (4, 4, 4, 1)]
        assert taken == [4, 4, 2, 0]
        assert q.reserve_proactive_many(db, "viber", "2027-01", None, 500) == 500
        assert q.reserve_proactive_many(db, "viber", "2027-02", 0, 5) == 0
        assert q.usage(db, "viber", "2026-12").reserved == 10
    months = iter(f"{year}-{month:02d}" for year in range(3000, 4000) for month in range(1, 13))

    @settings(max_examples=30, deadline=None)
    @given(
        cap=st.none() | st.integers(0, 50),
        asks=st.lists(st.integers(0, 30), max_size=8),
    )
    def grants_add_up(cap: int | None, asks: list[int]) -> None:
        month = next(months)  # each example counts in a month of its own
        with database.session() as db:
            granted = [q.reserve_proactive_many(db, "viber", month, cap, n) for n in asks]
            reserved = q.usage(db, "viber", month).reserved
        assert all(0 <= g <= n for g, n in zip(granted, asks, strict=True))
        assert sum(granted) == reserved == (sum(asks) if cap is None else min(sum(asks), cap))
        # Once something was refused, the allowance is used up.
        refused = [n - g for g, n in zip(granted, asks, strict=True)]
        if any(refused):
            assert cap is not None and reserved == cap

    grants_add_up()


def many(app: App, telegram: FakeTelegram, centre_id: int, count: int) -> list[FakeUser]:
    """``count`` residents on Telegram, written in one transaction."""
    users = [telegram.user(f"M{n}", "en") for n in range(count)]
    now = app.clock.now()
    with app.database.session() as db:
        db.add_all(
            Person(
                key_hash=app.vault.lookup_hash("telegram", str(user.id)), channel="telegram",
                address_enc=app.vault.seal(str(user.id)), locale="en", centre_id=centre_id,
                consented_at=now, last_seen_at=now,
            )
            for user in users
        )  # fmt: skip
    return users


async def test_a_resident_is_answered_within_a_second_while_2000_notices_go_out(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        telegram_poll_timeout=1,
        telegram_rate_limit=100,
    )
    app = build_app(settings, clock=clock, database=database)
    world = seed(database, clock.now())
    many(app, telegram, world.krnjaca, 2000)
    broadcast_id = create(app, world.krnjaca, {"en": "The clinic is closed on Friday."})
    running = asyncio.create_task(app.run())  # its scheduler finds the notice and sends it
    try:
        await telegram.wait_for(lambda: telegram.sent_count >= 100, timeout=20)
        newcomer = telegram.user("Newcomer", "en")
        waits = []
        for _ in range(4):
            answered = len(telegram.messages(newcomer)) + 1
            started = time.monotonic()
            telegram.send_text(newcomer, "/help")
            await telegram.wait_for_messages(newcomer, answered, timeout=10)
            waits.append(time.monotonic() - started)
            await asyncio.sleep(0.3)
        assert the_broadcast(app, broadcast_id).state == BroadcastState.SENDING  # still going
        assert max(waits) < 2.0, waits
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(running, 20)


async def test_a_notice_sent_from_the_chat_wakes_the_sender_at_once(
    build: Build, telegram: FakeTelegram, viber: FakeViber
) -> None:
    app = await build(notify_interval=30)  # without the kick, nothing for 30 seconds
    people = crowd(app, telegram, viber, {"en": 3})
    app.scheduler.start()
    try:
        broadcast_id = create(app, people.world.krnjaca)
        app.dispatcher.on_notify()  # what a turn with Outcome.notify does
        users = people.telegram["en"]
        await telegram.wait_for(lambda: all(telegram.texts(user) for user in users), 5)
        await telegram.wait_for(
            lambda: the_broadcast(app, broadcast_id).state == BroadcastState.DONE, 5
        )
    finally:
        await app.scheduler.stop()
