"""``workshopbot stats``: the month's Viber messages (free, billed, the cap) and people."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.app import make_clock
from bot.billing import month_of
from bot.cli.common import database, fail, settings
from storage import queries as q


def stats(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (UTC); default this month")] = None,
) -> None:
    """This month's figures: Viber messages (replies, bot-initiated, the cap) and bookings."""
    config = settings()
    month = month or month_of(make_clock().now())
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        fail("--month must look like 2026-12")
    db = database(config)
    with db.session() as s:
        usage = q.usage(s, "viber", month)
        people = q.count_people(s)
    cap = config.viber_monthly_proactive_cap
    table = Table("month", "what", "count")
    table.add_row(
        month, "Viber replies (free, within 24 h of the person writing)", str(usage.replies)
    )
    table.add_row(month, "Viber bot-initiated (billed)", str(usage.bot_initiated))
    table.add_row(month, "Viber bot-initiated cap", "none" if cap is None else str(cap))
    table.add_row(month, "Viber cap used (incl. failed sends)", str(usage.reserved))
    for status, count in sorted(usage.by_billing_status.items(), key=lambda kv: str(kv[0])):
        table.add_row(month, f"Viber billing_status {status}", str(count))
    table.add_row("now", "people who agreed", str(people))
    Console().print(table)
