"""Handling latency: from an update arriving to its reply handed to the channel's send.

10,000 people and 1,000 sessions in SQLite. Updates arrive at a steady rate from random
people (menu, workshop list, details, booking, my bookings), through the real dispatcher,
conversation, database and outbox; the channel records when each reply reaches it.

    .venv/bin/python -m bench.latency [--updates 3000] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_KEY, populate, summary
from bot.app import build_app
from bot.channels.base import Delivery, Sent
from bot.settings import Settings
from flows.clock import SystemClock
from flows.events import Address, Choice, Command, Incoming


@dataclass
class Stopwatch:
    name: str = "telegram"
    rate_limit: float | None = None
    arrived: dict[Address, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    async def send(self, delivery: Delivery) -> Sent:
        started = self.arrived.pop(delivery.address, None)
        if started is not None:
            self.latencies.append((time.perf_counter() - started) * 1000)
        return Sent.success()


async def main(updates: int, rate: float) -> None:
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        t0 = time.perf_counter()
        database, _ = populate(path, clock, people=10_000, sessions=1_000)
        print(f"populated 10,000 people and 1,000 sessions in {time.perf_counter() - t0:.1f} s")
        settings = Settings(
            data_dir=Path(folder),
            data_key=BENCH_KEY,
            chat_rate_limit=1000,
            chat_burst=1000,
            _env_file=None,
        )  # type: ignore[call-arg]
        watch = Stopwatch()
        app = build_app(settings, clock=clock, channels=[watch], database=database)
        gc.collect()
        gc.freeze()  # as `workshopbot run` does once started (bot/cli/serve.py)
        rng = random.Random(1)
        interval = 1 / rate
        started = time.perf_counter()
        for n in range(updates):
            person = rng.randrange(10_000)
            address = Address("telegram", str(10_000_000 + person))
            if address in watch.arrived:
                continue  # one update in flight per person keeps the stopwatch honest
            event = rng.choice(
                [
                    Command("menu"),
                    Choice("W"),
                    Choice(f"S:{rng.randrange(1, 1001)}"),
                    Choice(f"B:{rng.randrange(1, 1001)}"),
                    Choice("K"),
                ]
            )
            watch.arrived[address] = time.perf_counter()
            app.dispatcher.submit(Incoming(address, event))
            delay = started + (n + 1) * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await app.settle()
        await app.aclose()
    print(f"{updates} updates at {rate:.0f}/s: {summary(watch.latencies)}")
    print("target: p99 <= 20 ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.rate))
