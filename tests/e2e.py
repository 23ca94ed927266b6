"""Running the real bot against the stand-ins, for end-to-end tests: the same ``App.run`` the
``workshopbot run`` command runs, in this test's event loop, stopped in order afterwards.

Loaded as a pytest plugin (see conftest), so every test module can ask for the ``telegram``
and ``viber`` stand-ins, the ``polling`` bot (Telegram) and the ``served`` one (Viber, its
webhook on the real web server); a module may override ``telegram`` (another bot username,
say) and ``polling`` follows, or ``served`` to give the bot other settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from flows.clock import FakeClock
from storage.db import Database
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.processes import free_port
from tests.seeding import World, seed

Served = tuple[App, World, str]  # the app, the seeded world, the web server's address


@contextlib.asynccontextmanager
async def polling_bot(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path,
    **overrides: Any,
) -> AsyncIterator[tuple[App, World]]:  # fmt: skip
    """The seeded world, and the bot long-polling the Telegram stand-in (``overrides``: other
    settings, such as a faster per-chat limit)."""
    settings = make_settings(
        tmp_path,
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        telegram_poll_timeout=1,
        **overrides,
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


@contextlib.asynccontextmanager
async def web_bot(
    database: Database, clock: FakeClock, tmp_path: Path, ready: Callable[[], bool],
    wait_for: Callable[[Callable[[], bool], float], Awaitable[None]], **settings: Any,
) -> AsyncIterator[Served]:  # fmt: skip
    """The seeded world, and the bot serving webhooks on the real web server at a free port,
    once the stand-in says ``ready`` (its webhook registered)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = make_settings(tmp_path, public_url=base, web_port=port, **settings)
    world = seed(database, clock.now())
    app = build_app(config, clock=clock, database=database)
    task = asyncio.create_task(app.run())
    try:
        await wait_for(ready, 10)
        yield app, world, base
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


async def serve(
    fake: FakeViber, database: Database, clock: FakeClock, tmp_path: Path, **settings: Any
) -> AsyncIterator[Served]:
    """The seeded world, and the bot serving Viber's webhook (registered with ``fake``)."""
    async with web_bot(
        database, clock, tmp_path, lambda: fake.webhook_url is not None, fake.wait_for,
        viber_auth_token=fake.token, viber_api_url=fake.base_url, viber_bot_name="Radionice",
        **settings,
    ) as served:  # fmt: skip
        yield served


@pytest.fixture
async def served(
    viber: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Served]:
    """The bot on the ``viber`` stand-in, with the test settings."""
    async for value in serve(viber, database, clock, tmp_path):
        yield value
