"""End to end: staff run a session from their phone, on Telegram (long polling against the
stand-in Bot API) and on Viber (signed callbacks to the real web server): they create it step
by step, a resident books it and is given a door number, staff move it (the resident is
told by the running bot) and mark who came."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.app import App
from flows.clock import FakeClock
from storage.models import Booking, WorkshopSession
from tests.e2e import Served
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.seeding import World
from tests.staffing import invitation
from tests.test_e2e_telegram import Person_
from tests.test_e2e_viber import onboard, until


def art_club(app: App) -> WorkshopSession:
    with app.database.session() as db:
        found = db.exec(select(WorkshopSession).where(WorkshopSession.title == "Art club")).one()
        return found


def came(app: App, session_id: int) -> list[int]:
    with app.database.session() as db:
        rows = db.exec(
            select(Booking.ticket).where(
                Booking.session_id == session_id, col(Booking.attended_at).is_not(None)
            )
        ).all()
        return sorted(rows)


# --- Telegram --------------------------------------------------------------------------------


async def test_staff_run_a_session_on_telegram(
    telegram: FakeTelegram, polling: tuple[App, World], clock: FakeClock
) -> None:
    app, world = polling
    lena = Person_(telegram, telegram.user("Lena", "en"))
    await lena.say(f"/start staff-{invitation(app, 'staff', world.krnjaca)}", expect="agree")
    await lena.press("I agree", expect="Staff tools for Krnjača")
    await lena.press("New session", expect="step 1 of 8")
    await lena.say("Art club", expect="step 2 of 8")
    await lena.press("Thu, Dec 3", expect="step 3 of 8")
    await lena.say("25:00", expect="Please type the time like 14:30.")
    await lena.say("10:00", expect="step 4 of 8")
    await lena.press("90 minutes", expect="step 5 of 8")
    await lena.say("0", expect="The number of seats must be from 1 to 500, not 0.")
    await lena.press("10", expect="step 6 of 8")
    await lena.press("Done", expect="step 7 of 8")
    await lena.say("Room 5", expect="how residents will see it")
    await lena.press("Create", expect="The session is created")
    session = art_club(app)
    assert session.id is not None and (session.capacity, session.place) == (10, "Room 5")

    ben = Person_(telegram, telegram.user("Ben", "en"))
    await ben.join()
    booked = await ben.book("Art club")
    assert "Your number: 1. Please show it at the door." in booked

    await lena.press("Move", expect="Which day should it move to?")
    await lena.press("Fri, Dec 4", expect="At what time on Fri, Dec 4?")
    await lena.say("11:30", expect="1 person will be told.")
    await telegram.wait_for(lambda: "has changed" in ben.last, timeout=10)
    assert "Fri, Dec 4, 11:30" in ben.last

    clock.set(session.starts_at + timedelta(days=1, hours=1, minutes=30))  # it has started
    await lena.press("Attendance", expect="Marked: 0 of 1 came.")
    shown = len(telegram.messages(lena.user))
    await lena.press("1", expect="Marked: 1 of 1 came.")
    assert len(telegram.messages(lena.user)) == shown  # ticked in place, no new message
    await lena.press("Done", expect="1 person came")
    assert came(app, session.id) == [1]


# --- Viber -----------------------------------------------------------------------------------


async def test_staff_run_a_session_on_viber(
    viber: FakeViber, served: Served, clock: FakeClock
) -> None:
    app, world, _ = served
    milos = viber.user("Miloš", "en")
    await viber.open(milos, f"staff-{invitation(app, 'staff', world.krnjaca)}")
    await viber.tap(milos, "✅")
    await until(viber, milos, "Staff tools for Krnjača")
    await viber.tap(milos, "New session")
    await until(viber, milos, "step 1 of 8")
    for typed, expect in [
        ("Art club", "step 2 of 8"),
        ("2026-12-03", "step 3 of 8"),
        ("10:00", "step 4 of 8"),
        ("90", "step 5 of 8"),
        ("12", "step 6 of 8"),
    ]:
        await viber.send_text(milos, typed)
        await until(viber, milos, expect)
    await viber.tap(milos, "Done")
    await until(viber, milos, "step 7 of 8")
    await viber.tap(milos, "Skip")
    await until(viber, milos, "how residents will see it")
    await viber.tap(milos, "Create")
    await until(viber, milos, "The session is created")
    session = art_club(app)
    assert session.id is not None and session.capacity == 12 and session.minutes == 90

    amina = viber.user("Amina", "en")
    await onboard(viber, amina)
    await viber.send_text(amina, f"B:{session.id}")  # what the workshop's Book button sends
    assert "Your number: 1." in await until(viber, amina, "Your seat is booked")

    await viber.tap(milos, "Move")
    await until(viber, milos, "Which day should it move to?")
    await viber.send_text(milos, "2026-12-05")
    await until(viber, milos, "At what time")
    await viber.send_text(milos, "09:15")
    await until(viber, milos, "1 person will be told.")
    await until(viber, amina, "has changed")

    clock.set(session.starts_at + timedelta(days=2))  # the day it happens (moved to Sat)
    await viber.tap(milos, "Attendance")
    await until(viber, milos, "Marked: 0 of 1 came.")
    assert len(viber.buttons(viber.messages(milos)[-1])) <= 24
    await viber.send_text(milos, "1 7")
    said = await until(viber, milos, "Marked: 1 of 1 came.")
    assert "No booking has number 7." in said
    assert came(app, session.id) == [1]
