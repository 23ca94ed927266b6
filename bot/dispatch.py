"""From a parsed update to replies on their way.

Updates from one person are handled one after another, in arrival order; different people are
handled at the same time. The conversation itself is synchronous database work, so it runs on
a small thread pool and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from bot.channels.base import Delivery
from bot.documents import DocumentError, Documents
from bot.outbox import Outbox
from flows.conversation import Conversation
from flows.events import Address, Incoming
from flows.replies import Document, Outcome, Reply

log = logging.getLogger(__name__)

PROGRESS_FIRST = 1.5  # seconds before a document being made is said to be coming
PROGRESS_EVERY = 2.0  # then its bar is redrawn this often (where messages can be edited)
EDITS_IN_PLACE = {"telegram"}


def bar(done: float, width: int = 10) -> str:
    """``▓▓▓▓░░░░░░ 40%``: how much of a document is made."""
    filled = max(0, min(width, int(done * width)))
    return "▓" * filled + "░" * (width - filled) + f" {int(done * 100)}%"


class KeyedSerial:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, key: object) -> _Held:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        await lock.acquire()
        return _Held(self, key, lock)

    def _release(self, key: object, lock: asyncio.Lock) -> None:
        lock.release()
        _, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)


class _Held:
    def __init__(self, owner: KeyedSerial, key: object, lock: asyncio.Lock) -> None:
        self._owner, self._key, self._lock = owner, key, lock

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        self._owner._release(self._key, self._lock)


class Dispatcher:
    def __init__(
        self,
        conversation: Conversation,
        outbox: Outbox,
        *,
        on_notify: Callable[[], None] = lambda: None,
        on_replied: Callable[[Incoming], Awaitable[None]] | None = None,
        threads: int = 2,
        documents: Documents | None = None,
    ) -> None:
        self.conversation = conversation
        self.outbox = outbox
        self.documents = documents  # slow documents (exports) are made before they are sent
        self.on_notify = on_notify
        self.on_replied = on_replied  # replies kept until sent (keep_replies) are now sent
        self._serial = KeyedSerial()
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="flows")
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._sending: set[asyncio.Task[None]] = set()

    def submit(self, incoming: Incoming, *, edit: str | None = None) -> asyncio.Task[Outcome]:
        """Handle an update in the background, in order with that person's earlier ones."""
        task = asyncio.create_task(self.handle(incoming, edit=edit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def handle(
        self, incoming: Incoming, *, edit: str | None = None, deliver: bool = True
    ) -> Outcome:
        """Handle one update; with ``deliver=False`` the replies are returned, not sent."""
        if edit is not None and incoming.message_ref is None:
            incoming = dataclasses.replace(incoming, message_ref=edit)
        async with await self._serial(incoming.address):
            loop = asyncio.get_running_loop()
            try:
                outcome = await loop.run_in_executor(
                    self._executor, self.conversation.handle, incoming
                )
            except Exception:
                log.exception("handling an update failed")
                outcome = self.conversation.sorry(incoming)
            if deliver:
                self.send(incoming, outcome, edit)
        if outcome.notify:
            self.on_notify()
        return outcome

    def send(self, incoming: Incoming, outcome: Outcome, edit: str | None = None) -> None:
        """Queue an outcome's replies in order; with ``keep_replies``, the last one's send
        tells ``on_replied`` that nothing is owed for this delivery any more.

        A reply with a slow document (an export: ``Document.working`` says so) is made first,
        with its progress shown, and only then queued, with what follows it."""
        slow = [
            index for index, reply in enumerate(outcome.replies)
            if reply.document is not None and reply.document.working
        ]  # fmt: skip
        if slow and self.documents is not None:
            task = asyncio.create_task(self._send_when_made(incoming, outcome, edit))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
            return
        self._queue(incoming, outcome, edit, 0)

    async def _send_when_made(self, incoming: Incoming, outcome: Outcome, edit: str | None) -> None:
        for index, reply in enumerate(outcome.replies):
            document = reply.document
            if document is not None and document.working:
                await self._make(incoming.address, document, reply.rtl, edit)
                edit = None  # the tapped message now shows the progress
            self._queue(incoming, outcome, edit, index, only=True)

    async def _make(
        self, address: Address, document: Document, rtl: bool, edit: str | None
    ) -> None:
        """Make a document, telling the person it is coming when it takes a while: on a
        channel that edits messages, a bar that fills; elsewhere, once."""
        assert self.documents is not None
        made = [0.0]

        def progress(fraction: float) -> None:  # called from the worker thread
            made[0] = fraction

        task = asyncio.create_task(self.documents.get(document, progress))
        shown = ""
        wait = PROGRESS_FIRST
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=wait)
                return
            except TimeoutError:
                wait = PROGRESS_EVERY
            except DocumentError:
                return  # the channel says so when it sends the reply (the text still goes)
            except Exception:
                log.exception("making a %s failed", document.kind)
                return
            if shown and (address.channel not in EDITS_IN_PLACE or edit is None):
                continue
            text = f"{document.working}\n{bar(made[0])}"
            if text != shown:
                shown = text
                self.outbox.submit(Delivery(address, Reply(text=text, rtl=rtl), edit=edit))

    def _queue(
        self, incoming: Incoming, outcome: Outcome, edit: str | None, start: int,
        *, only: bool = False,
    ) -> None:  # fmt: skip
        last = len(outcome.replies) - 1
        for index, reply in enumerate(outcome.replies):
            if index < start or (only and index != start):
                continue
            # Only the first reply may take the place of the tapped message.
            target = edit if (index == 0 and reply.replace) else None
            on_done = None
            if index == last and incoming.keep_replies and self.on_replied is not None:
                on_done = functools.partial(self._replied, incoming)
            self.outbox.submit(Delivery(incoming.address, reply, edit=target, on_done=on_done))

    async def _replied(self, incoming: Incoming, result: object) -> None:
        assert self.on_replied is not None
        await self.on_replied(incoming)

    async def join(self) -> None:
        """Wait for every submitted update to be handled and its documents made (not yet
        sent: see Outbox.join)."""
        while self._tasks or self._sending:
            await asyncio.gather(*self._tasks, *self._sending, return_exceptions=True)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
