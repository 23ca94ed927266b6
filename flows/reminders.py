"""Reminders before a session and the feedback invitation after it.

The database is the truth about what is due. A sweep streams what is due, claims it with one
atomic insert per batch (the unique key makes a second scheduler's claim fail), and hands each
claimed message on; each is marked sent once the platform accepted it. A claim carries a
lease that its scheduler renews while it sends; if the scheduler dies, the lease runs out and
the next sweep anywhere takes the unsent ones over. So a crash loses nothing, and only a
message in flight at that moment can arrive twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from flows import screens
from flows.clock import Clock
from flows.events import Address
from flows.i18n import Catalogs
from flows.replies import Outgoing
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import ReminderKind

DEFAULT_ZONE = "Europe/Belgrade"
FEEDBACK_WITHIN = timedelta(days=2)  # after a long outage, later than this is not worth it


@dataclass(frozen=True)
class Claimed:
    reminder_id: int
    outgoing: Outgoing | None  # None: nothing to send after all (unreachable, started, moot)


@dataclass
class ReminderPlan:
    offsets: list[timedelta] = field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)]
    )
    feedback_delay: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 1000


class Reminders:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        catalogs: Catalogs,
        clock: Clock,
        plan: ReminderPlan | None = None,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.catalogs = catalogs
        self.clock = clock
        self.plan = plan or ReminderPlan()
        self.owner = owner or uuid.uuid4().hex  # one per scheduler process

    def sweep(self) -> Iterator[list[Claimed]]:
        """Claim what is due, in batches; yields each batch ready to send."""
        now = self.clock.now()
        with self.database.session() as db:
            reclaimed = q.reclaim(db, owner=self.owner, now=now, lease=self.plan.lease)
        if reclaimed:
            yield self._render(reclaimed)
        offsets = [int(o.total_seconds() // 60) for o in self.plan.offsets]

        def reminders_due(db: Session) -> Generator[q.Due, None, None]:
            return q.due_reminders(db, now, offsets, chunk=self.plan.batch)

        def feedback_due(db: Session) -> Generator[q.Due, None, None]:
            return q.due_feedback(
                db, now, self.plan.feedback_delay, within=FEEDBACK_WITHIN, chunk=self.plan.batch
            )

        due_sources: list[Callable[[Session], Generator[q.Due, None, None]]] = [
            reminders_due,
            feedback_due,
        ]
        for source in due_sources:
            while True:
                with self.database.session() as db:
                    batch = []
                    with contextlib.closing(source(db)) as stream:
                        for due in stream:
                            batch.append(due)
                            if len(batch) >= self.plan.batch:
                                break
                    ids = q.claim(db, batch, owner=self.owner, now=now, lease=self.plan.lease)
                if ids:
                    yield self._render(ids)
                if len(batch) < self.plan.batch:
                    break

    def renew(self, ids: list[int]) -> None:
        """Extend the lease of what this scheduler is still sending."""
        if ids:
            with self.database.session() as db:
                q.renew(db, owner=self.owner, ids=ids, now=self.clock.now(), lease=self.plan.lease)

    def forget_deliveries(self, age: timedelta) -> int:
        """Housekeeping that rides along with the sweeps: old webhook delivery ids."""
        with self.database.session() as db:
            return q.forget_deliveries(db, self.clock.now() - age)

    def finish(self, reminder_id: int, *, sent: bool) -> None:
        with self.database.session() as db:
            q.finish_reminder(db, reminder_id, sent=sent, now=self.clock.now())

    def _render(self, ids: list[int]) -> list[Claimed]:
        now = self.clock.now()
        claimed = []
        with self.database.session() as db:
            views = {view.reminder_id: view for view in q.reminder_views(db, ids)}
        texts: dict[tuple[str, int | None], list[str]] = {}  # many people, one session
        for reminder_id in ids:
            view = views.get(reminder_id)
            if view is None or view.unreachable:
                claimed.append(Claimed(reminder_id, None))
                continue
            session = view.session
            t = self.catalogs.translator(view.locale)
            if view.kind == ReminderKind.FEEDBACK:
                reply = screens.feedback_invitation(t, session)
            elif (
                view.booking_status != "confirmed"
                or session.cancelled_at is not None
                or session.starts_at <= now
                or session.starts_at != view.reminder_starts_at
            ):
                claimed.append(Claimed(reminder_id, None))  # cancelled, moved or started
                continue
            else:
                key = (t.code, session.id)
                if key not in texts:
                    zone = view.zone or DEFAULT_ZONE
                    texts[key] = screens.reminder_lines(t, session, zone, session.starts_at - now)
                reply = screens.reminder(t, texts[key], view.booking_id)
            address = Address(view.channel, self.vault.open(view.address_enc))
            outgoing = Outgoing(address, reply, person_id=view.person_id, bot_initiated=True)
            claimed.append(Claimed(reminder_id, outgoing))
        return claimed
