"""Viber bills messages a bot starts outside the 24 hours after a person last wrote.

Every Viber message is recorded (reply or bot-initiated, and the ``billing_status`` Viber
returns); bot-initiated ones are taken from a monthly allowance first, so a cap
(``VIBER_MONTHLY_PROACTIVE_CAP``) is never exceeded, even by two processes at once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.channels.base import Delivery
from flows.clock import Clock
from storage import queries as q
from storage.db import Database

FREE_WINDOW = timedelta(hours=24)
CHANNEL = "viber"


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


class ViberBilling:
    def __init__(self, database: Database, clock: Clock, cap: int | None) -> None:
        self.database = database
        self.clock = clock
        self.cap = cap

    async def reserve(self, delivery: Delivery) -> bool | None:
        if not delivery.bot_initiated or delivery.person_id is None:
            return False  # an answer to someone who just wrote
        person_id = delivery.person_id

        def work() -> bool | None:
            now = self.clock.now()
            with self.database.session() as db:
                last = q.last_seen(db, person_id)
                if last is not None and now - last < FREE_WINDOW:
                    return False
                return True if q.reserve_proactive(db, CHANNEL, month_of(now), self.cap) else None

        return await asyncio.to_thread(work)

    async def record(self, bot_initiated: bool, billing_status: int | None) -> None:
        def work() -> None:
            now = self.clock.now()
            with self.database.session() as db:
                q.record_outbound(
                    db,
                    channel=CHANNEL,
                    month=month_of(now),
                    bot_initiated=bot_initiated,
                    billing_status=billing_status,
                    now=now,
                )

        await asyncio.to_thread(work)
