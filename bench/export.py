"""Exports of a year's data: 1,000,000 anonymous feedback rows and 200,000 bookings, written by
the real ``workshopbot export`` (a process of its own) as CSV and as Excel.

The reference is what ``sqlite3 -csv`` takes to dump the same rows (``select *`` from
feedback and from booking, best of three); the CSV export (feedback, its comments and the
counts) should take at most twice that, the Excel export at most 60 s, and neither process
more than 200 MB (peak RSS, from ``wait4``'s rusage of that child).

The database (13 centres, 12 months of sessions, 40,000 people) is built once and kept in a
file (``--db``; ``--fresh`` builds it again); it is built again by itself when the sizes asked
for or the current week differ from those it was built for (feedback is only ever given for
weeks before the current one, and the export never reports the current week).

    .venv/bin/python -m bench.export [--feedback 1000000] [--bookings 200000] [--fresh]
    .venv/bin/python -m bench.export --only csv        # or xlsx; --runs 3 repeats each export
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bench.common import BENCH_KEY, TITLES
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Booking, Person, WorkshopSession

ROOT = Path(__file__).resolve().parent.parent
WORKSHOPBOT = ROOT / ".venv" / "bin" / "workshopbot"
DEFAULT_DB = Path(tempfile.gettempdir()) / "workshopbot-bench-export.sqlite3"
CHUNK = 50_000
CENTRES = 13
WEEKS = 52
BOOKINGS_PER_SESSION = 20
ZONE = "Europe/Belgrade"
BUILD = 2  # bump when the data built here changes, to rebuild cached databases

# The default questionnaire (flows/questionnaires/default.toml); each skipped 10% of the time.
QUESTIONS = {
    "useful": (("1", "2", "3", "4", "5"), (5, 10, 20, 35, 30)),
    "feel": (("better", "same", "worse"), (55, 35, 10)),
    "again": (("yes", "maybe", "no"), (60, 30, 10)),
}
WORDS = {
    "en": "the workshop was good very useful teacher friendly room cold more time please "
    "thank you again next week music children sewing machine computer learned",
    "ar": "الورشة كانت جيدة جدا مفيدة المعلم لطيف الغرفة باردة شكرا نريد وقت أكثر الأسبوع "
    "القادم الموسيقى الأطفال تعلمت",
    "sr": "radionica je bila dobra veoma korisna učiteljica ljubazna soba hladna hvala još "
    "vremena sledeće nedelje muzika deca šivenje računar naučio",
}
WORDS_OF = {language: text.split() for language, text in WORDS.items()}


# ------------------------------------------------------------------------------------------
# The database


@dataclass(frozen=True)
class Plan:
    feedback: int
    bookings: int
    people: int
    first_week_start: date  # the Monday of the first feedback week (the export's --from)
    current_week_start: date
    today: date  # sessions are on the days before

    @property
    def sessions(self) -> int:
        return max(1, self.bookings // BOOKINGS_PER_SESSION)

    def meta(self) -> dict[str, object]:
        return {
            "build": BUILD,
            "feedback": self.feedback,
            "bookings": self.bookings,
            "people": self.people,
            "today": self.today.isoformat(),
        }


def plan_for(feedback: int, bookings: int, people: int, today: date) -> Plan:
    current = today - timedelta(days=today.weekday())
    return Plan(feedback, bookings, people, current - timedelta(weeks=WEEKS), current, today)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def comment(rng: random.Random) -> str:
    """Random words, 20 to 200 characters; a tenth in Arabic, a tenth in Serbian, and now
    and then one that starts like a formula (the exports make those safe)."""
    pick = rng.random()
    words = WORDS_OF["ar" if pick < 0.1 else "sr" if pick < 0.2 else "en"]
    length = rng.randint(20, 200)
    text = ""
    while len(text) < length:
        text += rng.choice(words) + " "
    text = text[:length].strip() or "ok"
    return "=" + text if rng.random() < 0.002 else text


def build(path: Path, plan: Plan) -> None:
    """Build the database at a temporary name, then move it to ``path``."""
    building = path.with_name(path.name + ".building")
    for stale in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        stale.unlink(missing_ok=True)
    database = Database(f"sqlite:///{building}")
    migrate.upgrade(database)
    rng = random.Random(49)
    tz = ZoneInfo(ZONE)
    started = time.perf_counter()
    created = datetime.combine(plan.first_week_start - timedelta(days=30), clock_time(), UTC)
    with database.session() as db:
        centres = []
        for n in range(CENTRES):
            centre = q.add_centre(
                db, slug=f"centre-{n}", name=f"Centre {n}", kind="asylum", timezone=ZONE,
                contact=None, now=created,
            )  # fmt: skip
            assert centre.id is not None
            centres.append(centre.id)
        sealed = Vault(BENCH_KEY).seal("0")  # one address for everyone: nobody is sent to
        for start in range(0, plan.people, CHUNK):
            db.execute(
                insert(Person),
                [
                    {
                        "key_hash": f"{n:064x}",
                        "channel": "telegram",
                        "address_enc": sealed,
                        "locale": rng.choice(("en", "ar", "sr_Latn", "fa")),
                        "centre_id": centres[n % CENTRES],
                        "state": "menu",
                        "state_data": "{}",
                        "consented_at": created,
                        "last_seen_at": created,
                        "unreachable": False,
                        "tally_token": f"{n:016x}",
                    }
                    for n in range(start, min(start + CHUNK, plan.people))
                ],
            )
        # Sessions on every day from the first feedback week to yesterday, 9:00 to 17:00 at
        # the centre; 3% cancelled.
        days = (plan.today - plan.first_week_start).days
        sessions = []
        for n in range(plan.sessions):
            day = plan.first_week_start + timedelta(days=rng.randrange(max(1, days)))
            local = datetime.combine(day, clock_time(9 + rng.randrange(9)), tz)
            starts = local.astimezone(UTC)
            sessions.append(
                {
                    "centre_id": centres[n % CENTRES],
                    "title": TITLES[n % len(TITLES)],
                    "starts_at": starts,
                    "minutes": 90,
                    "capacity": BOOKINGS_PER_SESSION,
                    "languages": "ar,fa",
                    "place": "Room",
                    "cancelled_at": starts - timedelta(days=1) if rng.random() < 0.03 else None,
                    "created_at": created,
                }
            )
        db.execute(insert(WorkshopSession), sessions)
        # Twenty different people a session; 90% confirmed, of those 78% attended (~70% of all
        # bookings), 5% from the waitlist, and 40% of those who came gave feedback.
        rows: list[dict[str, object]] = []
        for n, session in enumerate(sessions):
            begins = session["starts_at"]
            assert isinstance(begins, datetime)
            booked_at = begins - timedelta(days=3)
            chosen = rng.sample(range(1, plan.people + 1), BOOKINGS_PER_SESSION)
            for ticket, person in enumerate(chosen, 1):
                if len(rows) >= plan.bookings:
                    break
                roll = rng.random()
                status = "confirmed" if roll < 0.9 else "cancelled" if roll < 0.95 else "waitlisted"
                attended = status == "confirmed" and rng.random() < 0.78
                rows.append(
                    {
                        "session_id": n + 1,
                        "person_id": person,
                        "status": status,
                        "queue_no": ticket if status == "waitlisted" else 0,
                        "ticket": ticket,
                        "attended_at": begins + timedelta(minutes=5) if attended else None,
                        "promoted": status == "confirmed" and rng.random() < 0.05,
                        "feedback_given": attended and rng.random() < 0.4,
                        "created_at": booked_at,
                        "updated_at": booked_at,
                    }
                )
        for start in range(0, len(rows), CHUNK):
            db.execute(insert(Booking), rows[start : start + CHUNK])
        del rows, sessions
    print(
        f"  people, {plan.sessions:,} sessions and {plan.bookings:,} bookings: "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    database.dispose()
    # The feedback through the sqlite3 module itself: a million rows of plain text and numbers
    # need none of SQLAlchemy's processing. Each chunk is sorted by its random ids (the table
    # has no rowid: rows are stored in id order).
    started = time.perf_counter()
    weeks = [iso_week(plan.first_week_start + timedelta(weeks=n)) for n in range(WEEKS)]
    connection = sqlite3.connect(building)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-200000")
    written = 0
    while written < plan.feedback:
        batch = []
        for _ in range(min(CHUNK, plan.feedback - written)):
            answers = []
            for question, (values, weights) in sorted(QUESTIONS.items()):
                if rng.random() >= 0.1:
                    answers.append(f"{question}={rng.choices(values, weights)[0]}")
            batch.append(
                (
                    secrets.token_hex(16),
                    centres[rng.randrange(CENTRES)],
                    TITLES[rng.randrange(len(TITLES))],
                    weeks[rng.randrange(WEEKS)],
                    ";".join(answers),
                    comment(rng) if rng.random() < 0.2 else None,
                )
            )
        batch.sort()
        with connection:
            connection.executemany(
                "INSERT INTO feedback (id, centre_id, workshop, week, answers, comment) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                batch,
            )
        written += len(batch)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    print(f"  {plan.feedback:,} feedback rows: {time.perf_counter() - started:.1f} s", flush=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(building, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    meta_path(path).write_text(json.dumps(plan.meta()))


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def ready(path: Path, plan: Plan) -> bool:
    """Whether the database at ``path`` was built for this plan (and this week)."""
    try:
        return bool(path.exists() and json.loads(meta_path(path).read_text()) == plan.meta())
    except (OSError, ValueError):
        return False


def table_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("centre", "person", "workshop_session", "booking", "feedback")
        }


# ------------------------------------------------------------------------------------------
# The reference and the runs


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    output: str


# The children are started by this small launcher, which reports their wall time and peak RSS.
# Not directly from here: Linux keeps a process's peak RSS across exec, and a child forked
# from this process starts with this process's own (the bench holds ~300 MB after building),
# so wait4's ru_maxrss (or RUSAGE_CHILDREN's) would read at least that whatever the child did.
# The launcher (python -S -I: ~5 MB) is the floor instead; `launch_floor()` measures it.
LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as out:
    out.write(f"{seconds} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to its end, through the launcher: wall time, and the peak RSS of the
    command's own process (wait4's ru_maxrss, KiB on Linux)."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as folder:
        report = Path(folder) / "report"
        out, err = Path(folder) / "out", Path(folder) / "err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            done = subprocess.run(
                [sys.executable, "-S", "-I", "-c", LAUNCHER, str(report), *command],
                env=env, cwd=ROOT, stdout=stdout, stderr=stderr, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{err.read_text()}")
        seconds, kib = report.read_text().split()
        return Run(float(seconds), int(kib) / 1024, out.read_text().strip())


def launch_floor() -> float:
    """The peak RSS the launcher reports for a program that uses next to nothing, in MB."""
    return run_child(["/bin/true"]).peak_mb


def reference(path: Path, runs: int) -> tuple[str, list[tuple[float, float]]]:
    """``sqlite3 -csv`` dumping all feedback, then all bookings, to /dev/null; per run the two
    times. Python's sqlite3 and csv modules stand in when there is no sqlite3 program."""
    program = shutil.which("sqlite3")
    times = []
    for _ in range(runs):
        pair = []
        for table in ("feedback", "booking"):
            if program is not None:
                started = time.perf_counter()
                with open(os.devnull, "wb") as sink:
                    subprocess.run(
                        [program, "-csv", str(path), f"select * from {table}"],
                        stdout=sink, check=True,
                    )  # fmt: skip
                pair.append(time.perf_counter() - started)
            else:
                started = time.perf_counter()
                with sqlite3.connect(path) as connection, open(os.devnull, "w") as sink:
                    csv.writer(sink).writerows(connection.execute(f"select * from {table}"))
                pair.append(time.perf_counter() - started)
        times.append((pair[0], pair[1]))
    what = f"`{program} -csv`" if program else "Python's sqlite3 + csv.writer (no sqlite3 program)"
    return what, times


def child_env(path: Path, folder: Path) -> dict[str, str]:
    ours = ("TELEGRAM_", "VIBER_", "PUBLIC_URL", "WEB_", "DATABASE_", "DATA_", "LOG_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        DATA_DIR=str(folder), DATA_KEY=BENCH_KEY, DATABASE_URL=f"sqlite:///{path}",
        LOG_LEVEL="WARNING", COLUMNS="100",
    )  # fmt: skip
    return env


def rows_of(output: str) -> str:
    return "; ".join(line.rsplit("/", 1)[-1] for line in output.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--fresh", action="store_true", help="build the database again")
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--bookings", type=int, default=200_000)
    parser.add_argument("--people", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=1, help="runs of each export (best taken)")
    parser.add_argument("--only", choices=("csv", "xlsx"), default=None)
    parser.add_argument("--keep", type=Path, default=None, help="copy the exports here")
    args = parser.parse_args()

    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    plan = plan_for(args.feedback, args.bookings, args.people, today)
    path = args.db.resolve()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.fresh or not ready(path, plan):
        print(f"building {path} ...", flush=True)
        build(path, plan)
    else:
        print(f"using {path} (built earlier; --fresh to build again)")
    counts = table_counts(path)
    size = path.stat().st_size / 1e6
    print(
        f"  {counts['centre']} centres, {counts['person']:,} people, "
        f"{counts['workshop_session']:,} sessions, {counts['booking']:,} bookings, "
        f"{counts['feedback']:,} feedback rows; {size:.0f} MB; feedback weeks "
        f"{iso_week(plan.first_week_start)} to {iso_week(plan.current_week_start - timedelta(1))}"
    )

    what, ref = reference(path, 3)
    best = min(ref, key=sum)
    print(
        f"\nreference: {what} of feedback + booking to /dev/null, best of 3: "
        f"{sum(best):.2f} s ({best[0]:.2f} + {best[1]:.2f}; all runs: "
        + ", ".join(f"{sum(pair):.2f}" for pair in ref)
        + ")"
    )

    first, last = plan.first_week_start, today
    period = ["--from", first.isoformat(), "--to", last.isoformat()]
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        env = child_env(path, Path(folder))
        floor = launch_floor()
        startup = min(
            (run_child([str(WORKSHOPBOT), "export", "--help"], env) for _ in range(3)),
            key=lambda run: run.seconds,
        )
        print(
            f"`workshopbot export --help` (start-up, imports): {startup.seconds:.2f} s, "
            f"{startup.peak_mb:.0f} MB (peak RSS of /bin/true the same way: {floor:.1f} MB)"
        )
        print(f"period {first} to {last}, all centres, --lang en")
        results: dict[tuple[str, str], Run] = {}
        formats = [args.only] if args.only else ["csv", "xlsx"]
        for fmt in formats:
            for kind in ("feedback", "counts"):
                target = Path(folder) / f"{kind}.{fmt}"
                command = [str(WORKSHOPBOT), "export", kind, "-o", str(target), *period]
                runs = [run_child(command, env) for _ in range(args.runs)]
                found = min(runs, key=lambda run: run.seconds)
                results[(fmt, kind)] = found
                sizes = ", ".join(
                    f"{p.name} {p.stat().st_size / 1e6:.1f} MB"
                    for p in sorted(Path(folder).glob(f"{kind}*.{fmt}"))
                )
                times = ", ".join(f"{run.seconds:.2f}" for run in runs)
                print(
                    f"  export {kind} {fmt}: {found.seconds:.2f} s (runs: {times}), "
                    f"peak RSS {max(run.peak_mb for run in runs):.0f} MB; "
                    f"{rows_of(found.output)}; {sizes}"
                )
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for written in Path(folder).glob("*.*"):
                shutil.copy(written, args.keep / written.name)

    print()
    if "csv" in formats:
        csv_seconds = results[("csv", "feedback")].seconds + results[("csv", "counts")].seconds
        csv_peak = max(results[("csv", kind)].peak_mb for kind in ("feedback", "counts"))
        print(
            f"CSV (feedback + comments + counts): {csv_seconds:.2f} s = "
            f"{csv_seconds / sum(best):.2f} x the reference (target <= 2 x); "
            f"peak RSS {csv_peak:.0f} MB (target < 200 MB)"
        )
    if "xlsx" in formats:
        xlsx = results[("xlsx", "feedback")].seconds + results[("xlsx", "counts")].seconds
        xlsx_peak = max(results[("xlsx", kind)].peak_mb for kind in ("feedback", "counts"))
        print(
            f"XLSX (feedback with comments + counts): {xlsx:.2f} s (target <= 60 s); "
            f"peak RSS {xlsx_peak:.0f} MB (target < 200 MB)"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()
    print(f"(this process: {own:.0f} MB; load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")


if __name__ == "__main__":
    main()
