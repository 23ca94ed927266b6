"""Shared set-up for the benchmarks: a populated database and percentiles."""

from __future__ import annotations

import os
import random
import statistics
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from flows.clock import Clock
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Booking, Person, WorkshopSession

# python-telegram-bot warns on every duration it builds unless told to use timedelta;
# `workshopbot run` opts in the same way at its entry point.
os.environ.setdefault("PTB_TIMEDELTA", "true")

BENCH_KEY = "bench-data-key-0123456789abcdefghijklmnop"
TITLES = (
    "Sewing workshop",
    "IT basics",
    "Football",
    "Art and drawing",
    "Group talk",
    "Serbian for beginners",
    "Music together",
)


def populate(
    path: Path,
    clock: Clock,
    *,
    people: int,
    sessions: int,
    centres: int = 7,
    user_key_base: int = 10_000_000,
) -> tuple[Database, list[int]]:
    """A SQLite database with that many people and sessions; returns it and the centre ids."""
    path.unlink(missing_ok=True)
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    vault = Vault(BENCH_KEY)
    now = clock.now()
    rng = random.Random(7)
    with database.session() as db:
        centre_ids = []
        for n in range(centres):
            centre = q.add_centre(
                db,
                slug=f"centre-{n}",
                name=f"Centre {n}",
                kind="asylum",
                timezone="Europe/Belgrade",
                contact=None,
                now=now,
            )
            assert centre.id
            centre_ids.append(centre.id)
        if sessions:
            db.execute(
                insert(WorkshopSession),
                [
                    {
                        "centre_id": centre_ids[i % centres],
                        "title": TITLES[i % len(TITLES)],
                        "starts_at": now + timedelta(hours=1 + (i // centres) * 2),
                        "minutes": 90,
                        "capacity": 12,
                        "languages": "ar,fa",
                        "place": "Room",
                        "created_at": now,
                    }
                    for i in range(sessions)
                ],
            )
        rows = []
        for n in range(people):
            key = str(user_key_base + n)
            rows.append(
                {
                    "key_hash": vault.lookup_hash("telegram", key),
                    "channel": "telegram",
                    "address_enc": vault.seal(key),
                    "locale": rng.choice(["en", "ar", "sr_Latn"]),
                    "centre_id": centre_ids[n % centres],
                    "state": "menu",
                    "state_data": "{}",
                    "consented_at": now,
                    "last_seen_at": now,
                    "unreachable": False,
                    "tally_token": f"{n:016x}",
                }
            )
            if len(rows) == 5000:
                db.execute(insert(Person), rows)
                rows = []
        if rows:
            db.execute(insert(Person), rows)
        # Some existing bookings, so lists and counts have something to count.
        if sessions:
            db.execute(
                insert(Booking),
                [
                    {
                        "session_id": 1 + (n * 7) % sessions,
                        "person_id": 1 + n,
                        "status": "confirmed",
                        "queue_no": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(min(people, sessions * 4))
                ],
            )
    return database, centre_ids


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(values_ms: list[float]) -> str:
    return (
        f"n={len(values_ms)} mean={statistics.fmean(values_ms):.2f} ms "
        f"p50={percentile(values_ms, 50):.2f} ms p95={percentile(values_ms, 95):.2f} ms "
        f"p99={percentile(values_ms, 99):.2f} ms max={max(values_ms):.2f} ms"
    )


def now_utc() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def add_people(
    database: Database,
    centre_id: int,
    channel: str,
    keys: list[str],
    locales: tuple[str, ...] | list[str],
    now: datetime,
) -> None:
    """People who agreed long ago, written in bulk: ``keys[n]`` reads ``locales[n % len]``."""
    vault = Vault(BENCH_KEY)
    with database.session() as db:
        for start in range(0, len(keys), 5000):
            db.execute(
                insert(Person),
                [
                    {
                        "key_hash": vault.lookup_hash(channel, key),
                        "channel": channel,
                        "address_enc": vault.seal(key),
                        "locale": locales[n % len(locales)],
                        "centre_id": centre_id,
                        "state": "menu",
                        "state_data": "{}",
                        "consented_at": now,
                        "last_seen_at": now,
                        "unreachable": False,
                    }
                    for n, key in enumerate(keys[start : start + 5000], start=start)
                ],
            )
