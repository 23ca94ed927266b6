"""Peak memory of `workshopbot run` with 100,000 people in the database.

Starts the real command as a child process against the stand-in Telegram Bot API, sends it a
stream of traffic (new people onboarding, stored people browsing and booking), then reads the
child's peak resident set size (VmHWM) from /proc.

    .venv/bin/python -m bench.memory [--people 100000] [--updates 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BENCH_KEY, populate
from flows.clock import SystemClock
from tests.fakes.telegram_api import FakeTelegram


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def main(people: int, updates: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        database, _ = populate(
            Path(folder) / "workshopbot.sqlite3",
            SystemClock(),
            people=people,
            sessions=1_000,
            user_key_base=1,
        )
        database.dispose()
        print(
            f"populated {people:,} people and 1,000 sessions in "
            f"{time.perf_counter() - started:.1f} s"
        )
        async with FakeTelegram(rate_limit=30) as fake:
            env = {
                **os.environ,
                "DATA_DIR": folder,
                "DATA_KEY": BENCH_KEY,
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_API_URL": fake.base_url,
                "TELEGRAM_POLL_TIMEOUT": "1",
                "LOG_LEVEL": "WARNING",
            }
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=folder
            )
            rng = random.Random(3)
            # Stored people (their Telegram ids are 1..people) browse and book; newcomers onboard.
            for n in range(updates):
                if n % 3 == 0:
                    fake.send_text(
                        fake.user(f"New{n}", "ar", user_id=10_000_000 + n), "/start centre-0"
                    )
                else:
                    user = fake.user(f"P{n}", "en", user_id=rng.randrange(1, people + 1))
                    fake.send_text(user, rng.choice(["/menu", "/help", "hello", "/language"]))
            await fake.wait_for(lambda: fake.sent_count >= updates, timeout=120)
            rss = peak_rss_mb(child.pid)
            child.terminate()
            await child.wait()
    print(
        f"{updates} updates answered; peak RSS of `workshopbot run`: {rss:.1f} MB "
        "(target <= 150 MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=600)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.updates))
