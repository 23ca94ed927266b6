"""Keeping little, for a short time: the daily retention job.

- Bookings of sessions that started more than ``RETENTION_DAYS`` ago (90 by default) are
  reduced to the anonymous counts the statistics need (``storage.queries.retention``): the
  figures in ``stats`` and the exports are the same before and after.
- People who have not used the bot for that long are erased, as if they had asked: seats they
  still hold go to the waitlist, the counts of their past bookings stay without them.
- Staff notices sent (or cancelled) that long ago go too: their text may name people.
- Delivery records (webhook ids) and the ledger of messages sent go after a week, abuse
  reports not yet received too (their text with them), reports written but never sent and
  failed invitation tries after a day, audit entries after a year.

Run daily by the scheduler and by ``workshopbot retention run``; the clock is injected, so a
test moves time instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, or_
from sqlmodel import col

from flows.clock import Clock
from storage import queries as q
from storage.db import Database
from storage.models import AbuseReport


@dataclass(frozen=True)
class Policy:
    days: int = 90  # RETENTION_DAYS: bookings and idle people
    deliveries: timedelta = timedelta(days=7)
    ledger: timedelta = timedelta(days=7)
    reports: timedelta = timedelta(days=7)
    drafts: timedelta = timedelta(days=1)  # a report written but never sent
    attempts: timedelta = timedelta(days=1)
    audit: timedelta = timedelta(days=365)
    batch: int = 500


@dataclass
class Done:
    """What one run removed (counts only: the job's log line)."""

    bookings: int = 0
    people: int = 0
    deliveries: int = 0
    ledger: int = 0
    reports: int = 0
    audit: int = 0
    notices: int = 0
    promoted: bool = False  # someone got a seat an erased person held (a message is owed)

    def __str__(self) -> str:
        return (
            f"{self.bookings} bookings reduced to counts, {self.people} idle people erased, "
            f"{self.deliveries} delivery records, {self.ledger} ledger rows, {self.reports} "
            f"undelivered reports, {self.notices} old staff notices and {self.audit} audit "
            "entries removed"
        )


def run(database: Database, clock: Clock, policy: Policy | None = None) -> Done:
    policy = policy or Policy()
    now = clock.now()
    old = now - timedelta(days=policy.days)
    done = Done()
    while True:  # in batches, each its own transaction: a long job never holds a lock long
        with database.session() as db:
            ids = q.old_booking_ids(db, old, limit=policy.batch)
            done.bookings += q.archive_bookings(db, ids)
        if len(ids) < policy.batch:
            break
    while True:
        with database.session() as db:
            idle = q.idle_people(db, old, limit=policy.batch)
            for person in idle:
                done.promoted |= q.erase_person(db, person, now, keep_mark=True)
            done.people += len(idle)
        if len(idle) < policy.batch:
            break
    with database.session() as db:
        done.deliveries = q.forget_deliveries(db, now - policy.deliveries)
        done.ledger = q.forget_ledger(db, now - policy.ledger)
        stale = or_(
            col(AbuseReport.created_at) < now - policy.reports,
            and_(
                col(AbuseReport.sent_at).is_(None),
                col(AbuseReport.created_at) < now - policy.drafts,
            ),
        )
        result = db.execute(delete(AbuseReport).where(stale))
        done.reports = int(getattr(result, "rowcount", 0) or 0)
        q.forget_attempts(db, now - policy.attempts)
        done.audit = q.forget_audit(db, now - policy.audit)
        done.notices = q.forget_notices(db, old)
    return done
