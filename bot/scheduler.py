"""The periodic work, in exactly one process: reminder sweeps, lease renewal, notifications.

APScheduler 3.x must not run twice on one job store, so it keeps no store at all: the jobs
are plain intervals, and the database says what is due. Running a second scheduler by
mistake is still safe (claims are atomic), merely wasteful.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channels.base import Delivery
from bot.notify import NotificationPump
from bot.outbox import Outbox, Result
from flows.reminders import Claimed, Reminders

log = logging.getLogger(__name__)


class ReminderSender:
    """Sweeps, and hands what it claimed to the outbox one exclusive message at a time."""

    def __init__(self, reminders: Reminders, outbox: Outbox) -> None:
        self.reminders = reminders
        self.outbox = outbox
        self.in_flight: set[int] = set()
        self._sweeping = asyncio.Lock()

    async def sweep(self) -> int:
        """One sweep; returns how many messages were handed to the outbox."""
        if self._sweeping.locked():
            return 0  # the previous sweep is still claiming
        async with self._sweeping:
            handed = 0
            batches = self.reminders.sweep()
            while True:
                batch = await asyncio.to_thread(next, batches, None)
                if batch is None:
                    return handed
                handed += await self._hand_on(batch)

    async def _hand_on(self, batch: list[Claimed]) -> int:
        moot = [item.reminder_id for item in batch if item.outgoing is None]
        if moot:
            await asyncio.to_thread(self._finish_all, moot)
        handed = 0
        for item in batch:
            if item.outgoing is None or item.reminder_id in self.in_flight:
                continue
            self.in_flight.add(item.reminder_id)
            out = item.outgoing
            self.outbox.submit(
                Delivery(
                    out.address,
                    out.reply,
                    person_id=out.person_id,
                    bot_initiated=True,
                    exclusive=True,
                    on_done=functools.partial(self._done, item.reminder_id),
                )
            )
            handed += 1
        return handed

    def _finish_all(self, ids: list[int]) -> None:
        for reminder_id in ids:
            self.reminders.finish(reminder_id, sent=False)

    async def _done(self, reminder_id: int, result: Result) -> None:
        try:
            await asyncio.to_thread(self.reminders.finish, reminder_id, sent=result is Result.SENT)
        finally:
            self.in_flight.discard(reminder_id)

    async def renew(self) -> None:
        await asyncio.to_thread(self.reminders.renew, sorted(self.in_flight))


class Scheduler:
    def __init__(
        self,
        sender: ReminderSender,
        pump: NotificationPump,
        *,
        sweep_seconds: float = 30.0,
    ) -> None:
        self.sender = sender
        self.pump = pump
        self.sweep_seconds = sweep_seconds
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        lease = self.sender.reminders.plan.lease.total_seconds()
        scheduler = AsyncIOScheduler(timezone=UTC)
        options = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds,
            next_run_time=datetime.now(UTC), id="sweep", **options,
        )  # fmt: skip
        scheduler.add_job(
            self.sender.renew, "interval", seconds=max(0.2, lease / 3), id="renew", **options
        )
        scheduler.add_job(self._forget, "interval", hours=1, id="forget", **options)
        scheduler.start()
        self._scheduler = scheduler
        self.pump.start()

    async def _sweep(self) -> None:
        try:
            handed = await self.sender.sweep()
            if handed:
                log.info("reminders: %d handed to the outbox", handed)
        except Exception:
            log.exception("reminder sweep failed")

    async def _forget(self) -> None:
        """Webhook deliveries older than a week will not be retried any more: forget them."""
        try:
            await asyncio.to_thread(self.sender.reminders.forget_deliveries, timedelta(days=7))
        except Exception:
            log.exception("forgetting old webhook deliveries failed")

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.pump.stop()
