"""Notices from staff on their way to every recipient, through the outbox.

A broadcast and one ledger entry per recipient are written before anything is sent
(``flows/broadcasts.py``). Here one sender at a time takes a due broadcast with a lease, and
streams its recipients in chunks, never loading them all:

- Telegram (and the terminal): one message per person, each *exclusive* in the outbox, so each
  is recorded (sent, unreachable, failed) before the next leaves. A kill repeats at most the
  one message in flight. At most about one chunk is handed over and unfinished.
- Viber: ``broadcast_message`` calls of up to 300 receivers who read the same language; each
  call's outcome is recorded (one statement per state) before the next call leaves, so a kill
  repeats at most one call. The next call's recipients are claimed while one is in flight.

Leases: the broadcast's and its claimed entries' are renewed while sending. A sender that dies
stops renewing; the next :meth:`Broadcaster.run_due` anywhere then takes the broadcast over,
with the entries that were in flight. Replies to people talking to the bot never wait behind
the broadcast: they are not exclusive, so they pass the broadcast's one message in the lane.
A process sends only on the channels it has; it leaves the rest (and the lease) to one that
has them. Due broadcasts go one after another.

The author follows along: on Telegram their message is edited in place every few seconds
("Sending: 1,240 of 4,000 done."), then shows the final tally; on Viber, which cannot edit,
only the final tally comes, as a new message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session

from bot.channels.base import BatchChannel, Delivery
from bot.outbox import Outbox, Result
from flows import broadcasts
from flows.clock import Clock
from flows.events import Address
from flows.i18n import Catalogs, Translator
from flows.replies import Reply
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Broadcast, Centre, LedgerState

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[Mapping[str, int], int], None]
FINISHED = (LedgerState.SENT, LedgerState.UNREACHABLE, LedgerState.FAILED, LedgerState.DROPPED)
STATE_OF = {
    Result.SENT: LedgerState.SENT,
    Result.UNREACHABLE: LedgerState.UNREACHABLE,
    Result.FAILED: LedgerState.FAILED,
}
EDITS_IN_PLACE = {"telegram"}  # channels that can edit the author's progress message
OPERATOR = "operator"  # the audit role of a notice sent from the command line


@dataclass(frozen=True)
class Tally:
    """How a broadcast stands after :meth:`Broadcaster.send`: recipients by ledger state."""

    broadcast_id: int
    counts: Mapping[str, int]
    total: int
    finished: bool  # every recipient has an outcome (else some wait for another process)

    @property
    def delivered(self) -> int:
        return self.counts.get(LedgerState.SENT, 0)

    @property
    def unreachable(self) -> int:
        return self.counts.get(LedgerState.UNREACHABLE, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(LedgerState.FAILED, 0) + self.counts.get(LedgerState.DROPPED, 0)

    def line(self) -> str:
        """For the audit log and the operator (English, no personal data)."""
        return (
            f"broadcast {self.broadcast_id}: {self.delivered:,} delivered, "
            f"{self.unreachable:,} unreachable, {self.failed:,} failed"
        )


class Broadcaster:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        catalogs: Catalogs,
        clock: Clock,
        outbox: Outbox,
        *,
        lease: timedelta = timedelta(minutes=2),
        chunk: int = 300,
        progress_every: float = 2.0,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.catalogs = catalogs
        self.clock = clock
        self.outbox = outbox
        self.lease = lease
        self.chunk = max(3, chunk)  # most messages handed over and not yet recorded
        self.progress_every = progress_every
        self.owner = owner or uuid.uuid4().hex  # one per process
        self._active: set[int] = set()
        self._busy = asyncio.Lock()

    async def run_due(self) -> int:
        """Send every broadcast that is due (scheduled, or left unfinished by a sender that
        died); returns how many this call sent to the end. A call while another runs
        returns 0 at once: the running one looks again for due ones before it stops."""
        if self._busy.locked():
            return 0
        async with self._busy:
            finished = 0
            tried: set[int] = set()
            while True:
                due = await self._db(q.due_broadcasts, self.clock.now())
                waiting = [bid for bid in due if bid not in tried]
                if not waiting:
                    return finished
                for broadcast_id in waiting:
                    tried.add(broadcast_id)
                    tally = await self.send(broadcast_id)
                    if tally is not None and tally.finished:
                        finished += 1
                        log.info("%s", tally.line())

    async def send(self, broadcast_id: int, on_progress: Progress | None = None) -> Tally | None:
        """Take the broadcast's lease and send it to everyone not yet sent to, on the
        channels this process has. None when another sender holds it (or it is not due).

        ``on_progress(counts, total)`` is called as outcomes are recorded (counts by ledger
        state: sent, unreachable, failed, dropped)."""
        if broadcast_id in self._active:
            return None
        self._active.add(broadcast_id)
        try:
            taken = await self._db(self._take, broadcast_id)
            if taken is None:
                return None
            return await _Run(self, *taken, on_progress).go()
        finally:
            self._active.discard(broadcast_id)

    def _take(self, db: Session, broadcast_id: int) -> tuple[Broadcast, str, dict[str, int]] | None:
        broadcast = q.take_broadcast(
            db, broadcast_id, owner=self.owner, now=self.clock.now(), lease=self.lease
        )
        if broadcast is None:
            return None
        centre = db.get(Centre, broadcast.centre_id)
        return broadcast, centre.name if centre else "", q.broadcast_counts(db, broadcast_id)

    async def _db(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(db, ...)`` in one transaction, off the event loop."""

        def run() -> T:
            with self.database.session() as db:
                return work(db, *args, **kwargs)

        return await in_thread(run)


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a worker thread. Cancelled meanwhile (the bot stopping), it still
    waits for the thread: a transaction is never left running after the sender has stopped
    (and the database closed under it)."""
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


@dataclass
class _Progress:
    """Where the author follows the broadcast: their chat, and the message to edit."""

    address: Address
    message: str | None
    translator: Translator

    @property
    def live(self) -> bool:
        return self.message is not None and self.address.channel in EDITS_IN_PLACE


@dataclass
class _Run:
    """One sender's pass over one broadcast."""

    sender: Broadcaster
    broadcast: Broadcast
    centre_name: str
    initial: dict[str, int]
    on_progress: Progress | None = None
    counts: dict[str, int] = field(default_factory=dict)
    one_by_one: set[int] = field(default_factory=set)  # handed over, not yet recorded
    in_calls: set[int] = field(default_factory=set)
    lost: bool = False  # another sender took the broadcast (this one stalled past its lease)
    texts: dict[str, str] = field(default_factory=dict)  # the versions, by language
    base: Translator | None = None  # the language the author wrote in
    author: _Progress | None = None
    _replies: dict[str, Reply] = field(default_factory=dict)
    _room: asyncio.Condition = field(default_factory=asyncio.Condition)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def id(self) -> int:
        assert self.broadcast.id is not None
        return self.broadcast.id

    async def go(self) -> Tally:
        self.counts = {state: self.initial.get(state, 0) for state in FINISHED}
        self.texts = broadcasts.versions(self.broadcast)
        self.base = self.sender.catalogs.translator(self.broadcast.base_locale)
        self.author = self._author()
        tasks = [asyncio.create_task(self._renew())]
        if self.author is not None and self.author.live:
            tasks.append(asyncio.create_task(self._show_progress()))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._one_by_one())
                group.create_task(self._in_calls())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return await self._end()

    # ---- one message per person (exclusive) --------------------------------------------

    async def _one_by_one(self) -> None:
        channels = [
            name
            for name, channel in self.sender.outbox.channels.items()
            if not isinstance(channel, BatchChannel)
        ]
        if not channels:
            return
        step = max(1, self.sender.chunk // 3)
        claims = self._claims(channels, None, step)
        while True:
            async with self._room:  # at most about one chunk handed over and unrecorded
                await self._room.wait_for(lambda: len(self.one_by_one) + step <= self.sender.chunk)
            recipients = await in_thread(next, claims, None)
            if recipients is None:
                break
            for recipient in recipients:
                self._hand_over(recipient)
        async with self._room:
            await self._room.wait_for(lambda: not self.one_by_one)

    def _hand_over(self, recipient: q.Recipient) -> None:
        entry = recipient.entry_id
        if entry in self.one_by_one:
            return  # already on its way (claimed again after a stall)
        self.one_by_one.add(entry)
        if recipient.unreachable:  # known before we began: counted, not sent
            self._keep(asyncio.create_task(self._recorded(entry, Result.UNREACHABLE)))
            return
        self.sender.outbox.submit(
            Delivery(
                Address(recipient.channel, self.sender.vault.open(recipient.address_enc)),
                self._reply(recipient.locale),
                person_id=recipient.person_id,
                bot_initiated=True,
                exclusive=True,
                on_done=functools.partial(self._recorded, entry),
            )
        )

    async def _recorded(self, entry: int, result: Result) -> None:
        """Record one outcome; the outbox waits for this before the next exclusive send."""
        state = STATE_OF[result]
        try:
            await self.sender._db(q.finish_recipients, [entry], state, self.sender.clock.now())
        finally:
            await self._done([entry], state)

    # ---- one call to many (Viber) ----------------------------------------------------------

    async def _in_calls(self) -> None:
        outbox = self.sender.outbox
        for name, channel in outbox.channels.items():
            if not isinstance(channel, BatchChannel):
                continue
            now = self.sender.clock.now()
            locales = await self.sender._db(q.pending_locales, self.id, now, name)
            for same_text in self._by_translation(locales):
                await self._calls(name, channel, same_text)

    def _by_translation(self, locales: Iterable[str]) -> list[list[str]]:
        """Languages that read the same notice (those without a catalogue read English)."""
        groups: dict[str, list[str]] = {}
        for locale in locales:
            groups.setdefault(self.sender.catalogs.translator(locale).code, []).append(locale)
        return list(groups.values())

    async def _calls(self, name: str, channel: BatchChannel, locales: list[str]) -> None:
        """Calls of up to ``max_batch`` for one language: each recorded before the next
        leaves; the next one's recipients are claimed while a call is in flight."""
        claims = self._claims([name], locales, max(1, channel.max_batch))
        upcoming = asyncio.ensure_future(in_thread(next, claims, None))
        try:
            while (recipients := await upcoming) is not None:
                fresh = [r for r in recipients if r.entry_id not in self.in_calls]
                self.in_calls.update(r.entry_id for r in fresh)  # its lease is renewed now
                upcoming = asyncio.ensure_future(in_thread(next, claims, None))
                await self._call(name, fresh)
        finally:  # stopped during a call: the next claim still ends its transaction
            if not upcoming.done():
                upcoming.cancel()
                with contextlib.suppress(BaseException):
                    await upcoming

    async def _call(self, name: str, recipients: list[q.Recipient]) -> None:
        """One call (retried as the platform asks), then its outcomes in one statement per
        state."""
        outcomes: dict[str, list[int]] = {LedgerState.UNREACHABLE: []}
        deliveries, entries = [], []
        for recipient in recipients:
            if recipient.unreachable:
                outcomes[LedgerState.UNREACHABLE].append(recipient.entry_id)
                continue
            address = Address(recipient.channel, self.sender.vault.open(recipient.address_enc))
            reply = self._reply(recipient.locale)
            deliveries.append(
                Delivery(address, reply, person_id=recipient.person_id, bot_initiated=True)
            )
            entries.append(recipient.entry_id)
        results = await asyncio.gather(*self.sender.outbox.submit_batch(name, deliveries))
        for entry, result in zip(entries, results, strict=True):
            outcomes.setdefault(STATE_OF[result], []).append(entry)
        now = self.sender.clock.now()

        def record(db: Session) -> None:
            for state, ids in outcomes.items():
                q.finish_recipients(db, ids, state, now)

        await self.sender._db(record)
        for state, ids in outcomes.items():
            await self._done(ids, state)

    # ---- shared ------------------------------------------------------------------------

    def _claims(
        self, channels: list[str], locales: list[str] | None, limit: int
    ) -> Iterator[list[q.Recipient]]:
        """Chunks of claimed recipients, in id order, until none is left: a generator whose
        steps run in worker threads, each one transaction. The broadcast's lease is extended
        with each claim, so it never ends before the lease of an entry it holds."""
        sender = self.sender
        after = 0
        while not self.lost:
            with sender.database.session() as db:
                now = sender.clock.now()
                ids = q.claim_recipients(
                    db, self.id, owner=sender.owner, now=now, lease=sender.lease,
                    channels=channels, locales=locales, after=after, limit=limit,
                )  # fmt: skip
                if ids and not q.renew_broadcast(
                    db, self.id, owner=sender.owner, now=now, lease=sender.lease
                ):
                    self.lost = True
                recipients = q.recipient_views(db, ids, now)
            if not ids:
                if after == 0:
                    return
                after = 0  # once more from the start: entries a dead sender left in flight
                continue
            after = ids[-1]
            yield recipients

    def _reply(self, locale: str) -> Reply:
        """The notice as people reading ``locale`` receive it (made once per language)."""
        t = self.sender.catalogs.translator(locale)
        if t.code not in self._replies:
            base = self.base or t
            self._replies[t.code] = broadcasts.notice(t, self.texts, base, self.centre_name)
        return self._replies[t.code]

    async def _done(self, ids: list[int], state: str) -> None:
        if not ids:
            return
        self.counts[state] = self.counts.get(state, 0) + len(ids)
        self.one_by_one.difference_update(ids)
        self.in_calls.difference_update(ids)
        async with self._room:
            self._room.notify_all()
        if self.on_progress is not None:
            self.on_progress(dict(self.counts), self.broadcast.recipients)

    def _keep(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renew(self) -> None:
        """Keep the broadcast's lease and its in-flight entries' leases while sending."""
        sender = self.sender
        every = max(0.2, sender.lease.total_seconds() / 3)

        def renew(db: Session) -> bool:
            now = sender.clock.now()
            in_flight = sorted(self.one_by_one | self.in_calls)
            q.renew(db, owner=sender.owner, ids=in_flight, now=now, lease=sender.lease)
            return q.renew_broadcast(db, self.id, owner=sender.owner, now=now, lease=sender.lease)

        while True:
            await asyncio.sleep(every)
            try:
                if not await sender._db(renew):
                    log.warning("broadcast %d was taken over by another sender", self.id)
                    self.lost = True
            except Exception:
                log.exception("renewing the leases of broadcast %d failed", self.id)

    # ---- the author's view -------------------------------------------------------------

    def _author(self) -> _Progress | None:
        broadcast = self.broadcast
        if broadcast.progress_enc is None or broadcast.progress_channel is None:
            return None
        if broadcast.progress_channel not in self.sender.outbox.channels:
            return None
        try:
            where = json.loads(self.sender.vault.open(broadcast.progress_enc))
            user = str(where["user"])
        except Exception:
            log.warning("broadcast %d: the author's chat cannot be read", self.id)
            return None
        message = where.get("message")
        return _Progress(
            Address(broadcast.progress_channel, user),
            str(message) if message else None,
            self.sender.catalogs.translator(broadcast.author_locale),
        )

    async def _show_progress(self) -> None:
        """Edit the author's message every few seconds while sending (Telegram only)."""
        author = self.author
        assert author is not None
        shown = ""
        previous: asyncio.Future[Result] | None = None
        total = self.broadcast.recipients
        while True:
            await asyncio.sleep(self.sender.progress_every)
            text = broadcasts.tally(author.translator, self.counts, total, done=False)
            if text == shown or (previous is not None and not previous.done()):
                continue  # nothing new, or the last edit is still on its way
            shown = text
            previous = self.sender.outbox.submit(
                Delivery(author.address, Reply(text=text), edit=author.message)
            )

    async def _end(self) -> Tally:
        """Mark the broadcast done if every recipient has an outcome, then tell the author
        (once, whoever finishes) and write the audit entry; else leave it to a sender with
        the channels this one lacks."""
        sender = self.sender
        broadcast = self.broadcast

        def end(db: Session) -> tuple[bool, dict[str, int]]:
            finished = q.finish_broadcast(db, self.id, owner=sender.owner, now=sender.clock.now())
            counts = q.broadcast_counts(db, self.id)
            if finished:
                tally = Tally(self.id, counts, broadcast.recipients, True)
                q.audit(
                    db, now=sender.clock.now(), actor=broadcast.author,
                    role=_role(db, broadcast.author), action="broadcast sent",
                    centre_id=broadcast.centre_id, detail=tally.line(),
                )  # fmt: skip
            else:
                q.release_broadcast(db, self.id, owner=sender.owner)
            return finished, counts

        finished, counts = await sender._db(end)
        tally = Tally(self.id, counts, broadcast.recipients, finished)
        if self.on_progress is not None:
            self.on_progress(counts, broadcast.recipients)
        if finished and self.author is not None:
            await self._final_tally(self.author, counts)
        elif not finished:
            log.info("broadcast %d: some recipients wait for another sender", self.id)
        return tally

    async def _final_tally(self, author: _Progress, counts: Mapping[str, int]) -> None:
        text = broadcasts.tally(author.translator, counts, self.broadcast.recipients, done=True)
        edit = author.message if author.live else None
        await self.sender.outbox.submit(Delivery(author.address, Reply(text=text), edit=edit))


def _role(db: Session, author: str) -> str:
    """The author's role for the audit log: a staff member's, or the operator's."""
    member = q.member_by_ref(db, author)
    return member.role if member is not None else OPERATOR
