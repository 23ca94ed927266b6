"""Viber bills messages a bot starts outside the 24 hours after a person last wrote.

Every Viber message is recorded (reply or bot-initiated, and the ``billing_status`` Viber
returns); bot-initiated ones are taken from a monthly allowance first, so a cap
(``VIBER_MONTHLY_PROACTIVE_CAP``) is never exceeded, even by two processes at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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

    async def reserve(self, deliveries: Sequence[Delivery]) -> list[bool | None]:
        """Per delivery: True billable (taken from the allowance), False free (an answer, or
        the person wrote in the last 24 h), None refused by the cap.

        One transaction for the whole batch: one query for when its people last wrote, and
        one conditional UPDATE taking all the billable ones from the allowance at once (at
        the cap, the first ones in the batch get what is left)."""
        if not any(d.bot_initiated and d.person_id is not None for d in deliveries):
            return [False] * len(deliveries)  # answers to people who just wrote

        def work() -> list[bool | None]:
            now = self.clock.now()
            with self.database.session() as db:
                seen = q.last_seen_many(
                    db, [d.person_id for d in deliveries if d.person_id is not None]
                )
                billable = [
                    d.bot_initiated
                    and d.person_id is not None
                    and not (d.person_id in seen and now - seen[d.person_id] < FREE_WINDOW)
                    for d in deliveries
                ]
                granted = q.reserve_proactive_many(
                    db, CHANNEL, month_of(now), self.cap, sum(billable)
                )
            verdicts: list[bool | None] = []
            for is_billable in billable:
                if not is_billable:
                    verdicts.append(False)
                elif granted > 0:
                    granted -= 1
                    verdicts.append(True)
                else:
                    verdicts.append(None)
            return verdicts

        return await asyncio.to_thread(work)

    async def record(self, sent: Sequence[tuple[bool, int | None]]) -> None:
        """Record messages Viber accepted: (bot-initiated, its billing_status) each."""

        def work() -> None:
            now = self.clock.now()
            with self.database.session() as db:
                for bot_initiated, billing_status in sent:
                    q.record_outbound(
                        db,
                        channel=CHANNEL,
                        month=month_of(now),
                        bot_initiated=bot_initiated,
                        billing_status=billing_status,
                        now=now,
                    )

        await asyncio.to_thread(work)
