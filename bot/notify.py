"""Delivers the notifications the database says are owed (seat handed on, session cancelled).

Woken at once when this process queued one, and every few seconds in case another process
(the CLI cancelling a session) did.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from bot.channels.base import Delivery
from bot.outbox import Outbox, Result
from flows.notifications import Notifier

log = logging.getLogger(__name__)


class NotificationPump:
    def __init__(self, notifier: Notifier, outbox: Outbox, *, interval: float = 5.0) -> None:
        self.notifier = notifier
        self.outbox = outbox
        self.interval = interval
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._records: set[asyncio.Task[None]] = set()

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("delivering notifications failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def run_once(self) -> int:
        """Hand every owed notification to the outbox; returns how many were handed on."""
        channels = set(self.outbox.channels)
        owed = await asyncio.to_thread(self.notifier.pending, channels)
        handed = 0
        for item in owed:
            if item.notification_id in self._in_flight:
                continue
            if item.outgoing is None:
                await asyncio.to_thread(self.notifier.done, item.notification_id)
                continue
            self._in_flight.add(item.notification_id)
            out = item.outgoing
            future = self.outbox.submit(
                Delivery(out.address, out.reply, person_id=out.person_id, bot_initiated=True)
            )
            future.add_done_callback(functools.partial(self._finished, item.notification_id))
            handed += 1
        return handed

    def _finished(self, notification_id: int, future: asyncio.Future[Result]) -> None:
        async def record() -> None:
            try:
                await asyncio.to_thread(self.notifier.done, notification_id)
            finally:
                self._in_flight.discard(notification_id)

        task = asyncio.get_running_loop().create_task(record())
        self._records.add(task)
        task.add_done_callback(self._records.discard)

    async def idle(self) -> None:
        """Wait until every handed-on notification has been recorded as done."""
        while self._in_flight or self._records:
            await asyncio.sleep(0.01)
