"""The operator's command line, run as a real process against a real database."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.cli.logs import TALKATIVE, Redactor, setup_logging
from storage.db import normalise_url
from tests.conftest import PG_URL, TEST_KEY, _postgres
from tests.fakes.telegram_api import FakeTelegram

KEY = TEST_KEY


def workshopbot(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "DATA_", "TIMEZONE"))
    }
    environment.update({"DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_centres_and_sessions_from_the_command_line(tmp_path: Path) -> None:
    done = workshopbot(
        tmp_path,
        "centre",
        "add",
        "--slug",
        "krnjaca",
        "--name",
        "Krnjača",
        "--kind",
        "asylum",
        "--contact",
        "+381 11 000 0101",
    )
    assert done.returncode == 0, done.stderr
    assert "https://t.me/<bot username>?start=krnjaca" in done.stdout  # no token: how to see it
    assert "set TELEGRAM_BOT_TOKEN, or run the bot once" in done.stdout
    again = workshopbot(tmp_path, "centre", "add", "--slug", "krnjaca", "--name", "X")
    assert again.returncode == 2 and "exists already" in again.stderr

    listed = workshopbot(tmp_path, "centre", "list")
    assert "Krnjača" in listed.stdout

    added = workshopbot(
        tmp_path,
        "session",
        "add",
        "--centre",
        "krnjaca",
        "--title",
        "Sewing workshop",
        "--starts",
        "2099-12-01 10:00",
        "--minutes",
        "90",
        "--capacity",
        "12",
        "--languages",
        "ar,fa",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added session 1: Sewing workshop at Krnjača, Tue 1 Dec 2099 10:00\n"
    sessions = workshopbot(tmp_path, "session", "list", "--centre", "krnjaca")
    assert "Sewing workshop" in sessions.stdout and "0/12" in sessions.stdout
    assert "2099-12-01 10:00" in sessions.stdout  # shown in the centre's local time

    cancelled = workshopbot(tmp_path, "session", "cancel", "1")
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    twice = workshopbot(tmp_path, "session", "cancel", "1")
    assert twice.returncode == 2

    # The embedded default makes its key beside the database, readable by the owner only.
    assert workshopbot(tmp_path, "chat").returncode == 0
    key = tmp_path / "data" / "workshopbot.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "data" / "workshopbot.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "session",
                "add",
                "--centre",
                "nowhere",
                "--title",
                "T",
                "--starts",
                "2099-01-01 10:00",
                "--capacity",
                "3",
            ],
            "There is no centre with the slug 'nowhere'.",
        ),
        (["centre", "add", "--slug", "Bad Slug", "--name", "X"], "a-z and 0-9, with single"),
        (["centre", "add", "--slug", "x", "--name", "X", "--timezone", "Mars/Olympus"], "zone"),
        (["session", "cancel", "77"], "There is no session 77."),
        (["session", "move", "77", "--starts", "2099-01-01 10:00"], "There is no session 77."),
        (["session", "list", "--centre", "nowhere"], "There is no centre with the slug"),
    ],
)
def test_operator_mistakes_get_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = workshopbot(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("workshopbot: ") and len(done.stderr.splitlines()) == 1
    assert message in done.stderr


def test_past_and_malformed_times_are_refused(tmp_path: Path) -> None:
    workshopbot(tmp_path, "centre", "add", "--slug", "vranje", "--name", "Vranje")
    past = workshopbot(
        tmp_path,
        "session",
        "add",
        "--centre",
        "vranje",
        "--title",
        "T",
        "--starts",
        "2001-01-01 10:00",
        "--capacity",
        "3",
    )
    assert past.returncode == 2 and "already passed" in past.stderr
    bad = workshopbot(
        tmp_path,
        "session",
        "add",
        "--centre",
        "vranje",
        "--title",
        "T",
        "--starts",
        "tomorrow",
        "--capacity",
        "3",
    )
    assert bad.returncode == 2 and "must look like" in bad.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE: unknown time zone"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"DATA_KEY": "short"}, "at least 32 characters"),
        (
            {"DATABASE_URL": "postgresql://postgres:pw@127.0.0.1:1/none", "DATA_KEY": KEY},
            "cannot connect to the database (postgresql+psycopg://postgres:***@",
        ),
    ],
)
def test_a_wrong_setting_stops_with_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    done = workshopbot(tmp_path, "chat", **env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_run_without_a_channel_says_what_to_set(tmp_path: Path) -> None:
    done = workshopbot(tmp_path, "run")
    assert done.returncode == 2 and "TELEGRAM_BOT_TOKEN" in done.stderr


def test_a_terminal_chat_stores_a_person_and_another_data_key_is_refused(tmp_path: Path) -> None:
    workshopbot(tmp_path, "centre", "add", "--slug", "a", "--name", "Alpha")
    # English, the only centre, "I agree", then "My bookings".
    chat = workshopbot(tmp_path, "chat", stdin="1\n1\n1\n2\n")
    assert chat.returncode == 0, chat.stderr
    assert "You have no bookings yet." in chat.stdout
    wrong = workshopbot(tmp_path, "chat", DATA_KEY="another-key-0123456789abcdefghijklmnopq")
    assert wrong.returncode == 2
    assert "DATA_KEY does not match" in wrong.stderr


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database of its own (dropped afterwards)."""
    _postgres().dispose()  # fails in CI when PostgreSQL is not there
    name = f"workshopbot_cli_{os.getpid()}"
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def tables(url: str) -> list[str]:
    engine = create_engine(normalise_url(url))
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_needs_an_explicit_upgrade_and_a_data_key(
    tmp_path: Path, empty_postgres: str
) -> None:
    for command in (["db", "upgrade"], ["chat"]):
        no_key = workshopbot(tmp_path, *command, DATABASE_URL=empty_postgres)
        assert no_key.returncode == 2
        assert no_key.stderr == (
            "workshopbot: DATA_KEY must be set when DATABASE_URL is not the embedded SQLite\n"
        )
        assert tables(empty_postgres) == []  # refused before anything touched the database
    upgraded = workshopbot(tmp_path, "db", "upgrade", DATABASE_URL=empty_postgres, DATA_KEY=KEY)
    assert upgraded.returncode == 0 and "revision" in upgraded.stdout
    assert "centre" in tables(empty_postgres)


def test_the_head_written_in_code_is_the_newest_script_and_where_an_upgrade_ends(
    tmp_path: Path,
) -> None:
    from storage import migrate
    from storage.db import Database

    assert migrate.head() == migrate.HEAD  # a new migration must update storage.migrate.HEAD
    db = Database(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    try:
        assert migrate.current(db) is None and not migrate.is_current(db)  # empty
        migrate.upgrade(db, "42525bc2a6b6")  # an older revision: behind, so upgraded
        assert migrate.current(db) == "42525bc2a6b6" and not migrate.is_current(db)
        migrate.upgrade_if_behind(db)
        assert migrate.current(db) == migrate.HEAD and migrate.is_current(db)
        assert "feedback" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("content", "message", "commands"),
    [
        ("short\n", "holds no usable key (at least 32", ["db upgrade", "run", "centre list"]),
        ("", "holds no usable key", ["chat"]),
        (None, "cannot read the key file", ["chat"]),  # a folder where the file should be
    ],
)
def test_an_unusable_key_file_is_refused_before_the_database_is_touched(
    tmp_path: Path, content: str | None, message: str, commands: list[str]
) -> None:
    key = tmp_path / "data" / "workshopbot.key"
    key.parent.mkdir()
    if content is None:
        key.mkdir()
    else:
        key.write_text(content)
    database = tmp_path / "data" / "workshopbot.sqlite3"
    for command in commands:
        done = workshopbot(tmp_path, *command.split(), TELEGRAM_BOT_TOKEN="123456:never-used")
        assert done.returncode == 2, done.stderr
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
        assert not database.exists() or tables(f"sqlite:///{database}") == []


def test_a_mistyped_command_line_gets_one_line(tmp_path: Path) -> None:
    cases = {
        ("centre", "add", "--name", "X"): "Missing option '--slug'.",
        ("session", "add", "--centre", "a", "--title", "T", "--starts", "2099-01-01 10:00",
         "--capacity", "many"): "Invalid value for '--capacity'",
        ("sesion", "list"): "No such command 'sesion'.",
    }  # fmt: skip
    for args, message in cases.items():
        done = workshopbot(tmp_path, *args)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("workshopbot: "), done.stderr
        assert message in lines[0] and "--help" in lines[0]
        assert not any(box in done.stderr for box in "╭│╰")


def test_a_date_in_another_year_shows_its_year(tmp_path: Path) -> None:
    assert workshopbot(tmp_path, "centre", "add", "--slug", "a", "--name", "Alpha").returncode == 0
    soon = datetime.now(ZoneInfo("Europe/Belgrade")) + timedelta(hours=2)
    added = workshopbot(
        tmp_path,
        "session", "add", "--centre", "a", "--title", "Soon", "--capacity", "5",
        "--starts", f"{soon:%Y-%m-%d %H:%M}",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    if soon.year == datetime.now(ZoneInfo("Europe/Belgrade")).year:
        assert f"{soon:%a} {soon.day} {soon:%b} {soon:%H:%M}" in added.stdout
    moved = workshopbot(tmp_path, "session", "move", "1", "--starts", "2099-06-01 10:00")
    assert moved.stdout == "session 1 moved to Mon 1 Jun 2099 10:00; 0 people will be told\n"
    twice = workshopbot(
        tmp_path,
        "session", "add", "--centre", "a", "--title", "Night", "--capacity", "5",
        "--starts", "2099-10-25 02:30",
    )  # fmt: skip
    assert twice.stdout.splitlines() == [
        "added session 2: Night at Alpha, Sun 25 Oct 2099 02:30",
        "note: 2099-10-25 02:30 comes twice that night; this is the first 02:30, summer time "
        "(UTC+2).",
    ]


async def run_cli(folder: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """The command line as a process that does not block the event loop (the stand-in
    Telegram runs in it)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "DATA_", "TIMEZONE", "LOG_"))
    }
    environment.update({"DATA_DIR": str(folder / "data"), **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=folder, env=environment,
        stdin=asyncio.subprocess.DEVNULL, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_centre_add_shows_the_bots_real_link(tmp_path: Path) -> None:
    async with FakeTelegram(bot_username="radionice_bot") as fake:
        telegram = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
        code, out, err = await run_cli(
            tmp_path, "centre", "add", "--slug", "krnjaca", "--name", "Krnjača", **telegram
        )
        assert code == 0, err
        assert out.splitlines() == [
            "added centre 1: Krnjača (krnjaca)",
            "Telegram link: https://t.me/radionice_bot?start=krnjaca",
        ]
        assert fake.calls_to("getMe") == 1
        # Remembered: asked once, and known without a token too.
        code, out, err = await run_cli(
            tmp_path, "centre", "add", "--slug", "vranje", "--name", "Vranje", **telegram
        )
        assert code == 0 and "https://t.me/radionice_bot?start=vranje" in out, err
        code, out, err = await run_cli(
            tmp_path, "centre", "add", "--slug", "sjenica", "--name", "Sjenica"
        )
        assert code == 0, err
        assert "Telegram link: https://t.me/radionice_bot?start=sjenica" in out
        assert fake.calls_to("getMe") == 1


async def test_a_token_never_appears_in_any_output(tmp_path: Path) -> None:
    wrong = "987654321:" + "A" * 35  # shaped like a real token; the stand-in knows another one
    async with FakeTelegram() as fake:
        code, out, err = await run_cli(
            tmp_path,
            "run",
            TELEGRAM_BOT_TOKEN=wrong,
            TELEGRAM_API_URL=fake.base_url,
            LOG_LEVEL="DEBUG",  # every request URL, with /bot<token>/ in it, is logged
        )
        assert fake.calls_to("getMe") >= 1
        added = await run_cli(
            tmp_path, "centre", "add", "--slug", "a", "--name", "A",
            TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=fake.base_url,
        )  # fmt: skip
    assert code == 2
    assert "cannot start: The token `987654321:***` was rejected" in err
    assert "/bot987654321:***/getMe" in err  # the request was logged, the token was not
    assert "Traceback" not in err
    assert added[0] == 0 and "could not ask Telegram for the bot's name" in added[2]
    for output in (out, err, *added[1:]):
        assert wrong not in output and "A" * 35 not in output


def test_stats_shows_the_months_viber_messages(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storage import migrate
    from storage import queries as q
    from storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'data' / 'workshopbot.sqlite3'}")
    migrate.upgrade(db)
    now = datetime(2026, 12, 3, 10, tzinfo=UTC)
    with db.session() as s:
        for initiated, status in ((False, 0), (False, 0), (True, 2)):
            q.record_outbound(
                s,
                channel="viber",
                month="2026-12",
                bot_initiated=initiated,
                billing_status=status,
                now=now,
            )
        assert q.reserve_proactive(s, "viber", "2026-12", cap=1)
        assert not q.reserve_proactive(s, "viber", "2026-12", cap=1)
    db.dispose()
    done = workshopbot(tmp_path, "stats", "--month", "2026-12", VIBER_MONTHLY_PROACTIVE_CAP="1")
    assert done.returncode == 0, done.stderr
    rows = {
        " ".join(line.split("│")[2].split()): line.split("│")[3].strip()
        for line in done.stdout.splitlines()
        if line.count("│") >= 4
    }
    assert "Viber messages" in done.stdout  # under its own heading, after the counts
    assert rows["replies (free, within 24 h of the person writing)"] == "2"
    assert rows["bot-initiated (billed)"] == "1"
    assert rows["bot-initiated cap"] == "1"
    assert rows["cap used (incl. failed sends)"] == "1"
    bad = workshopbot(tmp_path, "stats", "--month", "2026-13")
    assert bad.returncode == 2


def test_the_log_filter_takes_secrets_out_of_messages_arguments_and_tracebacks() -> None:
    viber = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
    telegram = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    redact = Redactor([viber, "configured-data-key-0123456789abcdef"])
    try:
        raise RuntimeError(f"The token `{telegram}` was rejected by the server.")
    except RuntimeError:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "HTTP Request: POST %s %s", None, sys.exc_info()
        )
    record.args = (f"http://127.0.0.1/bot{telegram}/getMe", f"viber {viber}")
    assert redact.filter(record)
    line = logging.Formatter().format(record)
    assert "HTTP Request: POST http://127.0.0.1/bot123456789:***/getMe viber ***" in line
    assert "The token `123456789:***` was rejected" in line  # the traceback's last line
    assert telegram not in line and viber not in line and "AAHdq" not in line
    assert redact("key=configured-data-key-0123456789abcdef") == "key=***"
    assert (
        redact("a time like 10:30, an id like 12345:67") == "a time like 10:30, an id like 12345:67"
    )


def test_at_debug_the_libraries_that_log_what_people_send_stay_at_info() -> None:
    """python-telegram-bot logs every update at DEBUG (a person's id and name, what they
    typed, the button they tapped): LOG_LEVEL=DEBUG must not turn that on."""
    root = logging.getLogger()
    names = [*TALKATIVE, "telegram.Bot", "httpcore.http11", "bot.dispatch", "httpx"]
    saved = root.level, {name: logging.getLogger(name).level for name in names}
    factory = logging.getLogRecordFactory()
    try:
        root.setLevel(logging.DEBUG)  # as basicConfig(level="DEBUG") does in a fresh process
        setup_logging("DEBUG", Redactor())
        for name in ("telegram.Bot", "telegram.ext.Updater", "httpcore.http11", "viberbot"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
            assert logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger("bot.dispatch").isEnabledFor(logging.DEBUG)  # ours still do
    finally:
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
        logging.setLogRecordFactory(factory)
        for handler in root.handlers:
            for found in [f for f in handler.filters if isinstance(f, Redactor)]:
                handler.removeFilter(found)


def test_session_edit_from_the_command_line(tmp_path: Path) -> None:
    from datetime import UTC

    from sqlmodel import col, select

    from storage import queries as q
    from storage.db import Database
    from storage.identity import Vault
    from storage.models import AuditEntry, Booking, WorkshopSession

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return workshopbot(tmp_path, *args, DATA_KEY=KEY)

    assert cli("centre", "add", "--slug", "krnjaca", "--name", "Krnjača").returncode == 0
    added = cli(
        "session", "add", "--centre", "krnjaca", "--title", "Sewing", "--capacity", "3",
        "--starts", "2099-12-01 10:00", "--place", "Room 2",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    db = Database(f"sqlite:///{tmp_path / 'data' / 'workshopbot.sqlite3'}")
    now = datetime.now(UTC)
    with db.session() as s:
        for key in ["1", "2", "3", "4"]:  # three seats, one waiting
            person = q.create_person(
                s, Vault(KEY), channel="telegram", user_key=key, locale="en", centre_id=1, now=now
            )
            assert person.id is not None
            q.book(s, person_id=person.id, session_id=1, centre_id=1, now=now)

    def session() -> tuple[str, str | None, int, list[str]]:
        with db.session() as s:
            row = s.get(WorkshopSession, 1)
            assert row is not None
            bookings = s.exec(select(Booking).order_by(col(Booking.ticket))).all()
            return row.title, row.place, row.capacity, [b.status[0] for b in bookings]

    fewer = cli("session", "edit", "1", "--seats", "2")
    assert fewer.returncode == 2 and fewer.stderr == (
        "workshopbot: 1 person is booked after seat 2. They will move to the top of the "
        "waitlist and be told. Add --yes to do it; nothing was changed.\n"
    )
    assert session() == ("Sewing", "Room 2", 3, ["c", "c", "c", "w"])
    done = cli("session", "edit", "1", "--seats", "2", "--yes")
    assert done.stdout == (
        "session 1: 2 seats, 1 person moved to the top of the waitlist (told)\n"
    ), done.stderr
    assert session() == ("Sewing", "Room 2", 2, ["c", "c", "w", "w"])
    more = cli("session", "edit", "1", "--seats", "5")
    assert more.stdout == "session 1: 5 seats, 2 people given a seat from the waitlist (told)\n"
    # Everything at once, or nothing: a refused value leaves the others unchanged.
    mixed = cli("session", "edit", "1", "--title", "Sewing circle", "--seats", "0")
    assert mixed.returncode == 2
    assert mixed.stderr == "workshopbot: The number of seats must be from 1 to 500, not 0.\n"
    assert session() == ("Sewing", "Room 2", 5, ["c", "c", "c", "c"])
    renamed = cli("session", "edit", "1", "--title", "Sewing circle", "--room", "")
    assert renamed.stdout == "session 1: title and room changed\n", renamed.stderr
    moved = cli("session", "edit", "1", "--at", "2099-12-02 11:00")
    assert moved.stdout == "session 1: moved to Wed 2 Dec 2099 11:00, 4 people will be told\n"
    assert session() == ("Sewing circle", None, 5, ["c", "c", "c", "c"])
    for args, message in [
        ([], "nothing to change: give --title, --at, --seats or --room"),
        (["--title", "x" * 5000], "The title is 5000 characters long; at most 120 fit."),
        (["--seats", "501"], "The number of seats must be from 1 to 500, not 501."),
        (["--at", "2001-01-01 10:00"], "2001-01-01 10:00 has already passed."),
    ]:
        wrong = cli("session", "edit", "1", *args)
        assert wrong.returncode == 2 and wrong.stderr == f"workshopbot: {message}\n", args
    missing = cli("session", "edit", "77", "--title", "X")
    assert missing.returncode == 2 and missing.stderr == "workshopbot: There is no session 77.\n"
    assert cli("session", "cancel", "1").returncode == 0
    with db.session() as s:
        logged = [(e.actor, e.role, e.action, e.detail) for e in s.exec(select(AuditEntry))]
    db.dispose()
    assert logged == [
        ("cli", "operator", "session added", "session 1: 2099-12-01 10:00"),
        (
            "cli",
            "operator",
            "seats changed",
            "session 1: 2 seats, 0 from the waitlist, 1 back to it",
        ),
        (
            "cli",
            "operator",
            "seats changed",
            "session 1: 5 seats, 2 from the waitlist, 0 back to it",
        ),
        ("cli", "operator", "session edited", "session 1: title and room"),
        ("cli", "operator", "session moved", "session 1: to 2099-12-02 11:00, 4 told"),
        ("cli", "operator", "session cancelled", "session 1: 4 told"),
    ]
