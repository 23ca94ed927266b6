"""Broadcasts: a notice to 10,000 Telegram residents at the platform's limit while others keep
talking to the bot; the same to 10,000 Viber residents in batched calls; and the memory of the
sending process with 100,000 recipients.

Each part runs the real `workshopbot` as a child process against the stand-ins (this process
serves them), on a SQLite database populated in bulk. The notice is written the way the chat and
the CLI write it (``flows.broadcasts.create``: the notice and one ledger entry per recipient);
the process's scheduler then sends it.

    .venv/bin/python -m bench.broadcast telegram [--recipients 10000] [--rate 300]
    .venv/bin/python -m bench.broadcast telegram --rates 100,150,200,250,300 --recipients 5000
    .venv/bin/python -m bench.broadcast viber [--recipients 10000] [--split 3400,3300,3300]
    .venv/bin/python -m bench.broadcast memory [--recipients 100000] [--viber-share 0.9]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BENCH_KEY, add_people, percentile
from bench.memory import peak_rss_mb
from flows import broadcasts
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.models import Broadcast, BroadcastAudience
from tests.fakes.server import wait_until
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.processes import start_command

JSON = dict[str, Any]
LANGUAGES = ("en", "ar", "sr_Latn")
TEXTS = {
    "en": "The clinic is open on Friday from 9 to 12. Please bring your card.",
    "ar": "العيادة مفتوحة يوم الجمعة من 9 إلى 12. يرجى إحضار بطاقتكم.",
    "sr_Latn": "Ambulanta radi u petak od 9 do 12. Molimo ponesite karticu.",
}
FIRST_USER_ID = 10_000_000  # Telegram ids of the recipients; the talkers get the fake's own


class TimedTelegram(FakeTelegram):
    """The stand-in Bot API, noting when each message reached which chat."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: list[tuple[float, int]] = []
        self.waiting: dict[int, asyncio.Event] = {}

    async def _send_message(self, params: JSON) -> JSON:
        message = await super()._send_message(params)
        chat_id = int(message["chat"]["id"])
        self.arrivals.append((time.perf_counter(), chat_id))
        event = self.waiting.get(chat_id)
        if event is not None:
            event.set()
        return message


class TimedViber(FakeViber):
    """The stand-in Viber API, noting when each broadcast_message call was accepted."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.call_times: list[float] = []

    async def _broadcast_message(self, body: JSON) -> JSON:
        answer = await super()._broadcast_message(body)
        self.call_times.append(time.perf_counter())
        return answer


# ------------------------------------------------------------------------------------------
# Set-up shared by the parts


def new_database(folder: Path) -> tuple[Database, str, list[int]]:
    """A migrated SQLite database with two centres: the recipients' and the talkers'."""
    url = f"sqlite:///{folder / 'workshopbot.sqlite3'}"
    database = Database(url)
    migrate.upgrade(database)
    now = datetime.now(UTC)
    ids = []
    with database.session() as db:
        for slug in ("krnjaca", "obrenovac"):
            centre = q.add_centre(
                db, slug=slug, name=slug.capitalize(), kind="asylum",
                timezone="Europe/Belgrade", contact=None, now=now,
            )  # fmt: skip
            assert centre.id is not None
            ids.append(centre.id)
    return database, url, ids


def write_broadcast(database: Database) -> tuple[int, float]:
    """The notice to everyone at Krnjača, to go now; its id and when it was written."""
    with database.session() as db:
        centre = q.centre_by_slug(db, "krnjaca")
        assert centre is not None
        notice = broadcasts.create(
            db,
            datetime.now(UTC),
            centre=centre,
            author="cli",
            audience=broadcasts.Audience(BroadcastAudience.CENTRE),
            texts=TEXTS,
            base_locale="en",
        )
        assert notice.id is not None
        notice_id = notice.id
    return notice_id, time.perf_counter()


def state_of(database: Database, notice_id: int) -> tuple[str, dict[str, int]]:
    with database.session() as db:
        row = db.get(Broadcast, notice_id)
        assert row is not None
        return row.state, q.broadcast_counts(db, notice_id)


async def until_done(database: Database, notice_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (await asyncio.to_thread(state_of, database, notice_id))[0] != "done":
        if time.monotonic() > deadline:
            state = await asyncio.to_thread(state_of, database, notice_id)
            raise AssertionError(f"the broadcast is not done after {timeout:.0f} s: {state}")
        await asyncio.sleep(0.5)


def ms(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"n={len(values)} p50={percentile(values, 50):.0f} ms "
        f"p99={percentile(values, 99):.0f} ms max={max(values):.0f} ms"
    )


# ------------------------------------------------------------------------------------------
# Telegram: the send rate against the limit, and the replies to people talking meanwhile


@dataclass
class Talkers:
    """People at another centre who send /menu in turn, one every ``every`` seconds; each
    one's turn comes round rarely enough that their own chat's limit (1/s) never holds them."""

    fake: TimedTelegram
    users: list[Any]
    every: float = 0.2
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    _probes: set[asyncio.Task[None]] = field(default_factory=set)

    async def talk(self, seconds: float | None = None) -> None:
        """Until cancelled (or for ``seconds``); replies still on their way are awaited."""
        started = time.perf_counter()
        try:
            for n in itertools.count():
                if seconds is not None and time.perf_counter() - started >= seconds:
                    break
                task = asyncio.create_task(self._probe(self.users[n % len(self.users)]))
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)
                await asyncio.sleep(max(0.0, started + (n + 1) * self.every - time.perf_counter()))
        finally:
            await asyncio.gather(*self._probes, return_exceptions=True)

    async def _probe(self, user: Any) -> None:
        event = self.fake.waiting[user.id] = asyncio.Event()
        sent = time.perf_counter()
        self.fake.send_text(user, "/menu")
        try:
            await asyncio.wait_for(event.wait(), 30)
        except TimeoutError:
            self.lost += 1
            return
        self.latencies.append((time.perf_counter() - sent) * 1000)


@dataclass
class TelegramFigures:
    recipients: int
    rate: int
    seconds: float
    broadcast_rate: float
    all_rate: float
    too_many: int
    missed: int
    doubled: int
    first_after: float
    during: list[float]
    before: list[float]
    lost: int
    counts: dict[str, int]
    cpu: tuple[float, float]  # seconds: the bot's process, and this one (the stand-in)

    @property
    def ratio(self) -> float:
        return self.all_rate / self.rate


async def telegram_run(recipients: int, rate: int, talkers: int = 20) -> TelegramFigures:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database, url, (krnjaca, obrenovac) = new_database(folder)
        fake = TimedTelegram(rate_limit=rate)
        async with fake:
            users = [fake.user(f"R{n}", None, user_id=FIRST_USER_ID + n) for n in range(recipients)]
            chatty = [fake.user(f"C{n}", "en") for n in range(talkers)]
            now = datetime.now(UTC)
            add_people(database, krnjaca, "telegram", [str(u.id) for u in users], LANGUAGES, now)
            add_people(database, obrenovac, "telegram", [str(u.id) for u in chatty], ["en"], now)
            bot = await start_command(
                folder, url, "run", telegram=fake, DATA_KEY=BENCH_KEY,
                TELEGRAM_RATE_LIMIT=str(rate), NOTIFY_INTERVAL="1",
            )  # fmt: skip
            try:
                await fake.wait_for(lambda: fake.calls_to("getUpdates") >= 1, timeout=60)
                talk = Talkers(fake, chatty)
                await talk.talk(seconds=3)  # the replies before the broadcast, for comparison
                before, talk.latencies = talk.latencies, []
                notice_id, written = await asyncio.to_thread(write_broadcast, database)
                cpu = (cpu_seconds(bot.pid), time.process_time())
                talking = asyncio.create_task(talk.talk())
                wanted = {u.id for u in users}
                got: set[int] = set()
                seen = [0]  # arrivals looked at so far

                def everyone() -> bool:
                    fresh, seen[0] = fake.arrivals[seen[0] :], len(fake.arrivals)
                    got.update(chat for _, chat in fresh if chat in wanted)
                    return len(got) >= len(wanted)

                try:
                    await wait_until(everyone, recipients / rate * 3 + 60, fake.summary)
                    cpu = (cpu_seconds(bot.pid) - cpu[0], time.process_time() - cpu[1])
                    await until_done(database, notice_id, 30)
                    await asyncio.sleep(1)  # anything it would (wrongly) send again
                finally:
                    talking.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await talking
                counts = (await asyncio.to_thread(state_of, database, notice_id))[1]
            finally:
                bot.terminate()
                await bot.wait()
                database.dispose()
    to_them = [(t, chat) for t, chat in fake.arrivals if chat in wanted]
    first, last = to_them[0][0], to_them[-1][0]
    seconds = last - first
    in_window = sum(1 for t, _ in fake.arrivals if first <= t <= last)
    per_chat = Counter(chat for _, chat in to_them)
    return TelegramFigures(
        recipients=recipients,
        rate=rate,
        seconds=seconds,
        broadcast_rate=(len(to_them) - 1) / seconds,
        all_rate=(in_window - 1) / seconds,
        too_many=fake.too_many_requests,
        missed=len(wanted - set(per_chat)),
        doubled=sum(1 for n in per_chat.values() if n > 1),
        first_after=first - written,
        during=talk.latencies,
        before=before,
        lost=talk.lost,
        counts=counts,
        cpu=cpu,
    )


def print_telegram(f: TelegramFigures) -> None:
    print(
        f"{f.recipients:,} Telegram recipients; stand-in limit {f.rate} sends in any sliding "
        f"second, TELEGRAM_RATE_LIMIT={f.rate}"
    )
    print(
        f"sent in {f.seconds:.1f} s: {f.broadcast_rate:.1f} notices/s, {f.all_rate:.1f} sends/s "
        f"with the replies = {f.ratio:.3f} of the allowed rate (target >= 0.97)"
    )
    print(f"429 answers: {f.too_many} (target 0)")
    print(f"missed: {f.missed}, doubled: {f.doubled} (target 0, 0); ledger: {f.counts}")
    print(f"the first notice left {f.first_after:.2f} s after it was written")
    sends = f.recipients + len(f.during)
    print(
        f"CPU per send: the bot {f.cpu[0] / sends * 1000:.2f} ms, the stand-in (this process) "
        f"{f.cpu[1] / sends * 1000:.2f} ms"
    )
    print(
        f"/menu replies while it went out (one every 200 ms, 20 people in turn): {ms(f.during)}"
        f"{f', no reply: {f.lost}' if f.lost else ''} (target: about 1 s at most)"
    )
    print(f"/menu replies before it started: {ms(f.before)}")


async def telegram(recipients: int, rates: list[int]) -> None:
    results = []
    for rate in rates:
        figures = await telegram_run(recipients, rate)
        print_telegram(figures)
        print()
        results.append(figures)
    if len(results) > 1:
        print("rate  notices/s  all sends/s  ratio  429  p99 reply")
        for f in results:
            p99 = percentile(f.during, 99) if f.during else float("nan")
            print(
                f"{f.rate:4d}  {f.broadcast_rate:9.1f}  {f.all_rate:11.1f}  {f.ratio:5.3f}  "
                f"{f.too_many:3d}  {p99:6.0f} ms"
            )


# ------------------------------------------------------------------------------------------
# Viber: how many broadcast_message calls


def split_locales(split: list[int]) -> list[str]:
    return [locale for locale, n in zip(LANGUAGES, split, strict=True) for _ in range(n)]


async def viber(split: list[int], rate: int) -> None:
    recipients = sum(split)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database, url, (krnjaca, _) = new_database(folder)
        fake = TimedViber(rate_limit=rate)
        async with fake:
            users = [fake.user(f"V{n}", "en", subscribed=True) for n in range(recipients)]
            now = datetime.now(UTC)
            keys = [u.id for u in users]
            add_people(database, krnjaca, "viber", keys, split_locales(split), now)
            notice_id, _ = write_broadcast(database)
            started = time.perf_counter()
            bot = await start_command(
                folder, url, "scheduler", viber=fake, DATA_KEY=BENCH_KEY,
                VIBER_RATE_LIMIT=str(rate), NOTIFY_INTERVAL="1",
            )  # fmt: skip
            try:
                await until_done(database, notice_id, 300)
                done = time.perf_counter() - started
                await asyncio.sleep(1)  # anything it would (wrongly) send again
                counts = (await asyncio.to_thread(state_of, database, notice_id))[1]
            finally:
                bot.terminate()
                await bot.wait()
                database.dispose()
        received = Counter(len(fake.texts(user)) for user in users)
    calls = fake.broadcasts()
    singles = sum(1 for method, _ in fake.calls if method == "send_message")
    least = sum(-(-n // 300) for n in split)
    spread = fake.call_times[-1] - fake.call_times[0] if len(fake.call_times) > 1 else 0.0
    print(f"{recipients:,} Viber recipients; languages {dict(zip(LANGUAGES, split, strict=True))}")
    print(
        f"broadcast_message calls: {len(calls)} (at least {least} for this split: one text per "
        f"call, up to 300 receivers; target <= 34), send_message calls: {singles}"
    )
    print(
        f"receivers per call: {sorted(len(c['broadcast_list']) for c in calls)[:3]}... "
        f"max {max((len(c['broadcast_list']) for c in calls), default=0)}"
    )
    first = fake.call_times[0] - started if fake.call_times else float("nan")
    print(
        f"calls: first {first:.1f} s after the process started (start-up), then all within "
        f"{spread:.2f} s ({spread / max(1, len(calls) - 1) * 1000:.0f} ms a call; "
        f"VIBER_RATE_LIMIT={rate}/s); done {done:.1f} s after the start"
    )
    print(f"status 12 (tooManyRequests): {fake.too_many_requests} (target 0)")
    missed, doubled = received.get(0, 0), sum(n for k, n in received.items() if k > 1)
    print(f"missed: {missed}, doubled: {doubled} (target 0, 0); ledger: {counts}")


# ------------------------------------------------------------------------------------------
# Memory: the sending process with 100,000 recipients


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def memory(recipients: int, viber_share: float, rate: int) -> None:
    on_viber = int(recipients * viber_share)
    on_telegram = recipients - on_viber
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database, url, (krnjaca, _) = new_database(folder)
        started = time.perf_counter()
        telegram, viber_fake = TimedTelegram(rate_limit=rate), FakeViber()
        async with telegram, viber_fake:
            tg_users = [
                telegram.user(f"R{n}", None, user_id=FIRST_USER_ID + n) for n in range(on_telegram)
            ]
            vb_users = [viber_fake.user(f"V{n}", "en", subscribed=True) for n in range(on_viber)]
            now = datetime.now(UTC)
            add_people(database, krnjaca, "telegram", [str(u.id) for u in tg_users], LANGUAGES, now)
            add_people(database, krnjaca, "viber", [u.id for u in vb_users], LANGUAGES, now)
            print(
                f"{on_telegram:,} Telegram and {on_viber:,} Viber residents written in "
                f"{time.perf_counter() - started:.1f} s"
            )
            bot = await start_command(
                folder, url, "scheduler", telegram=telegram, viber=viber_fake,
                DATA_KEY=BENCH_KEY, TELEGRAM_RATE_LIMIT=str(rate), VIBER_RATE_LIMIT="50",
                NOTIFY_INTERVAL="1",
            )  # fmt: skip
            samples: list[tuple[float, float, int]] = []
            try:
                await telegram.wait_for(lambda: telegram.calls_to("getMe") >= 1, timeout=60)
                await asyncio.sleep(5)  # started, and a few idle sweeps behind it
                idle = peak_rss_mb(bot.pid)
                began = time.perf_counter()
                notice_id, _ = await asyncio.to_thread(write_broadcast, database)
                written = time.perf_counter() - began
                watching = asyncio.create_task(until_done(database, notice_id, 3600))
                while not watching.done():
                    sent = len(telegram.arrivals) + viber_fake.sent_count
                    samples.append((time.perf_counter() - began, rss_mb(bot.pid), sent))
                    await asyncio.wait({watching}, timeout=1)
                await watching
                took = time.perf_counter() - began
                peak = peak_rss_mb(bot.pid)
                counts = (await asyncio.to_thread(state_of, database, notice_id))[1]
            finally:
                bot.terminate()
                await bot.wait()
                database.dispose()
    print(f"the notice and its {recipients:,} ledger entries written in {written:.1f} s")
    print(f"sent in {took:.0f} s; ledger: {counts}")
    print("RSS while sending (s, MB, delivered): " + ", ".join(thin(samples)))
    print(
        f"peak RSS (VmHWM) of `workshopbot scheduler`: {peak:.1f} MB (target < 150 MB); "
        f"{idle:.1f} MB before the notice was written"
    )


def thin(samples: list[tuple[float, float, int]], count: int = 10) -> Iterator[str]:
    step = max(1, len(samples) // count)
    for t, mb, sent in samples[::step]:
        yield f"{t:.0f} s {mb:.0f} MB {sent:,}"


# ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parts = parser.add_subparsers(dest="part", required=True)
    tg = parts.add_parser("telegram")
    tg.add_argument("--recipients", type=int, default=10_000)
    tg.add_argument("--rate", type=int, default=300)
    tg.add_argument("--rates", help="several rates in turn, e.g. 100,200,300")
    vb = parts.add_parser("viber")
    vb.add_argument("--split", default="3400,3300,3300", help="recipients per language")
    vb.add_argument("--rate", type=int, default=30)
    mem = parts.add_parser("memory")
    mem.add_argument("--recipients", type=int, default=100_000)
    mem.add_argument("--viber-share", type=float, default=0.9)
    mem.add_argument("--rate", type=int, default=1000, help="Telegram sends per second")
    args = parser.parse_args()
    print(f"load average before: {load()}")
    try:
        run(args)
    finally:
        print(f"load average after: {load()} (on {os.cpu_count()} cores)")


def load() -> str:
    """The machine's load: figures taken beside other work are not the bot's alone."""
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def run(args: argparse.Namespace) -> None:
    if args.part == "telegram":
        rates = [int(r) for r in args.rates.split(",")] if args.rates else [args.rate]
        asyncio.run(telegram(args.recipients, rates))
    elif args.part == "viber":
        asyncio.run(viber([int(n) for n in args.split.split(",")], args.rate))
    else:
        asyncio.run(memory(args.recipients, args.viber_share, args.rate))


if __name__ == "__main__":
    main()
