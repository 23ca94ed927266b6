"""Billed channels (Viber): every message counted, bot-initiated ones held to a monthly cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import MonthlyUsage, OutboundMessage

__all__ = ["Usage", "record_outbound", "reserve_proactive", "usage"]


def reserve_proactive(db: Session, channel: str, month: str, cap: int | None) -> bool:
    """Take one bot-initiated message from this month's allowance; False when it is used up."""
    if db.get(MonthlyUsage, (channel, month)) is None:
        try:
            with db.begin_nested():
                db.add(MonthlyUsage(channel=channel, month=month, proactive=0))
        except IntegrityError:
            pass  # created by someone else meanwhile
    statement = (
        update(MonthlyUsage)
        .where(col(MonthlyUsage.channel) == channel, col(MonthlyUsage.month) == month)
        .values(proactive=MonthlyUsage.proactive + 1)
    )
    if cap is not None:
        statement = statement.where(col(MonthlyUsage.proactive) < cap)
    result = db.execute(statement)
    return bool(getattr(result, "rowcount", 0))


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
