"""Counts, anonymous feedback and exports, on SQLite and PostgreSQL: what is counted, what is
hidden, that nothing in the database links a person to their answers, and the files that
come out (read back with openpyxl and csv)."""

from __future__ import annotations

import csv
import io
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from bot import charts, exports
from bot.app import App
from flows import booking, figures, reports
from flows.clock import FakeClock
from flows.figures import Group, Hidden, Period
from flows.i18n import AUTONYMS
from flows.replies import Document
from storage import queries as q
from storage.models import Booking, BookingStatus, Feedback, Person
from tests.dialogue import Resident
from tests.seeding import World, seed
from tests.staffing import operator, staff_member


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str) -> Resident:
    person = Resident(app.conversation, key, "en")
    person.send("/start krnjaca")
    person.tap("English")
    person.tap_data(person.button("✅"))
    return person


def person_id(app: App, who: Resident) -> int:
    with app.database.session() as db:
        found = q.find_person(db, app.vault, who.channel, who.user_key)
        assert found is not None and found.id is not None
        return found.id


def add_session(app: App, centre: int, starts_at: datetime, title: str = "Art") -> int:
    with app.database.session() as db:
        made = q.add_session(
            db, centre_id=centre, title=title, starts_at=starts_at, minutes=60, capacity=10,
            languages=[], place=None, now=starts_at - timedelta(days=3),
        )  # fmt: skip
        assert made.id is not None
        return made.id


def add_booking(
    app: App, session_id: int, person: int, *, came: bool = False, promoted: bool = False,
    status: str = BookingStatus.CONFIRMED, feedback_given: bool = False,
) -> None:  # fmt: skip
    with app.database.session() as db:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        db.add(Booking(
            session_id=session_id, person_id=person, status=status, created_at=at,
            updated_at=at, attended_at=at if came else None, promoted=promoted,
            feedback_given=feedback_given,
        ))  # fmt: skip


# --- counts -------------------------------------------------------------------------------------


def test_counts_per_centre_and_month_count_people_once_and_follow_the_centres_clock(
    app: App, world: World
) -> None:
    amina, sam, lena = (resident(app, str(3000 + i)) for i in range(3))
    a, s, le = (person_id(app, who) for who in (amina, sam, lena))
    # 31 January 23:30 UTC is 1 February 00:30 in Belgrade: a February session.
    jan = add_session(app, world.krnjaca, datetime(2026, 1, 10, 10, tzinfo=UTC))
    feb1 = add_session(app, world.krnjaca, datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    feb2 = add_session(app, world.krnjaca, datetime(2026, 2, 12, 10, tzinfo=UTC))
    gone = add_session(app, world.krnjaca, datetime(2026, 2, 13, 10, tzinfo=UTC))
    elsewhere = add_session(app, world.obrenovac, datetime(2026, 2, 14, 10, tzinfo=UTC))
    with app.database.session() as db:
        q.cancel_session(db, gone, datetime(2026, 2, 1, tzinfo=UTC))
    add_booking(app, jan, a, came=True, feedback_given=True)
    add_booking(app, jan, s)  # booked, did not come (attendance was taken)
    add_booking(app, feb1, a, came=True, promoted=True)
    add_booking(app, feb2, a, came=True)  # Amina twice in February: one person
    add_booking(app, feb2, le, came=True)
    add_booking(app, feb2, s, status=BookingStatus.CANCELLED)
    add_booking(app, elsewhere, a, came=True)
    with app.database.session() as db:
        centres = sorted(q.list_centres(db), key=lambda c: c.name)
        period = Period(date(2026, 1, 1), date(2026, 2, 28))
        counts = figures.counts(db, period, centres, datetime(2026, 6, 1, tzinfo=UTC))
    january, february = date(2026, 1, 1), date(2026, 2, 1)
    k_jan, k_feb = counts.row(world.krnjaca, january), counts.row(world.krnjaca, february)
    assert (k_jan.held, k_jan.booked, k_jan.attended, k_jan.distinct) == (1, 2, 1, 1)
    assert k_jan.rate == 0.5 and k_jan.feedback == 1
    assert (k_feb.held, k_feb.cancelled, k_feb.booked, k_feb.attended) == (2, 1, 3, 3)
    assert k_feb.distinct == 2 and k_feb.promoted == 1
    whole = counts.by_centre[world.krnjaca]
    assert whole.distinct == 2 and whole.held == 3  # Amina and Lena, once each
    assert counts.by_month[february].distinct == 2  # Amina at both centres counts once
    assert counts.total.distinct == 2 and counts.total.held == 4


# --- feedback: suppression ---------------------------------------------------------------


def group(n: int, name: str) -> Group:
    made = Group(1, "2026-W05", name)
    made.add("useful=4", n)
    return made


def test_small_groups_are_hidden_and_a_total_never_gives_one_away() -> None:
    big, small, medium = group(9, "Art"), group(2, "IT"), group(5, "Sport")
    for member in (big, small, medium):
        member.hidden = Hidden.SMALL if member.responses < 5 else Hidden.SHOWN
    total = Group(1, "2026-W05", None, responses=16)
    figures.suppress([big, small, medium], total, 5)
    # 2 hidden is fewer than 5: the smallest shown group is hidden too (2 + 5 = 7).
    assert [small.hidden, medium.hidden, big.hidden] == [Hidden.SMALL, Hidden.PROTECTS,
                                                         Hidden.SHOWN]  # fmt: skip
    assert total.hidden is Hidden.SHOWN
    # Two groups: both go, and the total then shows only what they are together (7).
    lone, tiny = group(6, "Art"), group(1, "IT")
    tiny.hidden = Hidden.SMALL
    total = Group(1, "2026-W05", None, responses=7)
    figures.suppress([lone, tiny], total, 5)
    assert lone.hidden is Hidden.PROTECTS and total.hidden is Hidden.SHOWN
    # A total that is itself small is hidden.
    one, two = group(2, "Art"), group(2, "IT")
    one.hidden = two.hidden = Hidden.SMALL
    total = Group(1, "2026-W05", None, responses=4)
    figures.suppress([one, two], total, 5)
    assert total.hidden is Hidden.SMALL


def add_feedback(
    app: App, centre: int, week: str, workshop: str, n: int, comment: str = ""
) -> None:
    with app.database.session() as db:
        for i in range(n):
            db.add(Feedback(id=f"{week}{workshop}{i}".encode().hex()[:32].ljust(32, "0"),
                            centre_id=centre, week=week, workshop=workshop,
                            answers=f"useful={1 + i % 5}", comment=comment or None))  # fmt: skip


def test_the_feedback_export_hides_small_groups_and_the_current_week(
    app: App, world: World, tmp_path: Path
) -> None:
    add_feedback(app, world.krnjaca, "2026-W45", "Art", 6, "Good teacher")
    add_feedback(app, world.krnjaca, "2026-W45", "IT", 2, "My name is Ali")
    add_feedback(app, world.krnjaca, "2026-W46", "Art", 7)
    add_feedback(app, world.krnjaca, "2026-W49", "Art", 9)  # this week (1 December 2026)
    target = tmp_path / "feedback.xlsx"
    made = exports.Export("feedback", "xlsx", Period(date(2026, 11, 1), date(2026, 12, 31)), "en")
    with app.database.session() as db:
        exports.write(
            db, made, target, catalogs=app.catalogs,
            questionnaires=app.conversation.services.questionnaires, min_group=5,
            now=app.clock.now(), today=date(2026, 12, 1),
        )  # fmt: skip
    book = openpyxl.load_workbook(target, read_only=True)
    assert book.sheetnames[0] == "Notes"
    sheet = [list(row) for row in book["Feedback"].iter_rows(values_only=True)]
    header, rows = sheet[0], sheet[1:]
    weeks = {row[1] for row in rows}
    assert weeks == {"2026-W45", "2026-W46"}  # never the current week
    by_name = {(row[1], row[3]): row for row in rows}
    assert by_name[("2026-W45", "IT")][4] is None  # 2 responses: hidden
    assert "fewer than 5" in by_name[("2026-W45", "IT")][5]
    assert by_name[("2026-W45", "Art")][4] is None  # hidden so the total cannot reveal IT
    assert by_name[("2026-W45", "All workshops")][4] == 8
    assert by_name[("2026-W46", "Art")][4] == 7
    useful = header.index("Useful (1–5): Very useful")
    assert by_name[("2026-W46", "Art")][useful] == 1
    comments = [row[3] for row in book["Comments"].iter_rows(min_row=2, values_only=True)]
    assert comments == []  # Art and IT of week 45 are both hidden: no comment goes out


# --- feedback: unlinkable ------------------------------------------------------------------------


def _all_values(app: App) -> dict[str, list[tuple[object, ...]]]:
    with app.database.session() as db:
        names = inspect(db.get_bind()).get_table_names()
        return {
            name: [tuple(row) for row in db.execute(text(f'SELECT * FROM "{name}"'))]
            for name in names if name != "alembic_version"
        }  # fmt: skip


def test_nothing_in_the_database_links_a_person_to_their_answers(
    app: App, clock: FakeClock, world: World
) -> None:
    people = [resident(app, str(4000 + i)) for i in range(12)]
    for who in people:
        who.tap_data(booking.BOOK.data(world.sewing))
    clock.advance(timedelta(hours=29))
    for number, who in enumerate(people):
        who.send("/feedback")
        for _ in range(3):
            who.tap("Skip")
        who.send(f"comment {number:02d}")
    with app.database.session() as db:
        columns = {column["name"] for column in inspect(db.get_bind()).get_columns("feedback")}
        q.shuffle_feedback(db)
    assert columns == {"id", "centre_id", "workshop", "week", "answers", "comment"}
    amina = people[0]
    pid = person_id(app, amina)
    with app.database.session() as db:
        person = db.get(Person, pid)
        assert person is not None
        mine = db.exec(select(Booking).where(Booking.person_id == pid)).one()
        # The columns are checked above (no person, booking or time): here the values.
        personal = {person.key_hash, person.address_enc, amina.user_key, str(pid), str(mine.id)}
        stored = db.execute(text("SELECT id, comment FROM feedback")).all()  # stored order
    tables = _all_values(app)
    feedback_ids = {row_id for row_id, _ in stored}
    for name, rows in tables.items():
        for row in rows:
            if name == "feedback":  # no value of the person's in any feedback row
                assert not personal & {v for v in row if isinstance(v, str)}, row
                assert not any(isinstance(v, datetime) for v in row)
            else:  # and no other row names a feedback row
                assert not feedback_ids & set(row), (name, row)
    given = [f"comment {number:02d}" for number in range(12)]
    kept = [comment for _, comment in stored]
    assert sorted(kept) == given
    assert kept != given  # the rows are not stored in the order they were given
    assert [row_id for row_id, _ in stored] == sorted(feedback_ids)  # but in random-id order


# --- the chat -------------------------------------------------------------------------------------


def test_coordinators_get_figures_and_files_in_the_chat_and_residents_do_not(
    app: App, clock: FakeClock, world: World
) -> None:
    coordinator = staff_member(app, "5001", None, role="coordinator")
    worker = staff_member(app, "5002", world.obrenovac)
    amina = resident(app, "5003")
    amina.send("/stats")
    assert "not allowed" in amina.last
    amina.send("/export")
    assert "not allowed" in amina.last
    amina.tap_data(reports.EXPORT.data(1, 12, 1))  # a forged button
    assert "not allowed" in amina.last

    coordinator.send("/stats")
    reply = coordinator.replies[-1]
    assert "All centres" in reply.text and "Krnjača" in reply.text and "Obrenovac" in reply.text
    assert reply.document is not None and reply.document.kind == "chart"
    made = app.dispatcher.documents
    assert made is not None
    picture = made.render(reply.document)
    assert picture.data.startswith(b"\x89PNG") and picture.mime == "image/png"

    worker.send("/stats")
    assert "Obrenovac" in worker.last and "Krnjača" not in worker.last
    worker.send("/export")
    worker.tap("Session counts")
    worker.tap("Last 3 months")
    worker.tap("Excel")
    document = worker.replies[-1].document
    assert document is not None and document.working
    assert document.key.endswith("-obrenovac")  # staff export their own centre only
    file = made.render(document)
    book = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True)
    assert book.sheetnames == ["Notes", "Counts"]
    centres = {row[0] for row in book["Counts"].iter_rows(min_row=2, values_only=True)}
    assert all("Obrenovac" in name for name in centres)

    coordinator.send("/export")
    coordinator.tap("Anonymous feedback")
    coordinator.tap("Last month")
    coordinator.tap("CSV")
    parts = [reply.document for reply in coordinator.replies[-2:]]
    assert [part.key.split("-")[0] for part in parts if part] == ["feedback", "comments"]
    for part in parts:
        assert part is not None
        data = made.render(part).data
        assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
        assert next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[0] == "Centre"


@pytest.mark.parametrize("code", ["fa", "ur"])
def test_the_chart_speaks_the_coordinators_language_where_the_font_can_draw_it(
    app: App, world: World, code: str
) -> None:
    coordinator = staff_member(app, "5101", None, role="coordinator")
    coordinator.send("/language")
    coordinator.tap(AUTONYMS[code])
    coordinator.send("/stats")
    reply = coordinator.replies[-1]
    assert reply.document is not None and reply.rtl
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of every letter drawn as a box
        made = app.dispatcher.documents
        assert made is not None
        assert made.render(reply.document).data.startswith(b"\x89PNG")
    # DejaVu draws Persian but not Urdu's ے and ہ: Urdu charts are labelled in English.
    label = exports.chart_text(app.catalogs.translator(code), [date(2026, 11, 1)])
    assert bool(charts.find_fonts().missing(label.letters())) == (code == "ur")


def test_a_forged_export_key_is_refused_by_the_renderer(app: App, world: World) -> None:
    made = app.dispatcher.documents
    assert made is not None
    from bot.documents import DocumentError

    for key in ("counts-xlsx-20261301-20261231-en-all", "x" * 80, "counts-exe-1-2-en-all"):
        with pytest.raises(DocumentError):
            made.render(Document("export", key, "x.xlsx"))


# --- the command line ---------------------------------------------------------------------------


def test_the_operator_exports_and_is_told_what_is_wrong(
    app: App, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = operator(app, tmp_path, "export", "counts", "--from", "2026-01-01", "--to",
                    "2026-03-31", "-o", str(out / "counts.xlsx"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out / "counts.xlsx", read_only=True)
    assert book.sheetnames == ["Notes", "Counts"]
    done = operator(app, tmp_path, "export", "feedback", "--format", "csv", "-o",
                    str(out / "fb.csv"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "fb.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (out / "fb-comments.csv").exists()
    for args, said in [
        (["--from", "2026-05-01", "--to", "2026-04-01"], "comes after"),
        (["--from", "1990-01-01"], "between"),
        (["--from", "tomorrow"], "must be a day"),
        (["--centre", "nowhere"], "no centre"),
    ]:
        done = operator(app, tmp_path, "export", "counts", *args, "-o", str(out / "x.xlsx"))
        assert done.returncode == 2 and said in done.stderr, done.stderr
    done = operator(app, tmp_path, "stats", "--from", "2026-11-01")
    assert done.returncode == 0 and "Krnjača" in done.stdout and "Viber" in done.stdout
    assert not (out / "x.xlsx").exists()
