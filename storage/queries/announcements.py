"""Notices written in the chat: drafts, the languages of an audience, and scheduled notices.

A notice being written is a :class:`Broadcast` row in state ``draft``: its texts may be
thousands of characters, far more than a conversation step may keep. A draft has no ledger
entries, so no sender ever sees it; it is one per author, and ignored (then deleted) after
:data:`DRAFT_LIFE`. Sending it deletes it with a conditional DELETE in the same transaction
that stores the notice, so two taps on "Send now" store one notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.models import (
    Broadcast,
    BroadcastAudience,
    BroadcastState,
    LedgerEntry,
    LedgerState,
    Person,
)
from storage.queries.broadcasts import _audience

__all__ = [
    "DRAFT_LIFE",
    "audience_locales",
    "cancel_scheduled",
    "draft_of",
    "drop_drafts",
    "forget_drafts",
    "new_draft",
    "scheduled_notices",
    "take_draft",
]

DRAFT_LIFE = timedelta(days=1)


def new_draft(
    db: Session, *, centre_id: int, author: str, base_locale: str, now: datetime
) -> Broadcast:
    """Start a notice: the author's earlier drafts, and everyone's stale ones, are dropped."""
    drop_drafts(db, author)
    forget_drafts(db, now)
    draft = Broadcast(
        centre_id=centre_id,
        author=author,
        audience=BroadcastAudience.CENTRE,
        base_locale=base_locale,
        texts="{}",
        send_at=now,
        state=BroadcastState.DRAFT,
        author_locale=base_locale,
        created_at=now,
    )
    db.add(draft)
    db.flush()
    return draft


def draft_of(db: Session, author: str, now: datetime) -> Broadcast | None:
    """The notice an author is writing, unless it was started more than a day ago."""
    return db.exec(
        select(Broadcast)
        .where(
            col(Broadcast.author) == author,
            col(Broadcast.state) == BroadcastState.DRAFT,
            col(Broadcast.created_at) >= now - DRAFT_LIFE,
        )
        .order_by(col(Broadcast.id).desc())
    ).first()


def take_draft(db: Session, draft_id: int) -> bool:
    """Use a draft up, once: True for exactly one caller (a second, even at the same time,
    finds it gone: PostgreSQL makes it wait for the first one's row lock)."""
    result = db.execute(
        delete(Broadcast).where(
            col(Broadcast.id) == draft_id, col(Broadcast.state) == BroadcastState.DRAFT
        )
    )
    return bool(getattr(result, "rowcount", 0))


def drop_drafts(db: Session, author: str) -> int:
    """Delete an author's notice in progress ("Cancel the notice", or a new one begun)."""
    result = db.execute(
        delete(Broadcast).where(
            col(Broadcast.author) == author, col(Broadcast.state) == BroadcastState.DRAFT
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_drafts(db: Session, now: datetime) -> int:
    """Delete drafts older than :data:`DRAFT_LIFE` (nobody can send them any more)."""
    result = db.execute(
        delete(Broadcast).where(
            col(Broadcast.state) == BroadcastState.DRAFT,
            col(Broadcast.created_at) < now - DRAFT_LIFE,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def audience_locales(
    db: Session, centre_id: int, audience: str, session_id: int | None, language: str | None
) -> dict[str, int]:
    """How many reachable people of an audience read each language, most first."""
    rows = db.exec(
        select(col(Person.locale), func.count())
        .where(
            *_audience(centre_id, audience, session_id, language),
            col(Person.unreachable).is_(False),
        )
        .group_by(col(Person.locale))
        .order_by(func.count().desc(), col(Person.locale))
    ).all()
    return {str(locale): int(n) for locale, n in rows}


def scheduled_notices(db: Session, centre_id: int, now: datetime) -> list[Broadcast]:
    """A centre's notices waiting for a time still to come, soonest first."""
    return list(
        db.exec(
            select(Broadcast)
            .where(
                col(Broadcast.centre_id) == centre_id,
                col(Broadcast.state) == BroadcastState.SCHEDULED,
                col(Broadcast.send_at) > now,
            )
            .order_by(col(Broadcast.send_at), col(Broadcast.id))
        ).all()
    )


def cancel_scheduled(
    db: Session, broadcast_id: int, centre_id: int, now: datetime
) -> Broadcast | None:
    """Cancel a centre's notice that has not started (conditionally, so a sender that took it
    meanwhile wins), and drop what was owed to its recipients. None when there is no such
    notice waiting."""
    result = db.execute(
        update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.centre_id) == centre_id,
            col(Broadcast.state) == BroadcastState.SCHEDULED,
        )
        .values(state=BroadcastState.CANCELLED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    db.execute(
        update(LedgerEntry)
        .where(
            col(LedgerEntry.broadcast_id) == broadcast_id,
            col(LedgerEntry.state) == LedgerState.PENDING,
        )
        .values(state=LedgerState.DROPPED, done_at=now)
        .execution_options(synchronize_session=False)
    )
    broadcast = db.get(Broadcast, broadcast_id)
    if broadcast is not None:
        db.refresh(broadcast)
    return broadcast
