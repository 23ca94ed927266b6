"""End to end on Viber: signed callbacks posted by a stand-in Viber to the real web server,
answers sent back through the stand-in's send_message, and the database checked after."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.base import Delivery
from bot.channels.viber import ViberChannel
from bot.outbox import Outbox, Result
from flows.clock import FakeClock
from flows.events import Address
from flows.replies import Button, Reply
from storage import queries as q
from storage.db import Database
from storage.models import Booking
from tests.e2e import Served, serve
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.owed import pending


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber(rate_limit=50) as server:
        yield server


@pytest.fixture
async def served(
    fake: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Served]:
    async for value in serve(fake, database, clock, tmp_path, viber_monthly_proactive_cap=1):
        yield value


async def until(fake: FakeViber, user: FakeViberUser, expect: str) -> str:
    def said() -> bool:
        texts = fake.texts(user)
        return bool(texts) and expect in texts[-1]

    await fake.wait_for(said, timeout=10)
    return fake.texts(user)[-1]


async def onboard(fake: FakeViber, user: FakeViberUser, label: str = "English") -> None:
    """Onboard an English reader through the centre's link."""
    welcome = await fake.open(user, "krnjaca")
    assert "Please choose" in welcome["text"] or "اختر" in welcome["text"]
    await fake.tap(user, label)
    await until(fake, user, "Do you agree?")
    await fake.tap(user, "✅")
    await until(fake, user, "What would you like to do?")


async def test_onboarding_booking_waitlist_and_cancellation(
    fake: FakeViber, served: Served
) -> None:
    app, world, _ = served
    assert fake.webhook_url is not None and fake.webhook_url.endswith("/viber")
    assert set(fake.event_types or []) >= {"conversation_started", "subscribed", "unsubscribed"}
    amina, ben, chen = fake.user("Amina", "ar"), fake.user("Ben", "en"), fake.user("Chen", "en")

    welcome = await fake.open(amina, "krnjaca")
    labels = [label for label, _ in fake.buttons(welcome)]
    assert labels[0] == "العربية"  # her app's language first
    assert all(len(data.encode()) <= 64 and data not in labels for _, data in fake.buttons(welcome))
    assert not fake.is_subscribed(amina)
    await fake.tap(amina, "العربية")
    assert fake.is_subscribed(amina)
    await until(fake, amina, "Krnjača")
    shown = len(fake.texts(amina))
    await fake.tap(amina, "✅")
    await fake.wait_for(lambda: len(fake.texts(amina)) > shown, timeout=10)

    for person in (ben, chen):
        await onboard(fake, person)
    for person in (amina, ben):
        await fake.send_text(person, f"S:{world.it}")  # what the workshop's button sends
        await until(fake, person, "IT basics")
        shown = len(fake.messages(person))
        await fake.send_text(person, f"B:{world.it}")
        # The session's screen already names the workshop: wait for the booking's own answer,
        # or Chen may look before Ben's seat is committed.
        await fake.wait_for_messages(person, shown + 1, timeout=10)
        assert "IT basics" in fake.texts(person)[-1]
    await fake.tap(chen, "Upcoming workshops")
    await until(fake, chen, "IT basics")
    await fake.tap(chen, "IT basics")
    await until(fake, chen, "minutes")
    await fake.tap(chen, "Join the waitlist")
    await until(fake, chen, "number 1 on the waitlist")

    shown = len(fake.texts(amina))
    await fake.send_text(amina, "K")  # what "My bookings" sends
    await fake.wait_for(lambda: len(fake.texts(amina)) > shown, timeout=10)
    await fake.tap(amina, "❌")
    shown += 1  # "are you sure?", asked once
    await fake.wait_for(lambda: len(fake.texts(amina)) > shown, timeout=10)
    await fake.tap(amina, "❌")
    await until(fake, chen, "a seat became free")
    with app.database.session() as db:
        rows = db.exec(select(Booking).where(Booking.session_id == world.it)).all()
        assert sorted(b.status for b in rows) == ["cancelled", "confirmed", "confirmed"]
        usage = q.usage(db, "viber", app.clock.now().strftime("%Y-%m"))
    # Chen wrote minutes ago: the seat offer is inside Viber's free 24-hour window.
    assert usage.bot_initiated == 0 and usage.replies >= 10


async def test_unsubscribing_stops_messages_and_proactive_ones_are_capped(
    fake: FakeViber, served: Served, clock: FakeClock
) -> None:
    app, world, _ = served
    people = [fake.user(f"P{n}", "en") for n in range(3)]
    for person in people:
        await onboard(fake, person)
        await fake.send_text(person, f"B:{world.sewing}")
        await until(fake, person, "Your seat is booked")
    await fake.unsubscribe(people[2])
    await fake.wait_for(lambda: _unreachable(app, people[2].id), timeout=10)

    # A day and more later the operator cancels: telling people is now bot-initiated (billed),
    # and the cap of 1 lets exactly one such message through.
    clock.advance(timedelta(hours=25))
    with app.database.session() as db:
        q.cancel_session(db, world.sewing, clock.now())
    app.scheduler.kick()
    await fake.wait_for(
        lambda: sum("was cancelled" in fake.texts(p)[-1] for p in people[:2]) == 1, timeout=10
    )
    await app.settle()
    told = [p for p in people if "was cancelled" in fake.texts(p)[-1]]
    assert len(told) == 1 and people[2] not in told
    with app.database.session() as db:
        usage = q.usage(db, "viber", clock.now().strftime("%Y-%m"))
    assert usage.bot_initiated == 1 and usage.reserved == 1
    assert pending(app) == 0  # the refused one is not retried for ever


async def test_bad_callbacks_are_refused_or_answered_never_a_500(
    fake: FakeViber, served: Served
) -> None:
    app, _, _ = served
    sara = fake.user("Sara", "en")
    await onboard(fake, sara)
    before = len(fake.texts(sara))
    message = {
        "event": "message",
        "timestamp": 1,
        "message_token": 777,
        "sender": {"id": sara.id, "language": "en"},
        "message": {"type": "text", "text": "B:1"},
    }
    assert (await fake.post_event(message, signature=None)).status_code == 401
    assert (await fake.post_event(message, signature="0" * 64)).status_code == 403
    assert (await fake.post_event(b"not json")).status_code == 400
    assert (await fake.post_event(b"[" + b" " * (1024 * 1024) + b"]")).status_code == 413
    assert (await fake.post_event({"event": "client_status", "timestamp": 1})).status_code == 200
    assert (await fake.post_event({**message, "sender": None})).status_code == 200
    await app.settle()
    assert len(fake.texts(sara)) == before  # nothing above reached the conversation

    for send in (
        fake.send_picture,
        fake.send_sticker,
        fake.send_contact,
        fake.send_location,
        fake.send_file,
    ):
        response = await send(sara)
        assert response.status_code == 200
        await until(fake, sara, "only understand written messages")
    await fake.send_text(sara, "x" * 6000)
    await until(fake, sara, "too long")
    with app.database.session() as db:
        assert db.exec(select(Booking)).all() == []


async def test_a_replayed_callback_changes_and_sends_nothing(
    fake: FakeViber, served: Served
) -> None:
    app, world, _ = served
    omar = fake.user("Omar", "en")
    await onboard(fake, omar)
    await fake.send_text(omar, f"B:{world.sewing}")
    await until(fake, omar, "Your seat is booked")
    await app.settle()
    sent = fake.sent_count
    response = await fake.replay_last()
    assert response.status_code == 200
    await app.settle()
    assert fake.sent_count == sent
    with app.database.session() as db:
        assert len(db.exec(select(Booking)).all()) == 1


async def test_too_many_requests_backs_off_and_not_subscribed_marks_unreachable(
    fake: FakeViber, served: Served
) -> None:
    app, _, _ = served
    lina = fake.user("Lina", "en")
    await onboard(fake, lina)
    fake.fail_next("send_message", 12, "tooManyRequests")
    loop = asyncio.get_running_loop()
    started = loop.time()
    shown = len(fake.texts(lina))
    await fake.send_text(lina, "/menu")
    await fake.wait_for(lambda: len(fake.texts(lina)) > shown, timeout=10)
    assert loop.time() - started >= 1.5  # backed off, then sent once
    await app.settle()
    assert len(fake.texts(lina)) == shown + 1

    fake.fail_next("send_message", 6, "notSubscribed")
    await fake.send_text(lina, "/help")
    await fake.wait_for(lambda: _unreachable(app, lina.id), timeout=10)


async def test_health_check(fake: FakeViber, served: Served) -> None:
    _, _, base = served
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"{base}/healthz")
    assert response.json()["channels"] == {"viber": "webhook"}
    assert fake.token not in response.text
    assert json.loads(response.text)["database"] is True


def _unreachable(app: App, user_id: str) -> bool:
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "viber", user_id)
        return person is not None and person.unreachable


async def test_broadcast_reaches_subscribers_in_batches_of_300(fake: FakeViber) -> None:
    people = [fake.user(f"B{n}", "en") for n in range(301)]
    reply = Reply("Hello", ((Button("Menu", "M"),),))
    channel = ViberChannel(fake.token, fake.base_url, bot_name="Radionice")
    outbox = Outbox({"viber": channel})
    try:
        futures = outbox.submit_batch(
            "viber", [Delivery(Address("viber", p.id), reply) for p in people]
        )
        # Nobody has written yet, so nobody is subscribed: every receiver is reported back.
        results = await asyncio.gather(*futures)
    finally:
        await outbox.close()
        await channel.close()
    assert results == [Result.UNREACHABLE] * 301
    calls = fake.broadcasts()
    assert [len(body["broadcast_list"]) for body in calls] == [300, 1]
    assert calls[0]["keyboard"]["Buttons"][0]["ActionBody"] == "M"


async def test_receipts_are_answered_without_a_reply(fake: FakeViber, served: Served) -> None:
    app, _, _ = served
    omar = fake.user("Omar", "en")
    await onboard(fake, omar)
    sent = fake.sent_count
    for event in ("delivered", "seen", "failed"):
        response = await fake.receipt(omar, event)
        assert response is not None and response.status_code == 200
    await app.settle()
    assert fake.sent_count == sent
