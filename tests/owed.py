"""Reading the delivery ledger in tests: what a sweep would send now, marked as sent."""

from __future__ import annotations

from sqlmodel import func, select

from bot.app import App
from flows.ledger import Claimed, Ledger
from storage.models import LedgerEntry, LedgerState


def sweep(ledger: Ledger, channels: frozenset[str] = frozenset({"telegram"})) -> list[Claimed]:
    """One full sweep (owed messages, reminders, invitations), everything it claimed marked
    as sent (or dropped when there was nothing to send)."""
    claimed = [item for batch in ledger.sweep(set(channels)) for item in batch]
    for item in claimed:
        ledger.finish(item.entry_id, sent=item.outgoing is not None)
    return claimed


def owed(app: App, channels: frozenset[str] = frozenset({"telegram"})) -> list[Claimed]:
    """The messages owed because something changed (not reminders), claimed and marked sent."""
    claimed = [item for batch in app.ledger.sweep(set(channels), due=False) for item in batch]
    for item in claimed:
        app.ledger.finish(item.entry_id, sent=item.outgoing is not None)
    return [item for item in claimed if item.outgoing is not None]


def pending(app: App) -> int:
    """How many owed messages no sender has claimed yet."""
    with app.database.session() as db:
        return int(
            db.exec(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.state == LedgerState.PENDING)
            ).one()
        )
