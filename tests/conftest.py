"""Shared fixtures: a real database (SQLite, and PostgreSQL where it runs), a fake clock,
and the application built by the real composition root.

PostgreSQL: ``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Without a server the PostgreSQL variants are skipped locally, but with ``CI=true`` they fail:
CI must never pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.app import App, build_app
from bot.settings import Settings
from flows.clock import FakeClock
from storage import migrate
from storage.db import Database, normalise_url

# The stand-ins and the polling bot, as fixtures for every end-to-end test module.
pytest_plugins = ["tests.e2e"]

# python-telegram-bot warns (an error here) on every duration it builds unless told to use
# timedelta; `workshopbot run` opts in the same way at its entry point.
os.environ.setdefault("PTB_TIMEDELTA", "true")

_PG_BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Under pytest-xdist each worker (gw0, gw1, ...) gets a database of its own, made on first use
# next to the configured one, so that one worker's TRUNCATE never empties another's tables.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PG_URL = (
    make_url(_PG_BASE)
    .set(database=f"{make_url(_PG_BASE).database}_{_WORKER}")
    .render_as_string(hide_password=False)
    if _WORKER
    else _PG_BASE
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_KEY = "test-data-key-0123456789abcdefghijklmnop"
# A Tuesday morning in Belgrade (UTC+1 in winter).
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

_pg_ready: bool | None = None


def _create_worker_database() -> None:
    """Create this xdist worker's database beside the configured one, if it is not there."""
    name = make_url(PG_URL).database
    admin = create_engine(normalise_url(_PG_BASE), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        pass  # no server: the probe below says so (and fails in CI)
    finally:
        admin.dispose()


def _postgres() -> Database:
    global _pg_ready
    if _pg_ready is None:
        if _WORKER:
            _create_worker_database()
        probe = Database(PG_URL)
        _pg_ready = probe.ping()
        if _pg_ready:
            with probe.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            migrate.upgrade(probe)
        probe.dispose()
    if not _pg_ready:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL} (CI=true: must not skip)")
        pytest.skip("PostgreSQL is not running")
    database = Database(PG_URL)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE ledger, booking, person, workshop_session, centre, "
                "seen_delivery, outbound_message, monthly_usage, bot_profile, "
                "audit_log, invite_attempt, feedback, session_count, attendance_mark, "
                "distress_count, abuse_report "
                "RESTART IDENTITY CASCADE"
            )
        )
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
        migrate.upgrade(db)
    else:
        db = _postgres()
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "data_key": TEST_KEY,
        "telegram_bot_token": None,
        "notify_interval": 0.05,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings, database: Database, clock: FakeClock) -> Iterator[App]:
    application = build_app(settings, clock=clock, channels=[], database=database)
    yield application
    application.dispatcher.close()
