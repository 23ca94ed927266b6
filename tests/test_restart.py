"""The scheduler as a real process (`workshopbot scheduler`) against the stand-in Telegram:
killed with SIGKILL in the middle of a sweep, and run twice at once by mistake."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from tests.conftest import PG_URL, TEST_KEY, _postgres
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.seeding import booked_people


def seed(database: Database, users: list[FakeUser]) -> None:
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


async def start_scheduler(fake: FakeTelegram, folder: Path, url: str) -> asyncio.subprocess.Process:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env.update(
        {
            "DATA_DIR": str(folder),
            "DATA_KEY": TEST_KEY,
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "REMINDER_SWEEP_SECONDS": "1",
            "REMINDER_LEASE": "2s",
            "LOG_LEVEL": "WARNING",
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "scheduler", env=env, cwd=folder
    )


def received(fake: FakeTelegram, users: list[FakeUser]) -> Counter[int]:
    return Counter(user.id for user in users for text in fake.texts(user) if "Reminder" in text)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


async def test_killed_in_the_middle_of_a_sweep_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'workshopbot.sqlite3'}"
    database = Database(url)
    migrate.upgrade(database)
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(500)]
        seed(database, users)
        database.dispose()
        first = await start_scheduler(fake, tmp_path, url)
        try:
            await fake.wait_for(lambda: fake.sent_count >= 120, timeout=60)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            before = sum(received(fake, users).values())
            assert before < 500  # it really was killed half-way
            second = await start_scheduler(fake, tmp_path, url)
            try:
                await fake.wait_for(lambda: len(received(fake, users)) == 500, timeout=90)
                await asyncio.sleep(1.5)  # anything else it would (wrongly) send
            finally:
                await stop(second)
        finally:
            await stop(first)
    counts = received(fake, users)
    assert len(counts) == 500  # nothing lost
    assert sum(counts.values()) - 500 <= 1  # at most the one in flight repeated


@pytest.mark.postgres
async def test_two_schedulers_by_mistake_send_each_reminder_once(tmp_path: Path) -> None:
    _postgres().dispose()  # a clean PostgreSQL (fails in CI if there is none)
    database = Database(PG_URL)
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(150)]
        seed(database, users)
        database.dispose()
        processes = [await start_scheduler(fake, tmp_path, PG_URL) for _ in range(2)]
        try:
            await fake.wait_for(lambda: len(received(fake, users)) == 150, timeout=60)
            await asyncio.sleep(2)
        finally:
            for process in processes:
                await stop(process)
    counts = received(fake, users)
    assert set(counts.values()) == {1}


def seed_cancelled(database: Database, users: list[FakeUser]) -> None:
    """Everyone booked on a session tomorrow, which the operator then cancels: each is owed a
    message on the ledger (the `workshopbot session cancel` a scheduler has to deliver)."""
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


def told(fake: FakeTelegram, users: list[FakeUser]) -> Counter[int]:
    return Counter(
        user.id for user in users for text in fake.texts(user) if "was cancelled" in text
    )


async def test_owed_messages_survive_a_kill_and_none_is_sent_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'workshopbot.sqlite3'}"
    database = Database(url)
    migrate.upgrade(database)
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(300)]
        seed_cancelled(database, users)
        database.dispose()
        first = await start_scheduler(fake, tmp_path, url)
        try:
            await fake.wait_for(lambda: fake.sent_count >= 60, timeout=60)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            assert sum(told(fake, users).values()) < 300
            second = await start_scheduler(fake, tmp_path, url)
            try:
                await fake.wait_for(lambda: len(told(fake, users)) == 300, timeout=90)
                await asyncio.sleep(1.5)
            finally:
                await stop(second)
        finally:
            await stop(first)
    counts = told(fake, users)
    assert len(counts) == 300  # nothing lost
    assert sum(counts.values()) - 300 <= 1  # at most the one in flight repeated


@pytest.mark.postgres
async def test_two_schedulers_by_mistake_send_each_owed_message_once(tmp_path: Path) -> None:
    _postgres().dispose()
    database = Database(PG_URL)
    async with FakeTelegram(rate_limit=30) as fake:
        users = [fake.user(f"P{n}", "en") for n in range(150)]
        seed_cancelled(database, users)
        database.dispose()
        processes = [await start_scheduler(fake, tmp_path, PG_URL) for _ in range(2)]
        try:
            await fake.wait_for(lambda: len(told(fake, users)) == 150, timeout=60)
            await asyncio.sleep(2)
        finally:
            for process in processes:
                await stop(process)
    assert set(told(fake, users).values()) == {1}
