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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum

from bot.channels.base import Channel, Delivery, Sent
from flows.events import Address

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

    async def join(self) -> None:
        """Wait until everything submitted so far has been sent or given up."""
        while True:
            workers = [chat.worker for chat in self._chats.values() if chat.worker]
            if not workers:
                return
            await asyncio.gather(*workers, return_exceptions=True)

    async def close(self) -> None:
        for chat in self._chats.values():
            if chat.worker:
                chat.worker.cancel()
        await asyncio.gather(
            *(chat.worker for chat in self._chats.values() if chat.worker), return_exceptions=True
        )
        self._chats.clear()

    @property
    def queued(self) -> int:
        return sum(len(chat.queue) for chat in self._chats.values())

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
            if not chat.queue and chat.bucket.full:
                self._chats.pop(address, None)

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

    def _drop_queue(self, chat: _Chat) -> None:
        while chat.queue:
            item = chat.queue.popleft()
            if item.delivery.on_done is not None:
                task = asyncio.create_task(self._report(item, Result.UNREACHABLE))
                self._reports.add(task)
                task.add_done_callback(self._reports.discard)
            elif not item.done.done():
                item.done.set_result(Result.UNREACHABLE)
