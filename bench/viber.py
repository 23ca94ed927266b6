"""Viber webhooks under load: 1,000 signed message callbacks from 200 people, 20 in flight.

Three processes, as in production: the bot (the real `workshopbot run`), the stand-in Viber API
(this process, which also receives the bot's send_message calls), and a load generator
(bench/viber_load.py) standing in for Viber's servers posting callbacks. Each callback must be
answered 200 quickly (the conversation runs after the answer), and every reply must then reach
the stand-in within its rate limit.

    .venv/bin/python -m bench.viber [--callbacks 1000] [--people 200] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import BENCH_KEY, summary
from flows.clock import SystemClock
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.test_web_telegram import free_port


def seed(path: Path, users: list[FakeViberUser]) -> list[int]:
    """A centre with 20 sessions and the 200 people already agreed; returns session ids."""
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    clock = SystemClock()
    vault = Vault(BENCH_KEY)
    now = clock.now()
    with database.session() as db:
        centre = q.add_centre(
            db,
            slug="krnjaca",
            name="Krnjača",
            kind="asylum",
            timezone="Europe/Belgrade",
            contact=None,
            now=now,
        )
        assert centre.id
        ids = []
        for n in range(20):
            session = q.add_session(
                db,
                centre_id=centre.id,
                title=f"Workshop {n}",
                minutes=90,
                capacity=12,
                starts_at=now + timedelta(hours=5 + n),
                languages=["ar"],
                place=None,
                now=now,
            )
            assert session.id
            ids.append(session.id)
        for user in users:
            q.create_person(
                db,
                vault,
                channel="viber",
                user_key=user.id,
                locale="en",
                centre_id=centre.id,
                now=now,
            )
    database.dispose()
    return ids


def callback_bodies(users: list[FakeViberUser], sessions: list[int], count: int) -> list[bytes]:
    rng = random.Random(5)
    bodies = []
    for n in range(count):
        text = rng.choice(["M", "W", f"S:{rng.choice(sessions)}", "/help", "K"])
        bodies.append(
            json.dumps(
                {
                    "event": "message",
                    "timestamp": int(time.time() * 1000),
                    "chat_hostname": "SN-CHAT-01_",
                    "message_token": 9_000_000 + n,
                    "sender": {"id": users[n % len(users)].id, "language": "en", "api_version": 10},
                    "message": {"type": "text", "text": text},
                    "silent": True,
                }
            ).encode()
        )
    return bodies


async def main(callbacks: int, people: int, concurrency: int, limit: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "viber.sqlite3"
        async with FakeViber(rate_limit=limit) as fake:
            users = [fake.user(f"P{n}", "en") for n in range(people)]
            sessions = seed(path, users)
            port = free_port()
            env = {
                **os.environ,
                "DATA_DIR": folder,
                "DATA_KEY": BENCH_KEY,
                "DATABASE_URL": f"sqlite:///{path}",
                "VIBER_AUTH_TOKEN": fake.token,
                "VIBER_API_URL": fake.base_url,
                "VIBER_RATE_LIMIT": str(limit),
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                "WEB_PORT": str(port),
                "LOG_LEVEL": "WARNING",
            }
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=folder
            )
            try:
                await fake.wait_for(lambda: fake.webhook_url is not None, timeout=30)
                for user in users:  # a first message subscribes each of them
                    await fake.send_text(user, "/menu")
                await fake.wait_for(lambda: fake.sent_count >= people, timeout=120)
                await asyncio.sleep(3)  # let each chat's burst allowance fill up again
                sent_before = fake.sent_count
                started = time.perf_counter()
                load = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.viber_load",
                    "127.0.0.1",
                    str(port),
                    "/viber",
                    fake.token,
                    str(concurrency),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await load.communicate(
                    b"\n".join(callback_bodies(users, sessions, callbacks))
                )
                posted = time.perf_counter() - started
                results = json.loads(out)
                await fake.wait_for(lambda: fake.sent_count - sent_before >= callbacks, timeout=300)
                delivered = time.perf_counter() - started
            finally:
                if bot.returncode is None:
                    bot.terminate()
                await bot.wait()
    statuses: dict[int, int] = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"{callbacks} signed callbacks from {people} people, {concurrency} in flight")
    print(f"HTTP answers: {statuses}; all posted in {posted:.1f} s")
    print(f"callback latency: {summary([ms for ms, _ in results])} (target p99 <= 50 ms)")
    print(
        f"all {callbacks} replies sent {delivered:.1f} s after the first callback "
        f"(limit {limit}/s: at least {callbacks / limit:.1f} s); "
        f"tooManyRequests answers: {fake.too_many_requests}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=1000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.callbacks, args.people, args.concurrency, args.limit))
