"""Running the real bot against the stand-ins, for end-to-end tests: the same ``App.run`` the
``workshopbot run`` command runs, in this test's event loop, stopped in order afterwards.

Loaded as a pytest plugin (see conftest), so every test module can ask for the ``telegram``
and ``viber`` stand-ins and the ``polling`` bot; a module may override ``telegram`` (another
bot username, say) and ``polling`` follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from flows.clock import FakeClock
from storage.db import Database
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.seeding import World, seed


@contextlib.asynccontextmanager
async def polling_bot(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, World]]:
    """The seeded world, and the bot long-polling the Telegram stand-in."""
    settings = make_settings(
        tmp_path,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        telegram_poll_timeout=1,
    )
    world = seed(database, clock.now())
    app = build_app(settings, clock=clock, database=database)
    task = asyncio.create_task(app.run())
    try:
        yield app, world
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(rate_limit=30) as server:
        yield server


@pytest.fixture
async def viber() -> AsyncIterator[FakeViber]:
    async with FakeViber(rate_limit=50) as server:
        yield server


@pytest.fixture
async def polling(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[App, World]]:
    """The seeded world, and the bot long-polling the ``telegram`` stand-in."""
    async with polling_bot(telegram, database, clock, tmp_path) as running:
        yield running
