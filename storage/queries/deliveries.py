"""Webhook and polling deliveries: each handled once, and its answer owed until it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import SeenDelivery

__all__ = [
    "OwedReplies",
    "first_delivery",
    "forget_deliveries",
    "keep_replies",
    "owed_replies",
    "replies_sent",
]


def first_delivery(db: Session, channel: str, key: str, now: datetime) -> bool:
    """Record a delivery; False if it was recorded before (a platform's retry)."""
    if db.get(SeenDelivery, (channel, key)) is not None:
        return False
    try:
        with db.begin_nested():
            db.add(SeenDelivery(channel=channel, key=key, seen_at=now))
    except IntegrityError:
        return False  # the same delivery, handled at this very moment by another worker
    return True


def keep_replies(db: Session, channel: str, key: str, address_enc: str, replies: str) -> None:
    """Owe the replies of a delivery handled in this transaction until :func:`replies_sent`."""
    db.execute(
        update(SeenDelivery)
        .where(col(SeenDelivery.channel) == channel, col(SeenDelivery.key) == key)
        .values(address_enc=address_enc, replies=replies)
    )


def replies_sent(db: Session, channel: str, key: str) -> None:
    db.execute(
        update(SeenDelivery)
        .where(col(SeenDelivery.channel) == channel, col(SeenDelivery.key) == key)
        .values(address_enc=None, replies=None)
    )


@dataclass(frozen=True)
class OwedReplies:
    channel: str
    key: str
    address_enc: str
    replies: str


def owed_replies(db: Session, channel: str, *, limit: int = 1000) -> list[OwedReplies]:
    """Replies of handled deliveries that were never sent (the process died first)."""
    rows = db.exec(
        select(SeenDelivery)
        .where(SeenDelivery.channel == channel, col(SeenDelivery.replies).is_not(None))
        .order_by(col(SeenDelivery.seen_at))
        .limit(limit)
    ).all()
    return [
        OwedReplies(row.channel, row.key, row.address_enc or "", row.replies or "") for row in rows
    ]


def forget_deliveries(db: Session, before: datetime) -> int:
    result = db.execute(delete(SeenDelivery).where(col(SeenDelivery.seen_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)
