"""A notice to 500 residents, on Telegram and Viber, in three languages, sent by a real process
that is killed with SIGKILL part-way and finished by another `workshopbot scheduler`.

Everyone must receive it exactly once and in their own language. The only repeats allowed are
what was on its way when the process died: on Telegram the one exclusive message in flight, on
Viber the receivers of the one broadcast_message call in flight (the platform accepted it, the
process died before recording it). Two senders are killed: the scheduler that picked up a
broadcast written for it, and `workshopbot broadcast` sending from the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from flows import broadcasts
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Broadcast, BroadcastAudience, BroadcastState
from tests.conftest import PG_URL, TEST_KEY, _postgres
from tests.fakes.server import wait_until
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.processes import kill, start_command, stop

# A staff member's `*`, `_`, `<` and `&` must arrive as written, in every language.
TEXTS = {
    "en": "The clinic is open on Friday, 9-12. Bring your card <ID> & a *pen* (not_a_pencil).",
    "ar": "العيادة مفتوحة يوم الجمعة من 9 إلى 12. أحضروا بطاقتكم <ID> وقلمًا.",
    "sr_Latn": "Ambulanta radi u petak od 9 do 12. Ponesite karticu <ID> & olovku.",
}
LANGUAGES = tuple(TEXTS)
TELEGRAM_PEOPLE = 300
VIBER_PEOPLE = 200
KILL_AFTER = 120  # deliveries (Telegram messages plus Viber receivers) before the SIGKILL
RATE = 60  # sends per second: the stand-ins' limit and the bot's

# Short leases and sweeps, so a dead sender's claims are taken over within seconds.
FAST = {
    "REMINDER_SWEEP_SECONDS": "1",
    "REMINDER_LEASE": "2s",
    "NOTIFY_INTERVAL": "0.5",
    "TELEGRAM_RATE_LIMIT": str(RATE),
    "VIBER_RATE_LIMIT": "1",  # calls a second apart: the kill lands between two of them
}


@dataclass
class Crowd:
    """The residents, and the language each reads."""

    telegram: dict[int, str] = field(default_factory=dict)  # FakeUser.id -> locale
    viber: dict[str, str] = field(default_factory=dict)  # FakeViberUser.id -> locale
    telegram_users: list[FakeUser] = field(default_factory=list)
    viber_users: list[FakeViberUser] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.telegram) + len(self.viber)


def seed(database: Database, telegram: FakeTelegram, viber: FakeViber) -> Crowd:
    """Krnjača and its residents, who agreed long ago: a third in each language per platform."""
    now = datetime.now(UTC)
    vault = Vault(TEST_KEY)
    crowd = Crowd()
    with database.session() as db:
        centre = q.add_centre(
            db,
            slug="krnjaca",
            name="Krnjača",
            kind="asylum",
            timezone="Europe/Belgrade",
            contact=None,
            now=now,
        )
        assert centre.id is not None
        for n in range(TELEGRAM_PEOPLE):
            locale = LANGUAGES[n % len(LANGUAGES)]
            tg_user = telegram.user(f"T{n}", locale[:2])
            crowd.telegram[tg_user.id] = locale
            crowd.telegram_users.append(tg_user)
            q.create_person(
                db, vault, channel="telegram", user_key=str(tg_user.id), locale=locale,
                centre_id=centre.id, now=now,
            )  # fmt: skip
        for n in range(VIBER_PEOPLE):
            locale = LANGUAGES[n % len(LANGUAGES)]
            vb_user = viber.user(f"V{n}", locale[:2], subscribed=True)
            crowd.viber[vb_user.id] = locale
            crowd.viber_users.append(vb_user)
            q.create_person(
                db, vault, channel="viber", user_key=vb_user.id, locale=locale,
                centre_id=centre.id, now=now,
            )  # fmt: skip
    return crowd


def write_broadcast(database: Database) -> None:
    """What "send now" in the chat leaves for the scheduler: the notice and its recipients."""
    now = datetime.now(UTC)
    with database.session() as db:
        centre = q.centre_by_slug(db, "krnjaca")
        assert centre is not None
        broadcasts.create(
            db,
            now,
            centre=centre,
            author="cli",
            audience=broadcasts.Audience(BroadcastAudience.CENTRE),
            texts=TEXTS,
            base_locale="en",
        )


def cli_command(folder: Path) -> list[str]:
    """`workshopbot broadcast` with a text file per language."""
    files = {}
    for locale, text in TEXTS.items():
        files[locale] = folder / f"notice.{locale}.txt"
        files[locale].write_text(text + "\n", encoding="utf-8")
    command = ["broadcast", "--yes", "--centre", "krnjaca", "--text-file", str(files["en"])]
    for locale in ("ar", "sr_Latn"):
        command += ["--lang", locale, "--text-file", str(files[locale])]
    return command


def language_of(text: str) -> str | None:
    """Which version of the notice a message carries (None: it is no notice)."""
    found = [locale for locale, notice in TEXTS.items() if notice in text]
    assert len(found) <= 1, text
    return found[0] if found else None


@dataclass
class Received:
    """The notices each resident got, by the language they were in."""

    telegram: dict[int, list[str | None]]
    viber: dict[str, list[str | None]]

    def delivered(self) -> int:
        return sum(len(got) for got in self.telegram.values()) + sum(
            len(got) for got in self.viber.values()
        )

    def everyone(self) -> bool:
        return all(self.telegram.values()) and all(self.viber.values())


def received(crowd: Crowd, telegram: FakeTelegram, viber: FakeViber) -> Received:
    return Received(
        telegram={u.id: [language_of(t) for t in telegram.texts(u)] for u in crowd.telegram_users},
        viber={u.id: [language_of(t) for t in viber.texts(u)] for u in crowd.viber_users},
    )


def broadcast_row(database: Database) -> tuple[Broadcast, dict[str, int]]:
    with database.session() as db:
        row = db.exec(select(Broadcast)).one()
        assert row.id is not None
        counts = q.broadcast_counts(db, row.id)
        db.expunge(row)
    return row, counts


@dataclass
class AtKill:
    """What had left when the first sender died, and what was on its way then: the last
    Telegram message and the last Viber call the stand-ins accepted from it."""

    delivered: int
    state: str
    counts: dict[str, int]
    last_telegram: int | None
    last_viber_call: set[str]


def at_kill(crowd: Crowd, telegram: FakeTelegram, viber: FakeViber, database: Database) -> AtKill:
    row, counts = broadcast_row(database)
    chats = [int(params["chat_id"]) for name, params in telegram.calls if name == "sendMessage"]
    calls = viber.broadcasts()
    return AtKill(
        delivered=received(crowd, telegram, viber).delivered(),
        state=row.state,
        counts=counts,
        last_telegram=chats[-1] if chats else None,
        last_viber_call=set(calls[-1]["broadcast_list"]) if calls else set(),
    )


def describe(crowd: Crowd, telegram: FakeTelegram, viber: FakeViber) -> Callable[[], str]:
    def text() -> str:
        got = received(crowd, telegram, viber)
        missing = [k for k, v in got.telegram.items() if not v] + [
            k for k, v in got.viber.items() if not v
        ]
        return (
            f"delivered {got.delivered()} of {crowd.size}; nobody yet: {len(missing)} "
            f"(e.g. {missing[:3]})\nTelegram: {telegram.sent_count} sends, "
            f"{telegram.too_many_requests} x 429\nViber: {viber.summary().splitlines()[0]}"
        )

    return text


async def send_killed_and_resumed(
    folder: Path, url: str, sender: str
) -> tuple[Crowd, FakeTelegram, FakeViber, AtKill]:
    """Start ``sender`` ("scheduler" or "cli"), SIGKILL it after ~KILL_AFTER deliveries, then
    let a fresh `workshopbot scheduler` finish; returns what was seen."""
    database = Database(url)
    migrate.upgrade(database)
    async with (
        FakeTelegram(rate_limit=RATE) as telegram,
        FakeViber(rate_limit=RATE) as viber,
    ):
        crowd = seed(database, telegram, viber)
        command = ["scheduler"]
        if sender == "scheduler":
            write_broadcast(database)
        else:
            command = cli_command(folder)
        progress = describe(crowd, telegram, viber)
        first = await start_command(folder, url, *command, telegram=telegram, viber=viber, **FAST)
        try:
            await wait_until(
                lambda: telegram.sent_count + viber.sent_count >= KILL_AFTER, 60, progress
            )
            await kill(first)
            killed = at_kill(crowd, telegram, viber, database)
            second = await start_command(
                folder, url, "scheduler", telegram=telegram, viber=viber, **FAST
            )
            try:
                await wait_until(
                    lambda: (
                        telegram.sent_count + viber.sent_count >= crowd.size  # cheap first
                        and received(crowd, telegram, viber).everyone()
                    ),
                    60,
                    progress,
                )
                await wait_until(lambda: broadcast_row(database)[0].state == "done", 10, progress)
                await asyncio.sleep(1.5)  # anything it would (wrongly) send again
            finally:
                await stop(second)
        finally:
            await kill(first)
            database.dispose()
    return crowd, telegram, viber, killed


def check_once_each(crowd: Crowd, telegram: FakeTelegram, viber: FakeViber, killed: AtKill) -> None:
    got = received(crowd, telegram, viber)
    for user_id, locale in crowd.telegram.items():
        assert got.telegram[user_id] and set(got.telegram[user_id]) == {locale}, (
            f"Telegram resident {user_id} reads {locale} and got {got.telegram[user_id]}"
        )
    for viber_id, locale in crowd.viber.items():
        assert got.viber[viber_id] and set(got.viber[viber_id]) == {locale}, (
            f"Viber resident {viber_id} reads {locale} and got {got.viber[viber_id]}"
        )
    twice = {user_id for user_id, v in got.telegram.items() if len(v) > 1}
    assert twice <= {killed.last_telegram}, (
        f"Telegram residents {sorted(twice)} got the notice twice; only the one message in "
        f"flight at the kill (to {killed.last_telegram}) may repeat"
    )
    doubled = {user_id for user_id, v in got.viber.items() if len(v) > 1}
    strays = doubled - killed.last_viber_call
    assert not strays, (
        f"{len(doubled)} Viber residents got the notice twice, {len(strays)} of them not in "
        "the broadcast_message call in flight at the kill (only its receivers may repeat)"
    )
    assert telegram.too_many_requests == 0 and viber.too_many_requests == 0


@pytest.mark.parametrize("sender", ["scheduler", "cli"])
async def test_a_broadcast_killed_part_way_reaches_everyone_once(
    tmp_path: Path, sender: str
) -> None:
    url = f"sqlite:///{tmp_path / 'workshopbot.sqlite3'}"
    crowd, telegram, viber, killed = await send_killed_and_resumed(tmp_path, url, sender)
    assert 0 < killed.delivered < crowd.size, killed  # it died part-way
    assert killed.state == BroadcastState.SENDING, killed  # and left the notice half-sent
    check_once_each(crowd, telegram, viber, killed)
    database = Database(url)
    row, counts = broadcast_row(database)
    database.dispose()
    assert row.state == BroadcastState.DONE and row.finished_at is not None
    assert counts == {"sent": crowd.size}, counts


@pytest.mark.postgres
async def test_on_postgresql_too(tmp_path: Path) -> None:
    _postgres().dispose()  # a clean PostgreSQL (fails in CI if there is none)
    crowd, telegram, viber, killed = await send_killed_and_resumed(tmp_path, PG_URL, "scheduler")
    assert 0 < killed.delivered < crowd.size and killed.state == BroadcastState.SENDING, killed
    check_once_each(crowd, telegram, viber, killed)
    database = Database(PG_URL)
    row, counts = broadcast_row(database)
    database.dispose()
    assert row.state == BroadcastState.DONE and counts == {"sent": crowd.size}, counts
