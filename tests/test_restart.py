"""The scheduler as a real process (`workshopbot scheduler`) against the stand-in Telegram:
killed with SIGKILL in the middle of a sweep, and run twice at once by mistake. Both kinds of
ledger entry are tried: reminders (claimed by the sweep) and messages owed because a
session was cancelled (written pending by `session cancel`)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from tests.conftest import PG_URL, TEST_KEY, _postgres
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.processes import start_bot, stop
from tests.seeding import booked_people

Seed = Callable[[Database, list[FakeUser]], None]


def seed_reminders(database: Database, users: list[FakeUser]) -> None:
    """Everyone booked on a session in 50 minutes: each one's 1-hour reminder is due now."""
    now = datetime.now(UTC)
    booked_people(
        database,
        Vault(TEST_KEY),
        [str(user.id) for user in users],
        starts_at=now + timedelta(minutes=50),
        capacity=len(users),
        now=now,
        booked_at=now - timedelta(days=1),
    )


def seed_cancelled(database: Database, users: list[FakeUser]) -> None:
    """Everyone booked on a session tomorrow, which the operator then cancels: each is owed a
    message on the ledger (what `workshopbot session cancel` leaves for a scheduler)."""
    now = datetime.now(UTC)
    session_id = booked_people(
        database,
        Vault(TEST_KEY),
        [str(user.id) for user in users],
        starts_at=now + timedelta(days=1),
        capacity=len(users),
        now=now,
    )
    with database.session() as db:
        assert q.cancel_session(db, session_id, now) == len(users)


SCENARIOS: dict[str, tuple[Seed, str]] = {
    "reminders": (seed_reminders, "Reminder"),
    "owed": (seed_cancelled, "was cancelled"),
}


async def start_scheduler(fake: FakeTelegram, folder: Path, url: str) -> asyncio.subprocess.Process:
    return await start_bot(
        fake, folder, url, "scheduler", REMINDER_SWEEP_SECONDS="1", REMINDER_LEASE="2s"
    )


def received(fake: FakeTelegram, users: list[FakeUser], text: str) -> Counter[int]:
    return Counter(user.id for user in users for said in fake.texts(user) if text in said)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_killed_in_the_middle_of_a_sweep_loses_nothing(tmp_path: Path, scenario: str) -> None:
    seed, text = SCENARIOS[scenario]
    url = f"sqlite:///{tmp_path / 'workshopbot.sqlite3'}"
    database = Database(url)
    migrate.upgrade(database)
    people = 300
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(people)]
        seed(database, users)
        database.dispose()
        first = await start_scheduler(fake, tmp_path, url)
        try:
            await fake.wait_for(lambda: fake.sent_count >= 80, timeout=60)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            assert sum(received(fake, users, text).values()) < people  # killed half-way
            second = await start_scheduler(fake, tmp_path, url)
            try:
                await fake.wait_for(lambda: len(received(fake, users, text)) == people, timeout=90)
                await asyncio.sleep(1.5)  # anything else it would (wrongly) send
            finally:
                await stop(second)
        finally:
            await stop(first)
    counts = received(fake, users, text)
    assert len(counts) == people  # nothing lost
    assert sum(counts.values()) - people <= 1  # at most the one in flight repeated


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_two_schedulers_by_mistake_send_each_message_once(
    tmp_path: Path, scenario: str
) -> None:
    seed, text = SCENARIOS[scenario]
    _postgres().dispose()  # a clean PostgreSQL (fails in CI if there is none)
    database = Database(PG_URL)
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(150)]
        seed(database, users)
        database.dispose()
        processes = [await start_scheduler(fake, tmp_path, PG_URL) for _ in range(2)]
        try:
            await fake.wait_for(lambda: len(received(fake, users, text)) == 150, timeout=60)
            await asyncio.sleep(2)
        finally:
            for process in processes:
                await stop(process)
    assert set(received(fake, users, text).values()) == {1}
