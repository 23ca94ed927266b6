"""Broadcasts: a notice and its recipients, written together before anything is sent.

Each recipient is one ledger entry (kind ``broadcast``), so sending a broadcast is claiming
ledger entries with leases like every other unprompted message: a crash loses nobody, and the
unique key (broadcast, person) means nobody is written twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, bindparam, case, func, insert, literal, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from storage.models import (
    Booking,
    BookingStatus,
    Broadcast,
    BroadcastAudience,
    BroadcastState,
    LedgerEntry,
    LedgerKind,
    LedgerState,
    Person,
    StaffMember,
)
from storage.queries.ledger import claim_chosen, holds_messages

__all__ = [
    "Recipient",
    "audience_count",
    "broadcast_counts",
    "claim_recipients",
    "due_broadcasts",
    "fan_out",
    "finish_broadcast",
    "finish_recipients",
    "pending_locales",
    "recipient_views",
    "release_broadcast",
    "renew_broadcast",
    "take_broadcast",
    "viber_billable",
]


def _audience(centre_id: int, audience: str, session_id: int | None, language: str | None):  # type: ignore[no-untyped-def]
    """The people a notice is for: residents (not staff), at the centre, by audience."""
    staff = (
        select(StaffMember.id)
        .where(StaffMember.person_id == Person.id, col(StaffMember.revoked_at).is_(None))
        .exists()
    )
    if audience == BroadcastAudience.SESSION:
        booked = (
            select(Booking.id)
            .where(
                Booking.person_id == Person.id,
                Booking.session_id == session_id,
                col(Booking.status).in_((BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)),
            )
            .exists()
        )
        return [booked, ~staff]
    where = [Person.centre_id == centre_id, ~staff]
    if audience == BroadcastAudience.LANGUAGE:
        where.append(Person.locale == language)
    return where


def _unreachable(now: datetime) -> ColumnElement[bool]:
    """Not to be sent a notice: the platform says they left, or they asked for no messages
    (stopped, or paused at ``now``)."""
    return or_(col(Person.unreachable).is_(True), holds_messages(now))


def audience_count(
    db: Session,
    centre_id: int,
    audience: str,
    session_id: int | None,
    language: str | None,
    now: datetime,
) -> tuple[int, int]:
    """(reachable, unreachable) people a notice for this audience would go to at ``now``:
    those who stopped or paused messages count as unreachable."""
    unreachable = _unreachable(now).label("unreachable")
    rows = db.execute(
        select(unreachable, func.count())
        .select_from(Person)
        .where(*_audience(centre_id, audience, session_id, language))
        .group_by(unreachable)
    ).all()
    counts = {bool(unreachable): int(n) for unreachable, n in rows}
    return counts.get(False, 0), counts.get(True, 0)


def viber_billable(
    db: Session,
    centre_id: int,
    audience: str,
    session_id: int | None,
    language: str | None,
    now: datetime,
    free_window: timedelta = timedelta(hours=24),
) -> int:
    """How many of the audience are on Viber and did not write in the last 24 hours: each
    is a billed, bot-initiated message (counted against the monthly cap)."""
    return int(
        db.exec(
            select(func.count())
            .select_from(Person)
            .where(
                *_audience(centre_id, audience, session_id, language),
                Person.channel == "viber",
                ~_unreachable(now),
                col(Person.last_seen_at) <= now - free_window,
            )
        ).one()
    )


def fan_out(db: Session, broadcast: Broadcast, now: datetime) -> int:
    """Write one ledger entry per recipient in one statement; returns how many. People known
    to be unreachable are written as such (counted in the tally, never sent)."""
    assert broadcast.id is not None
    unreachable = _unreachable(broadcast.send_at)
    chosen = sql_select(
        literal(LedgerKind.BROADCAST.value),
        col(Person.id),
        literal(broadcast.id),
        literal(0),
        literal(broadcast.send_at, type_=LedgerEntry.__table__.c.due_at.type),  # type: ignore[attr-defined]
        case((unreachable, LedgerState.UNREACHABLE.value), else_=LedgerState.PENDING.value),
        literal(now, type_=LedgerEntry.__table__.c.created_at.type),  # type: ignore[attr-defined]
        case((unreachable, literal(now, type_=LedgerEntry.__table__.c.done_at.type)), else_=None),  # type: ignore[attr-defined]
    ).where(
        *_audience(
            broadcast.centre_id, broadcast.audience, broadcast.session_id, broadcast.language
        )
    )
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    result = db.execute(
        insert(table).from_select(
            ["kind", "person_id", "broadcast_id", "offset_minutes", "due_at", "state",
             "created_at", "done_at"],
            chosen,
        )
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)


def broadcast_counts(db: Session, broadcast_id: int) -> dict[str, int]:
    """Recipients by ledger state (pending, claimed, sent, unreachable, failed, dropped)."""
    rows = db.exec(
        select(col(LedgerEntry.state), func.count())
        .where(LedgerEntry.broadcast_id == broadcast_id)
        .group_by(col(LedgerEntry.state))
    ).all()
    return {str(state): int(n) for state, n in rows}


# ---- sending ---------------------------------------------------------------------------------
# One sender at a time per broadcast: it holds the broadcast's lease (renewed while it sends),
# and claims its recipients in chunks with leases of their own. A sender that dies stops
# renewing; once the lease has run out, the next one takes the broadcast over, and with it the
# recipients that were in flight.

_LIVE = (BroadcastState.SCHEDULED.value, BroadcastState.SENDING.value)
_UNFINISHED = (LedgerState.PENDING.value, LedgerState.CLAIMED.value)


def _lease_free(now: datetime, owner: str | None = None):  # type: ignore[no-untyped-def]
    free = or_(col(Broadcast.lease_until).is_(None), col(Broadcast.lease_until) < now)
    return free if owner is None else or_(free, col(Broadcast.owner) == owner)


def due_broadcasts(db: Session, now: datetime, limit: int = 50) -> list[int]:
    """Broadcasts to send now (scheduled or interrupted, due, nobody sending), oldest first."""
    return [
        int(bid)
        for bid in db.exec(
            select(Broadcast.id)
            .where(
                col(Broadcast.state).in_(_LIVE),
                col(Broadcast.send_at) <= now,
                _lease_free(now),
            )
            .order_by(col(Broadcast.send_at), col(Broadcast.id))
            .limit(limit)
        ).all()
        if bid is not None
    ]


def take_broadcast(
    db: Session, broadcast_id: int, *, owner: str, now: datetime, lease: timedelta
) -> Broadcast | None:
    """Become the one sender of a due broadcast (one conditional UPDATE: of two senders at
    once, one wins); the broadcast as taken, or None. Its owner may take it again."""
    result = db.execute(
        update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.state).in_(_LIVE),
            col(Broadcast.send_at) <= now,
            _lease_free(now, owner),
        )
        .values(
            owner=owner,
            lease_until=now + lease,
            state=BroadcastState.SENDING,
            started_at=func.coalesce(col(Broadcast.started_at), now),
        )
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return db.exec(
        select(Broadcast)
        .where(col(Broadcast.id) == broadcast_id)
        .execution_options(populate_existing=True)
    ).one()


def renew_broadcast(
    db: Session, broadcast_id: int, *, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Extend the sender's lease; False when the broadcast is no longer this sender's."""
    result = db.execute(
        update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.owner) == owner,
            col(Broadcast.state) == BroadcastState.SENDING,
        )
        .values(lease_until=now + lease)
    )
    return bool(getattr(result, "rowcount", 0))


def release_broadcast(db: Session, broadcast_id: int, *, owner: str) -> None:
    """Let any sender take the broadcast at once (this one sent what it could)."""
    db.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.owner) == owner)
        .values(lease_until=None)
    )


def _claimable(broadcast_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """A broadcast's recipients waiting to be sent: pending and due, or claimed by a sender
    whose lease ran out (the ones in flight when it died)."""
    return [
        col(LedgerEntry.broadcast_id) == broadcast_id,
        or_(
            and_(
                col(LedgerEntry.state) == LedgerState.PENDING,
                or_(col(LedgerEntry.due_at).is_(None), col(LedgerEntry.due_at) <= now),
            ),
            and_(col(LedgerEntry.state) == LedgerState.CLAIMED, col(LedgerEntry.lease_until) < now),
        ),
    ]


def pending_locales(db: Session, broadcast_id: int, now: datetime, channel: str) -> list[str]:
    """The languages of the recipients on ``channel`` still to be sent (one message per
    language: a platform that sends one message to many takes them language by language)."""
    rows = db.exec(
        select(Person.locale)
        .join(LedgerEntry, col(LedgerEntry.person_id) == Person.id)
        .where(*_claimable(broadcast_id, now), Person.channel == channel)
        .distinct()
    ).all()
    return sorted(str(locale) for locale in rows)


def claim_recipients(
    db: Session,
    broadcast_id: int,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    channels: Collection[str],
    locales: Collection[str] | None = None,
    after: int = 0,
    limit: int = 300,
) -> list[int]:
    """Claim up to ``limit`` recipients on ``channels`` (and in ``locales``), in id order
    after ``after``; returns the ids won. Two senders never win the same entry."""
    chosen = (
        select(LedgerEntry.id)
        .join(Person, col(Person.id) == LedgerEntry.person_id)
        .where(
            *_claimable(broadcast_id, now),
            col(LedgerEntry.id) > after,
            col(Person.channel).in_(channels),
        )
        .order_by(col(LedgerEntry.id))
        .limit(limit)
    )
    if locales is not None:
        chosen = chosen.where(col(Person.locale).in_(locales))
    recheck = _claimable(broadcast_id, now)
    return claim_chosen(db, chosen, recheck, owner=owner, now=now, lease=lease)


@dataclass(frozen=True)
class Recipient:
    """What sending one claimed entry needs: who, where, and in which language."""

    entry_id: int
    person_id: int
    channel: str
    address_enc: str
    locale: str
    unreachable: bool


def recipient_views(db: Session, ids: list[int], now: datetime) -> list[Recipient]:
    """The claimed entries that still exist (a person who erased themselves is gone), in
    id order, in one query of plain columns; a person who stopped or paused messages since
    the notice was written is unreachable too."""
    if not ids:
        return []
    rows = db.execute(
        select(  # type: ignore[call-overload]
            col(LedgerEntry.id),
            col(Person.id),
            col(Person.channel),
            col(Person.address_enc),
            col(Person.locale),
            _unreachable(now),
        )
        .join(Person, col(Person.id) == LedgerEntry.person_id)
        .where(col(LedgerEntry.id).in_(ids))
        .order_by(col(LedgerEntry.id))
    ).all()
    return [Recipient(int(e), int(p), c, a, lo, bool(u)) for e, p, c, a, lo, u in rows]


_LEDGER = LedgerEntry.__table__  # type: ignore[attr-defined]
# Built once: a Telegram broadcast records every message before the next one leaves, so this
# runs once per recipient, and building the statement each time cost more than running it.
_FINISH = (
    update(_LEDGER)
    .where(_LEDGER.c.id.in_(bindparam("ids", expanding=True)))
    .values(state=bindparam("state"), done_at=bindparam("done"), lease_until=None)
)


def finish_recipients(db: Session, ids: list[int], state: str, now: datetime) -> None:
    """Record how entries ended (sent, unreachable, failed): one statement per thousand."""
    for start in range(0, len(ids), 1000):
        db.connection().execute(
            _FINISH, {"ids": ids[start : start + 1000], "state": state, "done": now}
        )


def finish_broadcast(db: Session, broadcast_id: int, *, owner: str, now: datetime) -> bool:
    """Mark the broadcast done when none of its recipients is pending or claimed any more;
    True when this call did (so the final tally is told once)."""
    unfinished = (
        select(LedgerEntry.id)
        .where(
            col(LedgerEntry.broadcast_id) == broadcast_id,
            col(LedgerEntry.state).in_(_UNFINISHED),
        )
        .exists()
    )
    result = db.execute(
        update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.owner) == owner,
            col(Broadcast.state) == BroadcastState.SENDING,
            ~unfinished,
        )
        .values(state=BroadcastState.DONE, finished_at=now, lease_until=None)
    )
    return bool(getattr(result, "rowcount", 0))
