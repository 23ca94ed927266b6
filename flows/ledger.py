"""Everything the bot sends unprompted, through one ledger: reminders before a session, the
feedback invitation after it, and the messages owed when something changed (a seat handed on,
a session moved or cancelled).

The database is the truth about what is due. A sweep takes over entries whose sender died
(expired leases), claims what is owed, then streams the reminders and invitations that are due
and claims them with one atomic insert per batch (the unique key makes a second scheduler's
claim fail). Each claimed message is rendered in the person's language at that moment and
handed on; it is marked sent once the platform accepted it. A claim carries a lease that its
scheduler renews while it sends. So a crash loses nothing, and only a message in flight at that
moment can arrive twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from flows import booking, feedback, reporting
from flows.clock import Clock
from flows.events import Address
from flows.i18n import Catalogs, Translator, translator_key
from flows.replies import Outgoing, Reply
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import BookingStatus, LedgerKind

FEEDBACK_WITHIN = timedelta(days=2)  # after a long outage, later than this is not worth it


@dataclass(frozen=True)
class Claimed:
    entry_id: int
    outgoing: Outgoing | None  # None: nothing to send after all (unreachable, started, moot)
    kind: str = ""


@dataclass
class LedgerPlan:
    offsets: list[timedelta] = field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)]
    )
    feedback_delay: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 1000
    default_zone: str = "UTC"  # for a session whose centre is gone (settings' TIMEZONE)


class Ledger:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        catalogs: Catalogs,
        clock: Clock,
        plan: LedgerPlan | None = None,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.catalogs = catalogs
        self.clock = clock
        self.plan = plan or LedgerPlan()
        self.owner = owner or uuid.uuid4().hex  # one per scheduler process
        # Many people, one session: its reminder lines are written once per language and sweep.
        self._lines: dict[tuple[str, int | None], list[str]] = {}

    def sweep(
        self, channels: set[str], *, due: bool = True
    ) -> Generator[list[Claimed], None, None]:
        """Claim what is owed (and, with ``due``, the reminders and invitations due now) for
        people on ``channels``, in batches; yields each batch ready to send."""
        now = self.clock.now()
        lease = self.plan.lease
        self._lines.clear()  # "starts in ..." is said as of this sweep's moment
        with self.database.session() as db:
            ids = q.reclaim(db, owner=self.owner, now=now, lease=lease, channels=channels)
        if ids:
            yield self._render(ids)
        while True:
            with self.database.session() as db:
                ids = q.claim_pending(
                    db, owner=self.owner, now=now, lease=lease, channels=channels,
                    limit=self.plan.batch,
                )  # fmt: skip
            if ids:
                yield self._render(ids)
            if len(ids) < self.plan.batch:
                break
        if not due:
            return
        offsets = [int(o.total_seconds() // 60) for o in self.plan.offsets]

        def reminders_due(db: Session) -> Generator[q.Due, None, None]:
            return q.due_reminders(db, now, offsets, chunk=self.plan.batch)

        def feedback_due(db: Session) -> Generator[q.Due, None, None]:
            return q.due_feedback(
                db, now, self.plan.feedback_delay, within=FEEDBACK_WITHIN, chunk=self.plan.batch
            )

        sources: list[Callable[[Session], Generator[q.Due, None, None]]] = [
            reminders_due,
            feedback_due,
        ]
        for source in sources:
            while True:
                with self.database.session() as db:
                    batch = []
                    with contextlib.closing(source(db)) as stream:
                        for item in stream:
                            batch.append(item)
                            if len(batch) >= self.plan.batch:
                                break
                    ids = q.claim(db, batch, owner=self.owner, now=now, lease=lease)
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

    def finish(self, entry_id: int, *, sent: bool) -> None:
        with self.database.session() as db:
            q.finish(db, entry_id, sent=sent, now=self.clock.now())

    def _render(self, ids: list[int]) -> list[Claimed]:
        now = self.clock.now()
        with self.database.session() as db:
            views = {view.entry_id: view for view in q.ledger_views(db, ids, now)}
        cache = self._lines
        claimed = []
        for entry_id in ids:
            view = views.get(entry_id)
            reply = None
            if view is not None and not view.unreachable:
                t = self.catalogs.translator(translator_key(view.locale, view.digits))
                reply = self._reply(t, view, now, cache)
            if view is None or reply is None:
                claimed.append(Claimed(entry_id, None, view.kind if view else ""))
                continue
            address = Address(view.channel, self.vault.open(view.address_enc))
            outgoing = Outgoing(address, reply, person_id=view.person_id, bot_initiated=True)
            claimed.append(Claimed(entry_id, outgoing, view.kind))
        return claimed

    def _reply(
        self,
        t: Translator,
        view: q.LedgerView,
        now: datetime,
        cache: dict[tuple[str, int | None], list[str]],
    ) -> Reply | None:
        """The message for one entry, or None when it no longer makes sense to send it."""
        kind = view.kind
        if kind == LedgerKind.REPORT:  # work for a focal point: a pause does not hold it
            if view.report_enc is None:
                return None  # already received, or more than a week old
            opened = self.vault.open(view.report_enc)
            return reporting.for_focal_point(t, opened, anonymous=view.report_anonymous)
        if view.quiet:
            return None  # the person stopped or paused what the bot starts
        session = view.session
        if session is None or view.booking_id is None:
            return None
        zone = view.zone or self.plan.default_zone
        if kind == LedgerKind.FEEDBACK:
            return feedback.invitation(t, session, view.booking_id)
        if kind == LedgerKind.SESSION_CANCELLED:
            return booking.session_cancelled(t, session, zone, now)
        if session.cancelled_at is not None or session.starts_at <= now:
            return None  # cancelled or started since: a reminder, an offer or a move is moot
        if kind == LedgerKind.SESSION_MOVED:
            return booking.session_moved(t, session, zone, now)
        if kind == LedgerKind.SEAT_LOST:  # moot once they have a seat again, or left
            if view.booking_status != BookingStatus.WAITLISTED:
                return None
            return booking.seat_lost(t, session, zone, view.booking_id, now)
        if view.booking_status != BookingStatus.CONFIRMED:
            return None  # cancelled again before we could tell them
        if kind == LedgerKind.SEAT_OFFERED:
            return booking.seat_offered(t, session, zone, view.booking_id, now, view.ticket)
        if kind == LedgerKind.REMINDER and view.muted:
            return None  # "no reminders for this one"
        if kind == LedgerKind.REMINDER and session.starts_at == view.entry_starts_at:
            key = (t.key, session.id)
            if key not in cache:
                cache[key] = booking.reminder_lines(t, session, zone, now)
            labels = (t.key, None)  # the buttons' words, once per language and sweep
            if labels not in cache:
                cache[labels] = booking.reminder_labels(t)
            return booking.reminder(t, cache[key], cache[labels], view.booking_id, view.ticket)
        return None  # a reminder for a time the session was moved away from
