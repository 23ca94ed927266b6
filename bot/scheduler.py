"""The periodic work, in exactly one process: ledger sweeps, lease renewal, housekeeping.

APScheduler 3.x must not run twice on one job store, so it keeps no store at all: the jobs
are plain intervals, and the database says what is due. Running a second scheduler by
mistake is still safe (claims are atomic), merely wasteful.

Two kinds of sweep share one sender: the full sweep (every ``REMINDER_SWEEP_SECONDS``) also
looks for reminders and feedback invitations that fell due; the quick one (when this process
just wrote an owed message, and every ``NOTIFY_INTERVAL`` for other processes' ones, such as
``workshopbot session cancel``) only claims what is owed.

Notices to many (broadcasts) have their own loop beside those, woken the same way: a long
broadcast never holds up the reminders and owed messages (see ``bot/broadcaster.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.broadcaster import Broadcaster
from bot.channels.base import Delivery
from bot.outbox import Outbox, Result
from flows import retention as retention_module
from flows.ledger import Claimed, Ledger
from storage import queries as q

log = logging.getLogger(__name__)


class LedgerSender:
    """Sweeps, and hands what it claimed to the outbox one exclusive message at a time: each
    is recorded before the next leaves, so a crash repeats at most the one in flight."""

    def __init__(self, ledger: Ledger, outbox: Outbox) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self.in_flight: set[int] = set()
        self._sweeping = asyncio.Lock()
        self._records: set[asyncio.Task[None]] = set()

    async def sweep(self, *, due: bool = True, wait: bool = False) -> int:
        """One sweep; returns how many messages were handed to the outbox. A full sweep
        already running makes another one skip (``wait`` queues it instead)."""
        if self._sweeping.locked() and not wait:
            return 0
        async with self._sweeping:
            handed = 0
            batches = self.ledger.sweep(set(self.outbox.channels), due=due)
            try:
                while True:
                    batch = await asyncio.to_thread(next, batches, None)
                    if batch is None:
                        return handed
                    handed += await self._hand_on(batch)
            finally:
                batches.close()

    async def _hand_on(self, batch: list[Claimed]) -> int:
        moot = [item.entry_id for item in batch if item.outgoing is None]
        if moot:
            await asyncio.to_thread(self._finish_all, moot)
        handed = 0
        for item in batch:
            if item.outgoing is None or item.entry_id in self.in_flight:
                continue
            self.in_flight.add(item.entry_id)
            out = item.outgoing
            self.outbox.submit(
                Delivery(
                    out.address,
                    out.reply,
                    person_id=out.person_id,
                    bot_initiated=True,
                    exclusive=True,
                    on_done=functools.partial(self._done, item.entry_id),
                )
            )
            handed += 1
        return handed

    def _finish_all(self, ids: list[int]) -> None:
        for entry_id in ids:
            self.ledger.finish(entry_id, sent=False)

    async def _done(self, entry_id: int, result: Result) -> None:
        try:
            await asyncio.to_thread(self.ledger.finish, entry_id, sent=result is Result.SENT)
        finally:
            self.in_flight.discard(entry_id)

    async def renew(self) -> None:
        await asyncio.to_thread(self.ledger.renew, sorted(self.in_flight))

    async def quiet(self) -> None:
        """Wait for a sweep in progress (one APScheduler started) to finish its batch."""
        async with self._sweeping:
            pass

    async def idle(self) -> None:
        """Wait until every handed-on message has been recorded as sent or dropped."""
        while self.in_flight:
            await asyncio.sleep(0.01)


class Scheduler:
    def __init__(
        self,
        sender: LedgerSender,
        *,
        broadcaster: Broadcaster | None = None,
        sweep_seconds: float = 30.0,
        notify_interval: float = 5.0,
        retention: retention_module.Policy | None = None,
    ) -> None:
        self.sender = sender
        self.broadcaster = broadcaster
        self._broadcasts: asyncio.Task[None] | None = None
        self._broadcast_wake = asyncio.Event()
        self.sweep_seconds = sweep_seconds
        self.notify_interval = notify_interval
        self.retention = retention or retention_module.Policy()
        self._scheduler: AsyncIOScheduler | None = None
        self._wake = asyncio.Event()
        self._owed: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Something owed (or a notice to send now) was just written: claim it now rather
        than at the next interval."""
        self._wake.set()
        self._broadcast_wake.set()

    def start(self) -> None:
        lease = self.sender.ledger.plan.lease.total_seconds()
        scheduler = AsyncIOScheduler(timezone=UTC)
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds,
            next_run_time=datetime.now(UTC), id="sweep", **options,
        )  # fmt: skip
        scheduler.add_job(
            self._renew, "interval", seconds=max(0.2, lease / 3), id="renew", **options
        )
        scheduler.add_job(self._forget, "interval", hours=1, id="forget", **options)
        # Daily, first a minute after start (a bot restarted every night still runs it).
        scheduler.add_job(
            self.keep_little, "interval", days=1, id="retention",
            next_run_time=datetime.now(UTC) + timedelta(minutes=1), **options,
        )  # fmt: skip
        scheduler.start()
        self._scheduler = scheduler
        self._owed = asyncio.create_task(self._owed_loop())
        if self.broadcaster is not None:
            self._broadcasts = asyncio.create_task(self._broadcast_loop(self.broadcaster))

    async def _owed_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.notify_interval)
            self._wake.clear()
            try:
                await self.sender.sweep(due=False, wait=True)
            except Exception:
                log.exception("sending owed messages failed")

    async def _broadcast_loop(self, broadcaster: Broadcaster) -> None:
        """Notices due (or left half-sent by a process that died): beside the owed messages,
        so a long broadcast never holds them up."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broadcast_wake.wait(), self.notify_interval)
            self._broadcast_wake.clear()
            try:
                await broadcaster.run_due()
            except Exception:
                log.exception("sending broadcasts failed")

    async def _sweep(self) -> None:
        try:
            handed = await self.sender.sweep()
            if handed:
                log.info("ledger: %d messages handed to the outbox", handed)
        except Exception:
            log.exception("ledger sweep failed")

    async def _renew(self) -> None:
        try:
            await self.sender.renew()
        except Exception:
            log.exception("renewing leases failed")

    async def _forget(self) -> None:
        """Webhook deliveries older than a week will not be retried any more, failed
        invitation tries older than a day no longer count, and notices left as drafts for a
        day can no longer be sent: forget all three. And the feedback written in the last
        hour loses the order it was written in (see ``q.shuffle_feedback``)."""
        try:
            await asyncio.to_thread(self.sender.ledger.forget_deliveries, timedelta(days=7))
            await asyncio.to_thread(self._forget_stale)
        except Exception:
            log.exception("forgetting old webhook deliveries, invitation tries or drafts failed")

    def _forget_stale(self) -> None:
        ledger = self.sender.ledger
        now = ledger.clock.now()
        with ledger.database.session() as db:
            q.forget_attempts(db, now - timedelta(days=1))
            q.forget_drafts(db, now)
        with ledger.database.session() as db:
            q.shuffle_feedback(db)

    async def keep_little(self) -> None:
        """The retention job (see ``flows.retention``)."""
        ledger = self.sender.ledger
        try:
            done = await asyncio.to_thread(
                retention_module.run, ledger.database, ledger.clock, self.retention
            )
        except Exception:
            log.exception("the retention job failed")
            return
        log.info("retention: %s", done)
        if done.promoted:
            self.kick()

    async def stop(self) -> None:
        """Stop the jobs and wait for any job in progress (a sweep is never left half-way
        with an exception nobody reads)."""
        if self._scheduler is not None:
            # shutdown() cancels a running job, and APScheduler logs that as a failure with a
            # traceback: pause, and let a sweep in progress finish its batch, first.
            self._scheduler.pause()
            await self.sender.quiet()
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._owed is not None:
            self._owed.cancel()
            await asyncio.gather(self._owed, return_exceptions=True)
            self._owed = None
        if self._broadcasts is not None:  # a broadcast half-sent is finished after its lease
            self._broadcasts.cancel()
            await asyncio.gather(self._broadcasts, return_exceptions=True)
            self._broadcasts = None
        await self.sender.quiet()
