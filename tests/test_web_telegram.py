"""Telegram in webhook mode: the real web server, the real setWebhook, updates posted to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from flows.clock import FakeClock
from storage.db import Database
from storage.models import Booking
from tests.e2e import web_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.seeding import World


def secret_of(app: App) -> str:
    """The secret the running app gave Telegram (webhook mode has one)."""
    assert isinstance(app.telegram, TelegramChannel) and app.telegram.webhook_secret
    return app.telegram.webhook_secret


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(rate_limit=30) as server:
        yield server


@pytest.fixture
async def served(
    fake: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, World, str]]:
    async with web_bot(
        database, clock, tmp_path, lambda: fake.webhook is not None, fake.wait_for,
        telegram_bot_token=fake.token, telegram_api_url=fake.base_url,
    ) as served:  # fmt: skip
        yield served


async def test_a_whole_booking_through_the_webhook(
    fake: FakeTelegram, served: tuple[App, World, str]
) -> None:
    app, world, base = served
    assert fake.webhook is not None and fake.webhook["url"] == f"{base}/telegram"
    assert fake.webhook.get("secret_token") == secret_of(app)
    amina = fake.user("Amina", "en")

    async def step(update: dict[str, object], expect: str) -> None:
        response = await fake.deliver(update)
        assert response.status_code == 200

        def answered() -> bool:
            messages = fake.messages(amina)
            return bool(messages) and expect in messages[-1]["text"]

        await fake.wait_for(answered, timeout=10)

    await step(fake.send_text(amina, "/start krnjaca"), "Please choose")
    await step(fake.press(amina, "English"), "Do you agree?")
    await step(fake.press(amina, "I agree"), "What would you like to do?")
    await step(fake.press(amina, "Upcoming workshops"), "Sewing")
    await step(fake.tap(amina, fake.last_message(amina), f"S:{world.sewing}"), "minutes")
    booking_tap = fake.press(amina, "Book a seat")
    await step(booking_tap, "Your seat is booked")

    # Telegram retries a delivery it thinks failed: the same update_id changes nothing more.
    sent_before = fake.sent_count
    response = await fake.deliver(booking_tap)
    assert response.status_code == 200
    await app.settle()
    assert fake.sent_count == sent_before
    with app.database.session() as db:
        assert len(db.exec(select(Booking)).all()) == 1
    await fake.wait_idle()
    assert fake.unanswered_callbacks() == []


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b'{"update_id": 1}', 401),
        ({"X-Telegram-Bot-Api-Secret-Token": "guess"}, b'{"update_id": 1}', 403),
        (None, b"not json", 400),
        (None, b'{"update_id": "x", "message": 5}', 400),
        (None, b"{" + b" " * (1024 * 1024 + 10) + b"}", 413),
    ],
)
async def test_unauthenticated_or_malformed_webhooks_are_refused(
    fake: FakeTelegram,
    served: tuple[App, World, str],
    headers: dict[str, str] | None,
    body: bytes,
    status: int,
) -> None:
    app, _, base = served
    if headers is None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_of(app)}
    sent = fake.sent_count
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(f"{base}/telegram", content=body, headers=headers)
    assert response.status_code == status
    await app.settle()
    assert fake.sent_count == sent


async def test_health_check_names_channels_and_no_secrets(
    fake: FakeTelegram, served: tuple[App, World, str]
) -> None:
    app, _, base = served
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(f"{base}/healthz")
        viber = await client.post(f"{base}/viber", content=b"{}")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": True,
        "channels": {"telegram": "webhook"},
    }
    assert fake.token not in response.text and secret_of(app) not in response.text
    assert viber.status_code == 404  # Viber is not configured here
