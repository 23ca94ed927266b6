"""``workshopbot broadcast`` as a real process, against the stand-in Telegram and Viber and a
real database: sent now with its tally, stored for later with ``--at``, refused in one line
(nothing stored) when the notice, the time, the options or the Viber cap are wrong, and asked
before it is stored unless ``--yes``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from sqlmodel import col, select

from bot.cli import broadcast as cli
from flows import broadcasts
from flows.i18n import Catalogs
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import AuditEntry, Broadcast, BroadcastState, LedgerEntry
from tests.conftest import TEST_KEY
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.viber_api import FakeViber, FakeViberUser
from tests.seeding import World, seed

LOCALES = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def viber() -> AsyncIterator[FakeViber]:
    async with FakeViber() as fake:
        yield fake


async def workshopbot(
    folder: Path,
    database: Database,
    *args: str,
    telegram: FakeTelegram | None = None,
    viber: FakeViber | None = None,
    stdin: str = "",
    **settings: str,
) -> Done:
    """``workshopbot <args>`` as a process; the stand-ins keep serving while it runs."""
    ours = ("TELEGRAM_", "VIBER_", "PUBLIC_URL", "DATABASE_URL", "DATA_", "TIMEZONE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(DATA_DIR=str(folder), DATA_KEY=TEST_KEY, DATABASE_URL=database.url)
    env.update(LOG_LEVEL="WARNING", TELEGRAM_RATE_LIMIT="500", **settings)
    if telegram is not None:
        env.update(TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url)
    if viber is not None:
        env.update(VIBER_AUTH_TOKEN=viber.token, VIBER_API_URL=viber.base_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=folder,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def store(
    database: Database, channel: str, key: str, locale: str, centre_id: int, seen: datetime
) -> None:
    with database.session() as db:
        q.create_person(
            db, Vault(TEST_KEY), channel=channel, user_key=key, locale=locale,
            centre_id=centre_id, now=seen,
        )  # fmt: skip


def stored(database: Database) -> list[Broadcast]:
    with database.session() as db:
        return list(db.exec(select(Broadcast)).all())


def audited(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as db:
        return list(
            db.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
            ).all()
        )


def notice(locale: str, texts: dict[str, str]) -> str:
    catalogs = Catalogs.load(LOCALES)
    base = catalogs.translator("en")
    return broadcasts.notice(catalogs.translator(locale), texts, base, "Krnjača").text


@dataclass
class Residents:
    world: World
    telegram: list[tuple[FakeUser, str]]
    viber: list[tuple[FakeViberUser, str]]


def residents(
    database: Database,
    telegram: FakeTelegram,
    viber: FakeViber,
    on_telegram: list[str],
    on_viber: list[str] = (),  # type: ignore[assignment]
    *,
    seen: timedelta = timedelta(0),
) -> Residents:
    now = datetime.now(UTC)
    world = seed(database, now)
    tg = [(telegram.user(f"T{n}", locale), locale) for n, locale in enumerate(on_telegram)]
    vb = [
        (viber.user(f"V{n}", locale, subscribed=True), locale) for n, locale in enumerate(on_viber)
    ]
    for user, locale in tg:
        store(database, "telegram", str(user.id), locale, world.krnjaca, now - seen)
    for viber_user, locale in vb:
        store(database, "viber", viber_user.id, locale, world.krnjaca, now - seen)
    return Residents(world, tg, vb)


async def test_a_notice_sent_now_reaches_everyone_in_their_language_with_a_tally(
    tmp_path: Path, database: Database, telegram: FakeTelegram, viber: FakeViber
) -> None:
    people = residents(database, telegram, viber, ["en", "en", "ar", "sr_Latn"], ["ar", "en"])
    texts = {"en": "The *clinic* is closed_on Friday <b>all day</b>.", "ar": "العيادة مغلقة."}
    done = await workshopbot(
        tmp_path, database, "broadcast", "--centre", "krnjaca",
        "--text-file", write(tmp_path, "notice.txt", texts["en"] + "\n"),
        "--lang", "ar", "--text-file", write(tmp_path, "notice.ar.txt", texts["ar"]),
        "--yes", telegram=telegram, viber=viber,
    )  # fmt: skip
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == "Notice to everyone at Krnjača: 6 people; versions ar, en (base)"
    [made] = stored(database)
    assert lines[-1] == f"broadcast {made.id}: 6 delivered, 0 unreachable, 0 failed"
    for user, locale in people.telegram:
        assert telegram.texts(user) == [notice(locale, texts)]
    for viber_user, locale in people.viber:
        assert viber.texts(viber_user) == [notice(locale, texts)]
    assert made.state == BroadcastState.DONE and made.author == "cli"
    [created] = audited(database, "broadcast created")
    assert (created.actor, created.role, created.centre_id) == ("cli", "operator", made.centre_id)
    assert created.detail == f"broadcast {made.id} to everyone: 6 people, versions ar, en"
    [sent] = audited(database, "broadcast sent")
    assert sent.detail == lines[-1] and sent.role == "operator"


async def test_a_notice_for_later_is_stored_and_left_to_the_running_bot(
    tmp_path: Path, database: Database, telegram: FakeTelegram, viber: FakeViber
) -> None:
    people = residents(database, telegram, viber, ["en", "ar"])
    zone = ZoneInfo("Europe/Belgrade")
    at = (datetime.now(zone) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    done = await workshopbot(
        tmp_path, database, "broadcast", "--centre", "krnjaca", "--audience", "language:ar",
        "--text-file", write(tmp_path, "notice.txt", "Tomorrow: tea at nine."),
        "--at", f"{at:%Y-%m-%d %H:%M}", "--yes", telegram=telegram,
    )  # fmt: skip
    assert done.code == 0, done.err
    [made] = stored(database)
    assert "Notice to the people who use ar at Krnjača: 1 person" in done.out
    assert f"broadcast {made.id} will go " in done.out and "09:00" in done.out
    assert made.state == BroadcastState.SCHEDULED and made.send_at == at.astimezone(UTC)
    assert all(telegram.texts(user) == [] for user, _ in people.telegram)
    with database.session() as db:
        assert q.broadcast_counts(db, made.id or 0) == {"pending": 1}


async def test_it_asks_before_storing_anything(
    tmp_path: Path, database: Database, telegram: FakeTelegram, viber: FakeViber
) -> None:
    people = residents(database, telegram, viber, ["en", "en", "en"])
    args = ("broadcast", "--centre", "krnjaca", "--text-file", write(tmp_path, "n.txt", "Hi"))
    declined = await workshopbot(tmp_path, database, *args, telegram=telegram, stdin="n\n")
    assert declined.code == 1 and "Nothing was stored." in declined.out
    assert "Notice to everyone at Krnjača: 3 people" in declined.out
    assert stored(database) == []
    with database.session() as db:
        assert db.exec(select(LedgerEntry)).all() == []  # the count was a dry run
    accepted = await workshopbot(tmp_path, database, *args, telegram=telegram, stdin="y\n")
    assert accepted.code == 0, accepted.err
    assert "3 delivered" in accepted.out
    assert all(len(telegram.texts(user)) == 1 for user, _ in people.telegram)


async def test_a_notice_over_the_viber_cap_is_refused_before_it_starts(
    tmp_path: Path, database: Database, telegram: FakeTelegram, viber: FakeViber
) -> None:
    residents(
        database, telegram, viber, ["en"], ["en"] * 5, seen=timedelta(days=2)
    )  # nobody on Viber wrote for two days: each message is billed
    done = await workshopbot(
        tmp_path, database, "broadcast", "--centre", "krnjaca", "--yes",
        "--text-file", write(tmp_path, "n.txt", "Hello"),
        telegram=telegram, viber=viber, VIBER_MONTHLY_PROACTIVE_CAP="3",
    )  # fmt: skip
    assert done.code == 2
    assert done.err == (
        "workshopbot: this notice needs 5 billed Viber messages, but only 3 of this month's 3 "
        "are left (VIBER_MONTHLY_PROACTIVE_CAP); nothing was stored\n"
    )
    assert stored(database) == [] and viber.broadcasts() == [] and telegram.sent_count == 0


MISTAKES = [
    (("--text-file", "empty.txt"), "The notice is empty"),
    (("--text-file", "long.txt"), f"has {broadcasts.MAX_CHARS + 1} characters"),
    (("--at", "2020-01-01 10:00"), "2020-01-01 10:00 has already passed"),
    (("--lang", "ar"), "give one --text-file for each --lang"),
    (("--audience", "session:999"), "That workshop was not found at this centre."),
    (("--centre", "atlantis"), "There is no centre with the slug 'atlantis'"),
]


async def test_mistakes_are_refused_in_one_line_and_nothing_is_stored(
    tmp_path: Path, sqlite_database: Database, telegram: FakeTelegram, viber: FakeViber
) -> None:
    residents(sqlite_database, telegram, viber, ["en"])
    write(tmp_path, "n.txt", "Hi")
    write(tmp_path, "empty.txt", "  \n")
    write(tmp_path, "long.txt", "x" * (broadcasts.MAX_CHARS + 1))
    for args, error in MISTAKES:
        first = () if args[0] == "--text-file" else ("--text-file", "n.txt")
        done = await workshopbot(
            tmp_path, sqlite_database, "broadcast", "--centre", "krnjaca", *first, *args,
            "--yes", telegram=telegram,
        )  # fmt: skip
        assert done.code == 2, (args, done)
        assert done.err.startswith("workshopbot: ") and error in done.err, (args, done.err)
        assert done.err.count("\n") == 1, done.err
    assert stored(sqlite_database) == [] and telegram.sent_count == 0


@pytest.mark.parametrize(
    ("files", "langs", "base", "error"),
    [
        (["a.txt"], ["ar"], "en", "give one --text-file for each --lang"),
        (["a.txt", "b.txt", "c.txt"], ["ar"], "en", "give one --text-file for each --lang"),
        (["a.txt", "b.txt"], ["ar"], "ar", "--lang ar is given twice"),
        (["a.txt", "b.txt"], ["ar", "sr_Latn"], "en", "give one --text-file for each --lang"),
        (["missing.txt"], [], "en", "cannot read"),
        (["latin1.txt"], [], "en", "latin1.txt is not UTF-8 text"),
    ],
)
def test_text_files_pair_with_languages_or_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: list[str],
    langs: list[str],
    base: str,
    error: str,
) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        write(tmp_path, name, name)
    (tmp_path / "latin1.txt").write_bytes("Za\xe8ite".encode("latin-1"))
    with pytest.raises(typer.Exit) as stopped:
        cli._versions([tmp_path / name for name in files], langs, base)
    assert stopped.value.exit_code == 2
    err = capsys.readouterr().err
    assert err.startswith("workshopbot: ") and error in err and err.count("\n") == 1


def test_text_files_and_languages_pair_in_order(tmp_path: Path) -> None:
    a, b, c = (Path(write(tmp_path, f"{name}.txt", name)) for name in "abc")
    assert cli._versions([a, b, c], ["ar", "sr_Latn"], "en") == (
        {"en": "a", "ar": "b", "sr_Latn": "c"},
        "en",
    )
    assert cli._versions([a, b], ["sr_Latn", "en"], "en") == ({"sr_Latn": "a", "en": "b"}, "en")
