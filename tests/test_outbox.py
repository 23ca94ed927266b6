"""The outbox against a channel with real behaviour: it keeps time, and it can refuse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.channels.base import Delivery, Sent
from bot.outbox import Outbox, Result, SlidingWindow
from flows.events import Address
from flows.replies import Reply


@dataclass
class RecordingChannel:
    name: str = "telegram"
    rate_limit: float | None = 20
    sent: list[tuple[float, Address, str]] = field(default_factory=list)
    answers: dict[str, list[Sent]] = field(default_factory=dict)  # text -> scripted answers

    async def send(self, delivery: Delivery) -> Sent:
        await asyncio.sleep(0.001)
        scripted = self.answers.get(delivery.reply.text)
        if scripted:
            return scripted.pop(0)
        self.sent.append((time.monotonic(), delivery.address, delivery.reply.text))
        return Sent.success()


def to(user: str, text: str) -> Delivery:
    return Delivery(Address("telegram", user), Reply(text))


async def test_no_window_of_a_second_holds_more_than_the_limit() -> None:
    channel = RecordingChannel(rate_limit=20)
    outbox = Outbox({"telegram": channel})
    for n in range(45):
        outbox.submit(to(str(n), "hi"))
    await outbox.join()
    stamps = [t for t, _, _ in channel.sent]
    assert len(stamps) == 45
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t < start + 1.0) <= 20
    assert stamps[-1] - stamps[0] >= 2.0  # 45 at 20/s cannot all go in under two seconds


async def test_one_chat_gets_its_messages_in_order_and_paced() -> None:
    channel = RecordingChannel(rate_limit=None)
    outbox = Outbox({"telegram": channel}, chat_rate=2.0, chat_burst=2)
    for n in range(5):
        outbox.submit(to("42", f"m{n}"))
    await outbox.join()
    assert [text for _, _, text in channel.sent] == ["m0", "m1", "m2", "m3", "m4"]
    # Two at once, then one every half second.
    assert channel.sent[-1][0] - channel.sent[0][0] >= 1.4


async def test_retry_after_is_honoured_and_the_message_is_sent_once() -> None:
    channel = RecordingChannel(answers={"slow down": [Sent(ok=False, retry_after=1.0)]})
    outbox = Outbox({"telegram": channel})
    started = time.monotonic()
    result = await outbox.submit(to("7", "slow down"))
    assert result is Result.SENT
    assert [text for _, _, text in channel.sent] == ["slow down"]
    assert channel.sent[0][0] - started >= 1.0
    assert outbox.retries_after == 1


async def test_a_blocked_person_is_reported_and_their_queue_dropped() -> None:
    reported: list[Address] = []

    async def on_unreachable(address: Address) -> None:
        reported.append(address)

    channel = RecordingChannel(
        rate_limit=None, answers={"first": [Sent(ok=False, unreachable=True)]}
    )
    outbox = Outbox({"telegram": channel}, on_unreachable=on_unreachable)
    results = [
        outbox.submit(to("9", "first")),
        outbox.submit(to("9", "second")),
        outbox.submit(to("10", "other")),
    ]
    assert await asyncio.gather(*results) == [Result.UNREACHABLE, Result.UNREACHABLE, Result.SENT]
    assert reported == [Address("telegram", "9")]
    assert [text for _, _, text in channel.sent] == ["other"]


async def test_passing_failures_are_retried_then_given_up() -> None:
    channel = RecordingChannel(
        rate_limit=None, answers={"flaky": [Sent.failed("timeout", retry=True)]}
    )
    outbox = Outbox({"telegram": channel})
    assert await outbox.submit(to("1", "flaky")) is Result.SENT
    channel.answers["bad"] = [Sent.failed("bad request")]
    assert await outbox.submit(to("1", "bad")) is Result.FAILED


async def test_sliding_window_pause() -> None:
    window = SlidingWindow(100)
    window.pause(0.3)
    started = time.monotonic()
    await window.acquire()
    window.release()
    assert time.monotonic() - started >= 0.29


async def test_a_slot_is_held_until_the_answer_lands() -> None:
    window = SlidingWindow(2, window=0.2, margin=0)
    await window.acquire()
    await window.acquire()
    third = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.3)
    assert not third.done()  # two sends still on their way, however long ago they left
    window.release()
    window.release()
    await asyncio.sleep(0.1)
    assert not third.done()  # their windows start when they landed
    await asyncio.wait_for(third, 1)


@dataclass
class BatchingChannel(RecordingChannel):
    """Sends one reply to up to ``max_batch`` chats a call, as Viber's broadcast_message."""

    name: str = "viber"
    max_batch: int = 3
    calls: list[tuple[float, list[str], str]] = field(default_factory=list)
    call_answers: list[Sent] = field(default_factory=list)  # for whole calls, in order

    async def send_batch(self, deliveries: Sequence[Delivery]) -> list[Sent]:
        await asyncio.sleep(0.001)
        assert len(deliveries) <= self.max_batch
        assert len({delivery.reply for delivery in deliveries}) == 1
        if self.call_answers:
            return [self.call_answers.pop(0)] * len(deliveries)
        users = [delivery.address.user_key for delivery in deliveries]
        self.calls.append((time.monotonic(), users, deliveries[0].reply.text))
        return [
            Sent(ok=False, unreachable=True) if user.startswith("gone") else Sent.success()
            for user in users
        ]


def to_viber(user: str, text: str) -> Delivery:
    return Delivery(Address("viber", user), Reply(text))


async def test_a_batch_is_grouped_by_reply_and_takes_one_slot_a_call() -> None:
    channel = BatchingChannel(rate_limit=2)
    outbox = Outbox({"viber": channel})
    started = time.monotonic()
    batch = [to_viber(f"a{n}", "news") for n in range(7)]
    batch[4:4] = [to_viber("b0", "other"), to_viber("b1", "other")]
    results = await asyncio.gather(*outbox.submit_batch("viber", batch))
    assert results == [Result.SENT] * 9
    assert [(users, text) for _, users, text in channel.calls] == [
        (["a0", "a1", "a2"], "news"),
        (["a3", "a4", "a5"], "news"),
        (["a6"], "news"),
        (["b0", "b1"], "other"),
    ]
    assert channel.sent == []  # nothing went one by one
    # Four calls at two a second: the last cannot leave before a second has passed.
    assert channel.calls[-1][0] - started >= 1.0
    assert channel.calls[1][0] - started < 0.5


async def test_a_batch_retries_a_refused_call_and_reports_the_unreachable() -> None:
    reported: list[Address] = []

    async def on_unreachable(address: Address) -> None:
        reported.append(address)

    channel = BatchingChannel(call_answers=[Sent(ok=False, retry_after=0.5)])
    outbox = Outbox({"viber": channel}, on_unreachable=on_unreachable)
    started = time.monotonic()
    futures = outbox.submit_batch("viber", [to_viber(u, "news") for u in ("a", "gone", "b")])
    assert await asyncio.gather(*futures) == [Result.SENT, Result.UNREACHABLE, Result.SENT]
    assert [users for _, users, _ in channel.calls] == [["a", "gone", "b"]]
    assert channel.calls[0][0] - started >= 0.5
    assert outbox.retries_after == 1
    assert reported == [Address("viber", "gone")]


async def test_a_chat_with_messages_queued_gets_the_batch_after_them() -> None:
    channel = BatchingChannel(rate_limit=None)
    outbox = Outbox({"viber": channel}, chat_rate=5.0, chat_burst=1)
    first = [outbox.submit(to_viber("busy", f"m{n}")) for n in range(2)]
    futures = outbox.submit_batch("viber", [to_viber(u, "news") for u in ("busy", "idle")])
    assert await asyncio.gather(*first, *futures) == [Result.SENT] * 4
    assert [text for _, address, text in channel.sent if address.user_key == "busy"] == [
        "m0",
        "m1",
        "news",
    ]
    assert [users for _, users, _ in channel.calls] == [["idle"]]


async def test_a_channel_without_batching_gets_one_send_each() -> None:
    channel = RecordingChannel(rate_limit=None)
    outbox = Outbox({"telegram": channel})
    futures = outbox.submit_batch("telegram", [to(str(n), "news") for n in range(4)])
    assert await asyncio.gather(*futures) == [Result.SENT] * 4
    assert sorted(address.user_key for _, address, _ in channel.sent) == ["0", "1", "2", "3"]
