"""One outbox for everything the bot sends: replies, notifications, later reminders.

It keeps each platform's limits so that the platform never has to refuse:
- per bot: at most ``rate`` sends in any sliding window of ``window`` seconds (a small margin
  is added so network jitter cannot squeeze one window's sends into the next);
- per chat: a token bucket (about 1 message a second, short bursts allowed);
- messages to one chat leave in the order they were submitted, one at a time;
- exclusive deliveries (reminders) go one at a time, and each is recorded (``on_done``)
  before the next leaves: a crash can then repeat at most the one message in flight;
- a "retry after N seconds" answer pauses that channel for exactly N seconds, then the same
  message is sent again; a "blocked" answer drops the chat's queue and reports the person
  unreachable.

One message to many people (``submit_batch``) goes, on a channel that can (``BatchChannel``),
in calls of up to ``max_batch`` recipients, each call taking one slot of the channel's window;
calls leave one after another, in submission order. Recipients with something already queued
in their chat, and edits and exclusive deliveries, go one by one instead, so a batch never
overtakes what their chat was waiting for. A reply submitted while a batch waits does not
wait for it. A call draws on no chat's token bucket: it is one message to each recipient.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bot.channels.base import BatchChannel, Channel, Delivery, Sent
from flows.events import Address
from flows.replies import Reply

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]


class SlidingWindow:
    """At most ``rate`` sends in any window, as the platform counts them; FIFO; pausable.

    The platform counts a request when it arrives, which is some time after we send it and
    before its answer comes back. So a send holds a slot from the moment it starts, and its
    time stamp is taken when the answer arrives: the latest moment the platform can have seen
    it. Counted that way, no jitter in the network can put more than ``rate`` sends into one
    of the platform's windows.
    """

    def __init__(
        self,
        rate: int,
        window: float = 1.0,
        margin: float = 0.01,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.rate = max(1, rate)
        self.window = window + margin
        self._stamps: deque[float] = deque()
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()
        self._paused_until = 0.0
        self._monotonic = monotonic

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for a slot; every acquire must be followed by one :meth:`release`."""
        async with self._lock:
            while True:
                now = self._monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                while self._stamps and self._stamps[0] <= now - self.window:
                    self._stamps.popleft()
                if len(self._stamps) + self._in_flight < self.rate:
                    self._in_flight += 1
                    return
                if self._stamps:
                    await asyncio.sleep(self._stamps[0] + self.window - now)
                else:  # every slot is a send still on its way: wait for one to land
                    self._released.clear()
                    await self._released.wait()

    def release(self) -> None:
        self._in_flight -= 1
        self._stamps.append(self._monotonic())
        self._released.set()


class TokenBucket:
    def __init__(self, rate: float, burst: int, monotonic: Monotonic = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self._monotonic = monotonic
        self.updated = monotonic()

    def _refill(self) -> None:
        now = self._monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self) -> None:
        self._refill()
        while self.tokens < 1:
            await asyncio.sleep((1 - self.tokens) / self.rate)
            self._refill()
        self.tokens -= 1

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst

    def until_full(self) -> float:
        """Seconds until the bucket is full again (a new one would be the same from then)."""
        self._refill()
        return max(0.0, (self.burst - self.tokens) / self.rate)


class Result(Enum):
    SENT = "sent"
    UNREACHABLE = "unreachable"
    FAILED = "failed"


@dataclass
class _Item:
    delivery: Delivery
    done: asyncio.Future[Result]
    attempts: int = 0


@dataclass
class _Chat:
    bucket: TokenBucket
    queue: deque[_Item] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


OnUnreachable = Callable[[Address], Awaitable[None]]
MAX_ATTEMPTS = 5


class Outbox:
    def __init__(
        self,
        channels: dict[str, Channel],
        *,
        chat_rate: float = 1.0,
        chat_burst: int = 3,
        on_unreachable: OnUnreachable | None = None,
    ) -> None:
        self.channels = channels
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self.on_unreachable = on_unreachable
        self.limits = {
            name: SlidingWindow(int(channel.rate_limit)) if channel.rate_limit else None
            for name, channel in channels.items()
        }
        self._chats: dict[Address, _Chat] = {}
        # Per batching channel: calls waiting to leave (each a list of recipients), and the
        # one task that sends them.
        self._batches: dict[str, deque[list[_Item]]] = {}
        self._batch_workers: dict[str, asyncio.Task[None]] = {}
        self._lane = asyncio.Lock()
        self._reports: set[asyncio.Task[None]] = set()
        self.retries_after = 0  # how often a platform told us to slow down

    def submit(self, delivery: Delivery) -> asyncio.Future[Result]:
        """Queue a message; the future says how it ended. Never blocks."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        if delivery.address.channel not in self.channels:
            log.warning("no channel %r configured; message dropped", delivery.address.channel)
            done.set_result(Result.FAILED)
            return done
        chat = self._chats.get(delivery.address)
        if chat is None:
            chat = self._chats[delivery.address] = _Chat(
                TokenBucket(self.chat_rate, self.chat_burst)
            )
        chat.queue.append(_Item(delivery, done))
        if chat.worker is None:
            chat.worker = asyncio.create_task(self._drain(delivery.address, chat))
        return done

    def submit_batch(
        self, channel_name: str, deliveries: Sequence[Delivery]
    ) -> list[asyncio.Future[Result]]:
        """Queue messages to many chats of one channel; one future per delivery, in order.

        Recipients of the same reply share calls of up to the channel's ``max_batch`` (a
        channel without batching gets one ``submit`` per delivery). Never blocks; creates no
        task per recipient."""
        channel = self.channels.get(channel_name)
        if channel is None:
            log.warning(
                "no channel %r configured; %d messages dropped", channel_name, len(deliveries)
            )
            return [self._failed() for _ in deliveries]
        strangers = {d.address.channel for d in deliveries} - {channel_name}
        if strangers:
            raise ValueError(f"a {channel_name} batch holds chats of {sorted(strangers)}")
        if not isinstance(channel, BatchChannel):
            return [self.submit(delivery) for delivery in deliveries]
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Result]] = []
        groups: dict[Reply, list[_Item]] = {}
        for delivery in deliveries:
            chat = self._chats.get(delivery.address)
            if (chat is not None and chat.queue) or delivery.edit or delivery.exclusive:
                futures.append(self.submit(delivery))
                continue
            item = _Item(delivery, loop.create_future())
            groups.setdefault(delivery.reply, []).append(item)
            futures.append(item.done)
        calls = self._batches.setdefault(channel_name, deque())
        size = max(1, channel.max_batch)
        for items in groups.values():
            calls.extend(items[start : start + size] for start in range(0, len(items), size))
        if calls and channel_name not in self._batch_workers:
            self._batch_workers[channel_name] = asyncio.create_task(
                self._drain_batches(channel, calls)
            )
        return futures

    @staticmethod
    def _failed() -> asyncio.Future[Result]:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        done.set_result(Result.FAILED)
        return done

    def _workers(self) -> list[asyncio.Task[None]]:
        return [chat.worker for chat in self._chats.values() if chat.worker] + list(
            self._batch_workers.values()
        )

    async def join(self) -> None:
        """Wait until everything submitted so far has been sent or given up."""
        while True:
            workers = self._workers()
            if not workers:
                return
            await asyncio.gather(*workers, return_exceptions=True)

    async def close(self) -> None:
        workers = self._workers()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._chats.clear()
        self._batches.clear()

    @property
    def queued(self) -> int:
        in_batches = sum(len(items) for calls in self._batches.values() for items in calls)
        return sum(len(chat.queue) for chat in self._chats.values()) + in_batches

    async def _drain(self, address: Address, chat: _Chat) -> None:
        channel = self.channels[address.channel]
        limit = self.limits[address.channel]
        try:
            while chat.queue:
                item = chat.queue[0]
                await chat.bucket.acquire()
                if item.delivery.exclusive:
                    async with self._lane:
                        outcome = await self._send_one(channel, limit, item)
                        if outcome is not None:
                            await self._report(item, outcome)
                else:
                    outcome = await self._send_one(channel, limit, item)
                    if outcome is not None:
                        await self._report(item, outcome)
                if outcome is None:
                    continue  # retry the same message
                chat.queue.popleft()
                if outcome is Result.UNREACHABLE:
                    self._drop_queue(chat)
                    if self.on_unreachable is not None:
                        await self.on_unreachable(address)
        finally:
            chat.worker = None
            if not chat.queue:
                self._forget_when_full(address, chat)

    def _forget_when_full(self, address: Address, chat: _Chat) -> None:
        """Forget an idle chat once its bucket has filled up again, so a broadcast to
        100,000 people does not leave 100,000 chats behind."""
        wait = chat.bucket.until_full()
        if wait > 0.001:
            asyncio.get_running_loop().call_later(wait, self._forget_when_full, address, chat)
        elif self._chats.get(address) is chat and chat.worker is None and not chat.queue:
            del self._chats[address]

    async def _send_one(
        self, channel: Channel, limit: SlidingWindow | None, item: _Item
    ) -> Result | None:
        if limit is not None:
            await limit.acquire()
        try:
            return await self._attempt(channel, item)
        finally:
            if limit is not None:
                limit.release()

    async def _report(self, item: _Item, outcome: Result) -> None:
        if item.delivery.on_done is not None:
            try:
                await item.delivery.on_done(outcome)
            except Exception:
                log.exception("recording a sent message failed")
        if not item.done.done():
            item.done.set_result(outcome)

    async def _attempt(self, channel: Channel, item: _Item) -> Result | None:
        item.attempts += 1
        try:
            sent = await channel.send(item.delivery)
        except Exception:
            log.exception("sending through %s failed", channel.name)
            sent = Sent.failed(retry=True)
        if sent.ok:
            return Result.SENT
        if sent.unreachable:
            return Result.UNREACHABLE
        if sent.retry_after is not None:
            self.retries_after += 1
            limit = self.limits[channel.name]
            if limit is not None:
                limit.pause(sent.retry_after)
            else:
                await asyncio.sleep(sent.retry_after)
            return None  # a rate-limit answer is not a failed attempt
        if sent.retry and item.attempts < MAX_ATTEMPTS:
            await asyncio.sleep(min(30.0, 0.5 * 2**item.attempts))
            return None
        log.warning("giving up on a message through %s: %s", channel.name, sent.error)
        return Result.FAILED

    async def _drain_batches(self, channel: BatchChannel, calls: deque[list[_Item]]) -> None:
        try:
            while calls:
                await self._send_call(channel, calls[0])
                calls.popleft()
        finally:
            self._batch_workers.pop(channel.name, None)

    async def _send_call(self, channel: BatchChannel, items: list[_Item]) -> None:
        """One call (retried as the platform asks) until every recipient has an outcome."""
        limit = self.limits[channel.name]
        pending = items
        while pending:
            if limit is not None:
                await limit.acquire()
            try:
                answers = await channel.send_batch([item.delivery for item in pending])
            except Exception:
                log.exception("sending a batch through %s failed", channel.name)
                answers = [Sent.failed(retry=True)] * len(pending)
            finally:
                if limit is not None:
                    limit.release()
            again: list[_Item] = []
            retry_after = 0.0
            for item, sent in zip(pending, answers, strict=True):
                item.attempts += 1
                if sent.ok:
                    await self._report(item, Result.SENT)
                elif sent.unreachable:
                    await self._unreachable(item)
                elif sent.retry_after is not None:
                    retry_after = max(retry_after, sent.retry_after)
                    again.append(item)
                elif sent.retry and item.attempts < MAX_ATTEMPTS:
                    again.append(item)
                else:
                    log.warning("giving up on a message through %s: %s", channel.name, sent.error)
                    await self._report(item, Result.FAILED)
            pending = again
            if not pending:
                return
            if retry_after:
                self.retries_after += 1
                if limit is not None:
                    limit.pause(retry_after)
                else:
                    await asyncio.sleep(retry_after)
            else:
                await asyncio.sleep(min(30.0, 0.5 * 2 ** pending[0].attempts))

    async def _unreachable(self, item: _Item) -> None:
        # A queue the chat may have meanwhile is left to its own worker, which is sending
        # from it: that worker hears "unreachable" on its next send and drops it then.
        await self._report(item, Result.UNREACHABLE)
        if self.on_unreachable is not None:
            try:
                await self.on_unreachable(item.delivery.address)
            except Exception:  # the rest of the call's recipients still need their outcome
                log.exception("marking a person unreachable failed")

    def _drop_queue(self, chat: _Chat) -> None:
        while chat.queue:
            item = chat.queue.popleft()
            if item.delivery.on_done is not None:
                task = asyncio.create_task(self._report(item, Result.UNREACHABLE))
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)
            elif not item.done.done():
                item.done.set_result(Result.UNREACHABLE)
