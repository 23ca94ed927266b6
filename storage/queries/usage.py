"""Billed channels (Viber): every message counted, bot-initiated ones held to a monthly cap."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import MonthlyUsage, OutboundMessage, Person

__all__ = [
    "Usage",
    "last_seen_many",
    "record_outbound",
    "reserve_proactive",
    "reserve_proactive_many",
    "usage",
]


def _counter(db: Session, channel: str, month: str) -> None:
    """Make sure the month's counter row exists (created by someone else meanwhile is fine)."""
    if db.get(MonthlyUsage, (channel, month)) is None:
        try:
            with db.begin_nested():
                db.add(MonthlyUsage(channel=channel, month=month, proactive=0))
        except IntegrityError:
            pass


def reserve_proactive(db: Session, channel: str, month: str, cap: int | None) -> bool:
    """Take one bot-initiated message from this month's allowance; False when it is used up."""
    return reserve_proactive_many(db, channel, month, cap, 1) == 1


def reserve_proactive_many(db: Session, channel: str, month: str, cap: int | None, n: int) -> int:
    """Take up to ``n`` bot-initiated messages from this month's allowance; how many were
    granted (fewer than ``n`` only at the cap).

    One conditional UPDATE when the allowance has room for all of them. Near the cap, what is
    left is read and taken with an UPDATE that holds only if nobody took any meanwhile (else
    read again), so two processes can never both take the last ones."""
    if n <= 0:
        return 0
    _counter(db, channel, month)
    row = (col(MonthlyUsage.channel) == channel, col(MonthlyUsage.month) == month)
    all_of_them = update(MonthlyUsage).where(*row).values(proactive=MonthlyUsage.proactive + n)
    if cap is not None:
        all_of_them = all_of_them.where(col(MonthlyUsage.proactive) + n <= cap)
    if getattr(db.execute(all_of_them), "rowcount", 0):
        return n
    assert cap is not None
    while True:
        used = db.exec(select(MonthlyUsage.proactive).where(*row)).one()
        left = min(n, cap - used)
        if left <= 0:
            return 0
        rest = (
            update(MonthlyUsage)
            .where(*row, col(MonthlyUsage.proactive) == used)
            .values(proactive=used + left)
        )
        if getattr(db.execute(rest), "rowcount", 0):
            return left


def last_seen_many(db: Session, person_ids: Collection[int]) -> dict[int, datetime]:
    """When each of these people last wrote (for billing: a reply within 24 hours is free);
    people not stored are left out. One query per thousand people."""
    ids = sorted(set(person_ids))
    seen: dict[int, datetime] = {}
    for start in range(0, len(ids), 1000):
        rows = db.exec(
            select(Person.id, Person.last_seen_at).where(
                col(Person.id).in_(ids[start : start + 1000])
            )
        ).all()
        seen.update({int(pid): at for pid, at in rows if pid is not None})
    return seen


def record_outbound(
    db: Session,
    *,
    channel: str,
    month: str,
    bot_initiated: bool,
    billing_status: int | None,
    now: datetime,
) -> None:
    db.add(
        OutboundMessage(
            channel=channel,
            month=month,
            bot_initiated=bot_initiated,
            billing_status=billing_status,
            sent_at=now,
        )
    )


@dataclass(frozen=True)
class Usage:
    replies: int
    bot_initiated: int
    reserved: int  # taken from the cap (includes messages that then failed)
    by_billing_status: dict[int | None, int]


def usage(db: Session, channel: str, month: str) -> Usage:
    rows = db.exec(
        select(OutboundMessage.bot_initiated, OutboundMessage.billing_status, func.count())
        .where(OutboundMessage.channel == channel, OutboundMessage.month == month)
        .group_by(col(OutboundMessage.bot_initiated), col(OutboundMessage.billing_status))
    ).all()
    replies = sum(int(n) for initiated, _, n in rows if not initiated)
    initiated = sum(int(n) for started, _, n in rows if started)
    statuses: dict[int | None, int] = {}
    for _, status, n in rows:
        statuses[status] = statuses.get(status, 0) + int(n)
    counter = db.get(MonthlyUsage, (channel, month))
    return Usage(replies, initiated, counter.proactive if counter else 0, statuses)
