"""Viber's broadcast_message through the outbox, against the stand-in Viber API and a real
database: calls of at most 300 receivers, the unsubscribed marked unreachable, the monthly cap
kept per receiver, and neither a chat's queue nor a chatting person's reply overtaken or held
up by a batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.channels.base import Delivery
from bot.outbox import Result
from flows.clock import FakeClock
from flows.events import Address, Incoming, from_text
from flows.replies import Button, Reply
from storage import queries as q
from storage.db import Database
from tests.conftest import make_settings
from tests.fakes.viber_api import FakeViber, FakeViberUser

NEWS = Reply("The sewing workshop moves to Thursday.", ((Button("Menu", "M"),),))


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber(rate_limit=30) as server:
        yield server


Build = Callable[..., App]


@pytest.fixture
async def build(fake: FakeViber, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Build]:
    """The real composition root with Viber pointed at the stand-in (not serving webhooks:
    these tests hand the outbox its batches themselves)."""
    built: list[App] = []

    def make(database: Database, **settings: object) -> App:
        config = make_settings(
            tmp_path,
            viber_auth_token=fake.token,
            viber_api_url=fake.base_url,
            viber_bot_name="Radionice",
            **settings,
        )
        built.append(build_app(config, clock=clock, database=database))
        return built[-1]

    yield make
    for app in built:
        await app.outbox.close()
        if app.viber is not None:
            await app.viber.close()
        app.dispatcher.close()


def store(app: App, users: list[FakeViberUser]) -> list[int]:
    """People who agreed and last wrote now; their ids."""
    ids = []
    with app.database.session() as db:
        for user in users:
            person = q.create_person(
                db,
                app.vault,
                channel="viber",
                user_key=user.id,
                locale="en",
                centre_id=None,
                now=app.clock.now(),
            )
            assert person.id is not None
            ids.append(person.id)
    return ids


def news_for(users: list[FakeViberUser], ids: list[int] | None = None) -> list[Delivery]:
    return [
        Delivery(
            Address("viber", user.id),
            NEWS,
            person_id=ids[n] if ids else None,
            bot_initiated=True,
        )
        for n, user in enumerate(users)
    ]


def unreachable(app: App, user: FakeViberUser) -> bool:
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "viber", user.id)
        assert person is not None
        return person.unreachable


async def test_650_receivers_go_in_three_calls_and_the_unsubscribed_is_marked(
    fake: FakeViber, build: Build, database: Database, clock: FakeClock
) -> None:
    app = build(database)
    users = [fake.user(f"R{n}", subscribed=n != 7) for n in range(650)]
    ids = store(app, users)
    clock.advance(timedelta(hours=25))  # nobody wrote for a day: every message is billed
    results = await asyncio.gather(*app.outbox.submit_batch("viber", news_for(users, ids)))
    assert [len(body["broadcast_list"]) for body in fake.broadcasts()] == [300, 300, 50]
    assert fake.broadcasts()[0]["keyboard"]["Buttons"][0]["ActionBody"] == "M"
    assert results[7] is Result.UNREACHABLE
    assert results.count(Result.SENT) == 649
    assert unreachable(app, users[7]) and not unreachable(app, users[8])
    assert fake.texts(users[649]) == [NEWS.text] and fake.texts(users[7]) == []
    with app.database.session() as db:
        usage = q.usage(db, "viber", clock.now().strftime("%Y-%m"))
    # Reserved before the call, so the unsubscribed one counts too; only the reached ones
    # are recorded as sent.
    assert (usage.reserved, usage.bot_initiated, usage.replies) == (650, 649, 0)


async def test_the_cap_stops_billed_receivers_at_the_right_count(
    fake: FakeViber, build: Build, database: Database, clock: FakeClock
) -> None:
    app = build(database, viber_monthly_proactive_cap=120)
    quiet = [fake.user(f"Q{n}", subscribed=True) for n in range(200)]
    quiet_ids = store(app, quiet)
    clock.advance(timedelta(hours=25))
    talking = [fake.user(f"T{n}", subscribed=True) for n in range(10)]
    talking_ids = store(app, talking)  # they wrote just now: answering them is free
    # The first call is refused as too many: retried after a pause, and reserved only once.
    fake.fail_next("broadcast_message", 12, "tooManyRequests")
    deliveries = news_for(quiet + talking, quiet_ids + talking_ids)
    results = await asyncio.gather(*app.outbox.submit_batch("viber", deliveries))
    assert results[:120] == [Result.SENT] * 120
    assert results[120:200] == [Result.FAILED] * 80
    assert results[200:] == [Result.SENT] * 10
    assert [len(body["broadcast_list"]) for body in fake.broadcasts()] == [130, 130]
    assert fake.texts(quiet[119]) == [NEWS.text] and fake.texts(quiet[120]) == []
    assert app.outbox.retries_after == 1
    with app.database.session() as db:
        usage = q.usage(db, "viber", clock.now().strftime("%Y-%m"))
    assert (usage.reserved, usage.bot_initiated, usage.replies) == (120, 120, 10)


async def test_a_batch_does_not_overtake_what_a_chat_has_queued(
    fake: FakeViber, build: Build, sqlite_database: Database
) -> None:
    app = build(sqlite_database)
    users = [fake.user(f"O{n}", subscribed=True) for n in range(5)]
    earlier = app.outbox.submit(Delivery(Address("viber", users[0].id), Reply("Earlier")))
    futures = app.outbox.submit_batch("viber", news_for(users))
    assert await asyncio.gather(earlier, *futures) == [Result.SENT] * 6
    assert fake.texts(users[0]) == ["Earlier", NEWS.text]
    assert [m["via"] for m in fake.messages(users[0])] == ["send_message", "send_message"]
    assert [body["broadcast_list"] for body in fake.broadcasts()] == [[u.id for u in users[1:]]]


async def test_a_reply_to_someone_chatting_is_not_held_behind_a_batch(
    fake: FakeViber, build: Build, sqlite_database: Database
) -> None:
    app = build(sqlite_database, viber_rate_limit=1)  # the batch's three calls take 2 s
    users = [fake.user(f"C{n}", subscribed=True) for n in range(650)]
    chatting = users[-1]  # in the last call
    futures = app.outbox.submit_batch("viber", news_for(users))
    await app.dispatcher.handle(
        Incoming(Address("viber", chatting.id), from_text("/help"), language_hint="en")
    )
    await fake.wait_for(lambda: bool(fake.texts(chatting)), timeout=10)
    assert len(fake.broadcasts()) < 3  # answered before the batch reached them
    assert await asyncio.gather(*futures) == [Result.SENT] * 650
    texts = fake.texts(chatting)
    assert len(texts) == 2 and "call" in texts[0] and texts[1] == NEWS.text
