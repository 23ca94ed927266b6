"""End to end: an operator's invitation (the real ``workshopbot invite``) opened on Telegram
(long polling against the stand-in Bot API) and on Viber (a signed ``conversation_started``
with the link's context, then the tap on "I agree"), and what staff, residents and a revoked
staff member can then do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.app import App
from flows.clock import FakeClock
from storage import queries as q
from storage.db import Database
from storage.models import AuditEntry, Person, StaffMember
from tests.e2e import Served, serve
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.seeding import World
from tests.staffing import operator
from tests.test_e2e_telegram import Person_
from tests.test_e2e_viber import until


async def invite(app: App, folder: Path, *args: str, **env: str) -> list[str]:
    """The operator's ``workshopbot invite`` (a process; the bot keeps running meanwhile)."""
    done = await asyncio.to_thread(operator, app, folder, "invite", *args, **env)
    # (operator() is blocking; in a thread the bot and the stand-ins keep running)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def link(lines: list[str], platform: str) -> str:
    return next(line for line in lines if line.startswith(f"{platform} link: ")).split()[-1]


def staff_of(app: App, channel: str) -> list[tuple[str, int | None, str]]:
    """(role, centre, ref) of the staff whose chat account is on ``channel``."""
    with app.database.session() as db:
        rows = db.exec(
            select(StaffMember.role, StaffMember.centre_id, StaffMember.ref)
            .join(Person, col(Person.id) == StaffMember.person_id)
            .where(Person.channel == channel)
        ).all()
        return [(role, centre, ref) for role, centre, ref in rows]


def actions(app: App) -> list[tuple[str, str, int | None]]:
    with app.database.session() as db:
        entries = db.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        return [(e.actor, e.action, e.centre_id) for e in entries]


# --- Telegram --------------------------------------------------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(rate_limit=30, bot_username="radionice_bot") as server:
        yield server


def username_known(app: App) -> bool:
    with app.database.session() as db:
        return q.remembered_username(db, "telegram") is not None


async def test_staff_onboarding_on_telegram(
    telegram: FakeTelegram, polling: tuple[App, World], tmp_path: Path
) -> None:
    app, world = polling
    await telegram.wait_for(lambda: username_known(app), timeout=10)
    lines = await invite(app, tmp_path, "--role", "staff", "--centre", "krnjaca")
    url = link(lines, "Telegram")
    assert url.startswith("https://t.me/radionice_bot?start=staff-")  # the bot's real name

    sara = Person_(telegram, telegram.user("Sara", "en"))
    payload = url.split("?start=")[1]
    await sara.say(f"/start {payload}", expect="Do you agree?")  # what the link sends
    assert "invitation to use the bot as staff" in sara.last
    assert staff_of(app, "telegram") == []  # nothing kept before agreeing
    await sara.press("I agree", expect="You are now staff at Krnjača")
    [(role, centre, ref)] = staff_of(app, "telegram")
    assert (role, centre) == ("staff", world.krnjaca)
    assert actions(app) == [
        ("cli", "invite created", world.krnjaca),
        (ref, "invite used", world.krnjaca),
    ]

    await sara.press("Resident view", expect="What would you like to do?")
    await sara.press("Staff tools", expect="Staff tools for Krnjača")

    # A resident who forges staff buttons is refused, and nothing changes.
    amina = Person_(telegram, telegram.user("Amina", "en"))
    await amina.join()
    for data in ("IV", "IR:0", f"IM:0:{world.krnjaca}", "SV"):
        before = len(telegram.messages(amina.user))
        message = telegram.last_message(amina.user)
        telegram.tap(amina.user, message, data, check=False)
        # "Not allowed" comes as a new message (with the menu), never as an edit.
        await telegram.wait_for(answered(telegram, amina, before), timeout=10)
        assert "not allowed" in amina.last, (data, amina.last)
    assert len(staff_of(app, "telegram")) == 1 and len(actions(app)) == 2

    # Revoked by the operator: her very next tap is refused.
    done = await asyncio.to_thread(operator, app, tmp_path, "staff", "revoke", ref)
    assert done.returncode == 0, done.stderr
    await sara.press("Resident view", expect="not allowed")
    await telegram.wait_idle()
    assert telegram.unanswered_callbacks() == []
    assert telegram.too_many_requests == 0


def answered(telegram: FakeTelegram, person: Person_, before: int) -> Callable[[], bool]:
    return lambda: len(telegram.messages(person.user)) > before


# --- Viber -----------------------------------------------------------------------------------


@pytest.fixture
async def served(
    viber: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Served]:
    async for value in serve(viber, database, clock, tmp_path, viber_chat_uri="radionice"):
        yield value


async def test_staff_onboarding_on_viber(viber: FakeViber, served: Served, tmp_path: Path) -> None:
    app, world, _ = served
    lines = await invite(
        app, tmp_path, "--role", "staff", "--centre", "obrenovac",
        VIBER_CHAT_URI="radionice",
    )  # fmt: skip
    url = link(lines, "Viber")
    assert url.startswith("viber://pa?chatURI=radionice&context=staff-")
    context = url.split("context=")[1]

    milos = viber.user("Miloš", "sr")
    welcome = await viber.open(milos, context)  # the link opens the chat with its context
    assert any(label.startswith("✅") for label, _ in viber.buttons(welcome))  # "I agree"
    assert staff_of(app, "viber") == []
    await viber.tap(milos, "✅")
    await until(viber, milos, "Obrenovac")
    [(role, centre, ref)] = staff_of(app, "viber")
    assert (role, centre) == ("staff", world.obrenovac)
    assert (ref, "invite used", world.obrenovac) in actions(app)
    assert viber.is_subscribed(milos)

    # The same link again: one staff member still, the invitation spent once.
    again = await viber.open(milos, context)
    assert again and len(staff_of(app, "viber")) == 1
    assert [a for _, a, _ in actions(app)].count("invite used") == 1

    # Someone else with the spent link: refused kindly in the welcome message, nothing kept.
    late = viber.user("Late", "en")
    refused = await viber.open(late, context)
    assert "This invitation is not valid" in refused["text"]
    with app.database.session() as db:
        assert q.find_person(db, app.vault, "viber", late.id) is None


async def test_a_made_up_code_on_viber_keeps_nothing(
    viber: FakeViber, served: Served, tmp_path: Path
) -> None:
    app, _, _ = served
    guesser: FakeViberUser = viber.user("Guess", "en")
    for context in ("staff-abcdefghijkmnpqr", "staff-", "staff-" + "x" * 200):
        answer = await viber.open(guesser, context)
        assert "This invitation is not valid" in answer["text"], context
    with app.database.session() as db:
        assert q.count_people(db) == 0
