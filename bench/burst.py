"""A burst: 300 people send /start at the same moment, through the real Telegram channel.

The stand-in Bot API (tests/fakes) accepts at most 30 sends in any sliding second and answers
429 with retry_after beyond that. The bot must answer all 300, as fast as the limit allows
(300 / 30 = 10 s), without provoking more than a handful of 429s.

    .venv/bin/python -m bench.burst [--people 300] [--limit 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import BENCH_KEY
from bot.app import build_app
from bot.settings import Settings
from flows.clock import SystemClock
from storage import migrate
from storage.db import Database
from storage.identity import Vault
from tests.fakes.telegram_api import FakeTelegram
from tests.seeding import booked_people


async def main(people: int, limit: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'burst.sqlite3'}")
        migrate.upgrade(database)
        clock = SystemClock()
        # The centre from the link, one session, and nobody yet: 300 newcomers arrive.
        booked_people(
            database,
            Vault(BENCH_KEY),
            [],
            starts_at=clock.now() + timedelta(days=1),
            capacity=12,
            now=clock.now(),
        )
        async with FakeTelegram(rate_limit=limit) as fake:
            settings = Settings(
                data_dir=Path(folder),
                data_key=BENCH_KEY,
                telegram_bot_token=fake.token,
                telegram_api_url=fake.base_url,
                telegram_rate_limit=limit,
                telegram_poll_timeout=1,
                _env_file=None,
            )  # type: ignore[call-arg]
            app = build_app(settings, clock=clock, database=database)
            users = [fake.user(f"P{n}", ("en", "ar", "sr")[n % 3]) for n in range(people)]
            for user in users:
                fake.send_text(user, "/start krnjaca")
            started = time.perf_counter()
            # As `workshopbot run` does once started (the entry point's choice, not the app's).
            task = asyncio.create_task(app.run(on_started=gc.freeze))
            await fake.wait_for(lambda: fake.sent_count >= people, timeout=120)
            elapsed = time.perf_counter() - started
            answered = sum(1 for user in users if fake.messages(user))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    minimum = people / limit
    print(f"{people} people sent /start at once; stand-in limit {limit} sends/s")
    print(f"answered: {answered}/{people}")
    print(
        f"elapsed: {elapsed:.2f} s = {elapsed / minimum:.3f} x the minimum {minimum:.1f} s "
        f"(target <= 1.05 x)"
    )
    print(f"429 answers: {fake.too_many_requests} (target: a handful at most)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.limit))
