"""End to end: a resident gives feedback after a workshop, and a coordinator gets the figures
(with the chart as a picture) and an export, on Telegram (long polling against the stand-in
Bot API) and on Viber (signed callbacks to the real web server; the chart and the file
fetched from the bot's signed links, as Viber's servers would)."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
from PIL import Image
from sqlmodel import select

from bot import dispatch
from bot.app import App
from flows.clock import FakeClock
from storage.models import Booking, Feedback
from tests.e2e import Served
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.seeding import World
from tests.staffing import invitation
from tests.test_e2e_telegram import Person_
from tests.test_e2e_viber import onboard, until


def feedback_rows(app: App) -> list[Feedback]:
    with app.database.session() as db:
        return list(db.exec(select(Feedback)).all())


def given(app: App, session_id: int) -> list[bool]:
    with app.database.session() as db:
        return list(db.exec(select(Booking.feedback_given).where(Booking.session_id == session_id)))


def counts_row(data: bytes, centre: str) -> dict[str, object]:
    """The row of the counts sheet whose first cell is ``centre``, by heading."""
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Notes", "Counts"]
    rows = list(book["Counts"].iter_rows(values_only=True))
    header, found = rows[0], [row for row in rows[1:] if row[0] == centre]
    assert len(found) == 1, [row[0] for row in rows]
    return dict(zip(header, found[0], strict=True))


@pytest.fixture
def slow_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    """Say at once that a file is being made, and redraw its bar often, so that a small
    export in a test shows its progress as a large one would."""
    monkeypatch.setattr(dispatch, "PROGRESS_FIRST", 0.0)
    monkeypatch.setattr(dispatch, "PROGRESS_EVERY", 0.05)


# --- Telegram --------------------------------------------------------------------------------


async def test_feedback_figures_and_an_export_on_telegram(
    telegram: FakeTelegram, polling: tuple[App, World], clock: FakeClock, slow_documents: None
) -> None:
    app, world = polling
    ben = Person_(telegram, telegram.user("Ben", "en"))
    await ben.join()
    await ben.book("Sewing workshop")

    clock.advance(timedelta(hours=29))  # the workshop is over
    await app.sender.sweep(wait=True)  # what the scheduler's next sweep does
    invited = "Thank you for taking part in Sewing workshop"
    await telegram.wait_for(lambda: any(invited in t for t in telegram.texts(ben.user)), 10)
    invitation_message = next(
        m for m in telegram.messages(ben.user) if invited in m.get("text", "")
    )
    await ben.press("Give feedback", expect="Question 1 of 4")
    assert "stored without your name" in ben.last
    await ben.press("🙂", expect="Question 2 of 4")
    await ben.press("Better", expect="Question 3 of 4")
    await ben.press("Yes", expect="Question 4 of 4")
    assert feedback_rows(app) == []  # nothing is written before the end
    await ben.say("The teacher was kind.", expect="Thank you! Your answers were saved")
    [row] = feedback_rows(app)
    assert (row.answers, row.comment) == ("again=yes;feel=better;useful=4", "The teacher was kind.")
    assert given(app, world.sewing) == [True]
    # The invitation's button again: one feedback per booking.
    telegram.press(ben.user, "Give feedback", message=invitation_message)
    await telegram.wait_for(lambda: "already received your feedback" in ben.last, 10)
    assert len(feedback_rows(app)) == 1

    cora = Person_(telegram, telegram.user("Cora", "en"))
    await cora.say(f"/start staff-{invitation(app, 'coordinator')}", expect="agree")
    await cora.press("I agree", expect="Staff tools")
    await cora.say("/stats", expect="All centres")
    assert "Krnjača" in cora.last and "Obrenovac" in cora.last
    await telegram.wait_for(lambda: len(telegram.documents(cora.user)) == 1, 15)
    [chart] = telegram.documents(cora.user)
    assert chart.mime_type == "image/png" and telegram.calls_to("sendPhoto") == 1
    with Image.open(io.BytesIO(chart.data)) as picture:
        assert picture.format == "PNG" and picture.width >= 800

    await cora.say("/export", expect="What would you like?")
    await cora.press("Session counts")
    await cora.press("Last 3 months")
    await cora.press("Excel")
    await telegram.wait_for(lambda: len(telegram.documents(cora.user)) == 2, 15)
    upload = telegram.documents(cora.user)[-1]
    assert upload.filename.startswith("counts-all-") and upload.filename.endswith(".xlsx")
    row_ = counts_row(upload.data, "Krnjača, whole period")
    assert row_["Seats booked"] == 1 and row_["Feedback responses"] == 1
    # The file was said to be coming, in place of the tapped message, with a bar.
    said = [
        [version.get("text", "") for version in telegram.history(cora.user, message)]
        for message in telegram.messages(cora.user)
    ]
    making = [texts for texts in said if any("Making the file" in text for text in texts)]
    assert len(making) == 1
    # The question was replaced by the bar (which may be redrawn as the file is made).
    first_bar = next(i for i, text in enumerate(making[0]) if "Making the file" in text)
    assert first_bar > 0 and "Which kind of file?" in making[0][first_bar - 1]
    assert all("Making the file" in text for text in making[0][first_bar:])
    assert any("░" in text and "%" in text for text in making[0])
    assert telegram.unanswered_callbacks() == []


# --- Viber -----------------------------------------------------------------------------------


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def test_feedback_figures_and_an_export_on_viber(
    viber: FakeViber, served: Served, clock: FakeClock, slow_documents: None
) -> None:
    app, world, base = served
    nour = viber.user("Nour", "en")
    await onboard(viber, nour)
    await viber.tap(nour, "Upcoming workshops")
    await until(viber, nour, "Sewing workshop")
    await viber.tap(nour, "Sewing workshop")
    await until(viber, nour, "90 minutes")
    await viber.tap(nour, "Book a seat")
    await until(viber, nour, "Your seat is booked")

    clock.advance(timedelta(hours=29))
    await viber.send_text(nour, "/feedback")
    await until(viber, nour, "Question 1 of 4")
    await viber.tap(nour, "😄")
    await until(viber, nour, "Question 2 of 4")
    await viber.tap(nour, "Skip")
    await until(viber, nour, "Question 3 of 4")
    await viber.tap(nour, "Maybe")
    await until(viber, nour, "Question 4 of 4")
    await viber.send_text(nour, "x" * 10_000)  # trimmed to 500, and said so
    text = await until(viber, nour, "Thank you! Your answers were saved")
    assert "500" in text
    [row] = feedback_rows(app)
    assert row.answers == "again=maybe;useful=5" and row.comment == "x" * 500

    milos = viber.user("Miloš", "en")
    await viber.open(milos, f"staff-{invitation(app, 'staff', world.krnjaca)}")
    await viber.tap(milos, "✅")
    await until(viber, milos, "Staff tools for Krnjača")
    await viber.send_text(milos, "/stats")
    text = await until(viber, milos, "Krnjača")
    assert "Obrenovac" not in text  # staff see their own centre

    def pictures() -> list[dict[str, object]]:
        return [m for m in viber.messages(milos) if m.get("type") == "picture"]

    await viber.wait_for(lambda: len(pictures()) == 1, timeout=15)
    [picture] = pictures()
    assert str(picture["media"]).startswith(f"{base}/files/")
    fetched = await fetch(str(picture["media"]))
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert fetched.content.startswith(b"\x89PNG")
    forged = await fetch(str(picture["media"])[:-3] + "AAA")
    assert forged.status_code in (403, 404)

    await viber.send_text(milos, "/export")
    await until(viber, milos, "What would you like?")
    await viber.tap(milos, "Session counts")
    await until(viber, milos, "Which period?")
    await viber.tap(milos, "Last 3 months")
    await until(viber, milos, "Which kind of file?")
    await viber.tap(milos, "Excel")
    await viber.wait_for(lambda: len(viber.files(milos)) == 1, timeout=15)
    [file] = viber.files(milos)
    assert str(file["file_name"]).startswith("counts-krnjaca-")
    fetched = await fetch(str(file["media"]))
    assert fetched.status_code == 200
    row_ = counts_row(fetched.content, "Krnjača, whole period")
    assert row_["Seats booked"] == 1 and row_["Feedback responses"] == 1
    # Said once to be coming (Viber cannot edit a message, so no bar is redrawn).
    assert sum("Making the file" in text for text in viber.texts(milos)) == 1
