"""The operator's command line, run as a real process against a real database."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, _postgres


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
    assert "start=krnjaca" in done.stdout
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
    assert "added session 1" in added.stdout
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
            "no centre with slug",
        ),
        (["centre", "add", "--slug", "Bad Slug", "--name", "X"], "--slug may contain only"),
        (["session", "cancel", "77"], "no session 77"),
    ],
)
def test_operator_mistakes_get_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = workshopbot(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


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
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, "cannot connect"),
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


@pytest.mark.postgres
def test_postgres_needs_an_explicit_upgrade_and_a_data_key(tmp_path: Path) -> None:
    _postgres().dispose()  # fails in CI when PostgreSQL is not there
    no_key = workshopbot(tmp_path, "chat", DATABASE_URL=PG_URL)
    assert no_key.returncode == 2 and "DATA_KEY must be set" in no_key.stderr
    upgraded = workshopbot(tmp_path, "db", "upgrade", DATABASE_URL=PG_URL)
    assert upgraded.returncode == 0 and "revision" in upgraded.stdout


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
    assert rows["Viber replies (free, within 24 h of the person writing)"] == "2"
    assert rows["Viber bot-initiated (billed)"] == "1"
    assert rows["Viber bot-initiated cap"] == "1"
    assert rows["Viber cap used (incl. failed sends)"] == "1"
    bad = workshopbot(tmp_path, "stats", "--month", "2026-13")
    assert bad.returncode == 2
