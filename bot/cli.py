"""The ``workshopbot`` command: run the bot, chat in a terminal, and manage centres and sessions.

Operator messages here are English; everything a resident reads goes through the catalogs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from babel import Locale, UnknownLocaleError
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bot import demo as demo_data
from bot.app import StartupError, build_app, open_database
from bot.billing import month_of
from bot.channels.console import ConsoleChannel
from bot.settings import Settings, describe_error
from flows.clock import SystemClock
from storage import migrate
from storage import queries as q
from storage.db import Database
from storage.models import CentreKind

cli = typer.Typer(
    help="Workshop sign-ups, reminders and feedback over Telegram and Viber.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
centre_cli = typer.Typer(help="Centres (asylum and reception centres).", no_args_is_help=True)
session_cli = typer.Typer(help="Workshop sessions.", no_args_is_help=True)
db_cli = typer.Typer(help="The database.", no_args_is_help=True)
cli.add_typer(centre_cli, name="centre")
cli.add_typer(session_cli, name="session")
cli.add_typer(db_cli, name="db")

out = Console()
SLUG = re.compile(r"^[a-z0-9-]{1,40}$")


def fail(message: str) -> NoReturn:
    typer.echo(f"workshopbot: {message}", err=True)
    raise typer.Exit(2)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        fail(f"configuration error: {describe_error(error)}")


def database(config: Settings) -> Database:
    try:
        return open_database(config)
    except StartupError as error:
        fail(str(error))


def setup_logging(config: Settings) -> None:
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


# --- running ---------------------------------------------------------------------------------


@cli.command()
def run(
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Extra web workers: leave reminders to one")
    ] = False,
) -> None:
    """Run the configured channels: Telegram (long polling, or a webhook when PUBLIC_URL is
    set) and Viber (webhook), with the web server they need, and the reminders."""
    _serve(scheduler=not no_scheduler, receive=True)


@cli.command()
def scheduler() -> None:
    """Run only the reminders and notifications (when the web workers run --no-scheduler)."""
    _serve(scheduler=True, receive=False)


def _serve(*, scheduler: bool, receive: bool) -> None:
    config = settings()
    setup_logging(config)
    if config.telegram_bot_token is None and config.viber_auth_token is None:
        fail(
            "no channel is configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN "
            "(or try `workshopbot demo`)"
        )
    # The event loop answers webhooks while worker threads run conversations; a short GIL
    # switch interval (0.1 ms, not 5 ms) keeps a busy worker from holding up each answer
    # (bench/viber.py: p99 of the webhook answers 25-34 ms instead of 31-64 ms).
    sys.setswitchinterval(0.0001)
    try:
        app = build_app(config)
        asyncio.run(_until_signalled(app.run(scheduler=scheduler, receive=receive)))
    except StartupError as error:
        fail(str(error))
    except Exception as error:  # a wrong token, an unreachable API: one line, not a traceback
        if type(error).__name__ in ("InvalidToken", "NetworkError", "TimedOut", "ConnectError"):
            fail(f"cannot start: {error}")
        raise


async def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run until done, or until SIGINT/SIGTERM, then let ``main`` shut down in order."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _chat(config: Settings, db: Database | None, start: str) -> None:
    console = ConsoleChannel(sys.stdin, sys.stdout)
    try:
        app = build_app(config, channels=[console], database=db)
    except StartupError as error:
        fail(str(error))

    async def main() -> None:
        app.scheduler.start()  # reminders and notifications reach the terminal too
        try:
            await console.run(app.dispatcher.handle, app.settle, start=start)
        finally:
            await app.aclose()

    typer.echo(
        "Terminal chat: type the number of a button, or text and /commands. Ctrl-D ends.", err=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@cli.command()
def chat(
    centre: Annotated[str, typer.Option(help="Open as if through this centre's link")] = "",
) -> None:
    """Chat with the bot in this terminal, on the configured database."""
    _chat(settings(), None, centre)


@cli.command()
def demo(
    centre: Annotated[str, typer.Option(help="Open as if through this centre's link")] = "",
) -> None:
    """Seed a demo database (7 centres, two weeks of workshops) and open the terminal chat."""
    config = settings()
    path = config.data_dir / "demo.sqlite3"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)  # a fresh fortnight from today, every time
    config = config.model_copy(update={"database_url": f"sqlite:///{path}"})
    db = database(config)
    centres, sessions = demo_data.seed(db, SystemClock(), config.timezone)
    typer.echo(f"Demo: {centres} centres, {sessions} sessions in {path}", err=True)
    _chat(config, db, centre)


# --- database --------------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables to the current version."""
    config = settings()
    try:
        db = open_database(config, upgrade=True)
    except StartupError as error:
        fail(str(error))
    typer.echo(f"database is at revision {migrate.current(db)}")


# --- centres ---------------------------------------------------------------------------------


@centre_cli.command("add")
def centre_add(
    slug: Annotated[str, typer.Option(help="Short name for links: a-z, 0-9 and -")],
    name: Annotated[str, typer.Option(help="The centre's name as residents know it")],
    kind: Annotated[CentreKind, typer.Option(help="asylum or reception")] = CentreKind.ASYLUM,
    contact: Annotated[str | None, typer.Option(help="Phone or office hours for residents")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone, default TIMEZONE")] = None,
) -> None:
    """Add a centre."""
    config = settings()
    if not SLUG.match(slug):
        fail("--slug may contain only a-z, 0-9 and - (at most 40)")
    zone = timezone or config.timezone
    try:
        ZoneInfo(zone)
    except Exception:
        fail(f"unknown time zone {zone!r}")
    db = database(config)
    with db.session() as s:
        if q.centre_by_slug(s, slug) is not None:
            fail(f"a centre with slug {slug!r} exists already")
        centre = q.add_centre(
            s,
            slug=slug,
            name=name.strip(),
            kind=kind.value,
            timezone=zone,
            contact=contact,
            now=SystemClock().now(),
        )
    out.print(f"added centre {centre.id}: {centre.name} ({centre.slug})")
    out.print(f"Telegram link: https://t.me/<your_bot>?start={slug}")


@centre_cli.command("list")
def centre_list() -> None:
    """List centres."""
    db = database(settings())
    with db.session() as s:
        centres = q.list_centres(s)
    table = Table("id", "slug", "name", "kind", "time zone", "contact")
    for c in centres:
        table.add_row(str(c.id), c.slug, c.name, c.kind, c.timezone, c.contact or "")
    out.print(table)


# --- sessions --------------------------------------------------------------------------------


def _languages(value: str) -> list[str]:
    codes = [code.strip() for code in value.split(",") if code.strip()]
    for code in codes:
        try:
            Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            fail(f"unknown language code {code!r} in --languages")
    return codes


@session_cli.command("add")
def session_add(
    centre: Annotated[str, typer.Option(help="Centre slug")],
    title: Annotated[str, typer.Option(help="What residents will see")],
    starts: Annotated[str, typer.Option(help='Local time at the centre, "YYYY-MM-DD HH:MM"')],
    capacity: Annotated[int, typer.Option(min=1, max=500)],
    minutes: Annotated[int, typer.Option(min=5, max=600)] = 90,
    languages: Annotated[str, typer.Option(help="Spoken there, e.g. ar,fa")] = "",
    place: Annotated[str | None, typer.Option(help="Room or place")] = None,
) -> None:
    """Add a workshop session."""
    db = database(settings())
    codes = _languages(languages)
    if not title.strip() or len(title) > 120:
        fail("--title must be 1 to 120 characters")
    with db.session() as s:
        found = q.centre_by_slug(s, centre)
        if found is None or found.id is None:
            fail(f"no centre with slug {centre!r} (see `workshopbot centre list`)")
        try:
            local = datetime.strptime(starts.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            fail('--starts must look like "2026-12-01 10:00"')
        starts_at = local.replace(tzinfo=ZoneInfo(found.timezone))
        now = SystemClock().now()
        if starts_at <= now:
            fail("that time has already passed")
        session = q.add_session(
            s,
            centre_id=found.id,
            title=title.strip(),
            starts_at=starts_at,
            minutes=minutes,
            capacity=capacity,
            languages=codes,
            place=place,
            now=now,
        )
    out.print(
        f"added session {session.id}: {session.title} at {found.name}, {local:%a %d %b %H:%M}"
    )


@session_cli.command("list")
def session_list(
    centre: Annotated[str | None, typer.Option(help="Only this centre (slug)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sessions")] = False,
) -> None:
    """List sessions (upcoming ones unless --all)."""
    db = database(settings())
    with db.session() as s:
        centres = {c.id: c for c in q.list_centres(s)}
        centre_id = None
        if centre is not None:
            found = q.centre_by_slug(s, centre)
            if found is None:
                fail(f"no centre with slug {centre!r}")
            centre_id = found.id
        views = q.list_sessions(s, centre_id=centre_id, since=None if all_ else SystemClock().now())
    table = Table("id", "centre", "starts (local)", "min", "title", "booked", "status")
    for view in views:
        sess = view.session
        where = centres.get(sess.centre_id)
        zone = ZoneInfo(where.timezone if where else "UTC")
        status = "cancelled" if sess.cancelled_at else ""
        table.add_row(
            str(sess.id),
            where.slug if where else "?",
            f"{sess.starts_at.astimezone(zone):%Y-%m-%d %H:%M}",
            str(sess.minutes),
            sess.title,
            f"{view.taken}/{sess.capacity}",
            status,
        )
    out.print(table)


@session_cli.command("move")
def session_move(
    session_id: Annotated[int, typer.Argument(help="Session id")],
    starts: Annotated[str, typer.Option(help='New local time, "YYYY-MM-DD HH:MM"')],
) -> None:
    """Move a session; everyone booked or waiting is told, and reminders follow the new time."""
    db = database(settings())
    with db.session() as s:
        view = q.session_view(s, session_id)
        if view is None:
            fail(f"no session {session_id}")
        centre = q.centre_by_id(s, view.session.centre_id)
        zone = ZoneInfo(centre.timezone if centre else "UTC")
        try:
            local = datetime.strptime(starts.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            fail('--starts must look like "2026-12-01 10:00"')
        now = SystemClock().now()
        starts_at = local.replace(tzinfo=zone)
        if starts_at <= now:
            fail("that time has already passed")
        told = q.move_session(s, session_id, starts_at, now)
    if told is None:
        fail(f"session {session_id} is cancelled or over and cannot be moved")
    out.print(f"session {session_id} moved to {local:%a %d %b %H:%M}; {told} people will be told")


@session_cli.command("cancel")
def session_cancel(session_id: Annotated[int, typer.Argument(help="Session id")]) -> None:
    """Cancel a session; everyone booked or waiting is told in their language."""
    db = database(settings())
    with db.session() as s:
        told = q.cancel_session(s, session_id, SystemClock().now())
    if told is None:
        fail(f"no session {session_id}, or it is cancelled already")
    out.print(
        f"session {session_id} cancelled; {told} people will be told "
        "(the running bot sends the messages)"
    )


@cli.command()
def stats(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (UTC); default this month")] = None,
) -> None:
    """This month's figures: Viber messages (replies, bot-initiated, the cap) and bookings."""
    config = settings()
    db = database(config)
    now = SystemClock().now()
    month = month or month_of(now)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        fail("--month must look like 2026-12")
    with db.session() as s:
        usage = q.usage(s, "viber", month)
        people = q.count_people(s)
    cap = config.viber_monthly_proactive_cap
    table = Table("month", "what", "count")
    table.add_row(
        month, "Viber replies (free, within 24 h of the person writing)", str(usage.replies)
    )
    table.add_row(month, "Viber bot-initiated (billed)", str(usage.bot_initiated))
    table.add_row(month, "Viber bot-initiated cap", "none" if cap is None else str(cap))
    table.add_row(month, "Viber cap used (incl. failed sends)", str(usage.reserved))
    for status, count in sorted(usage.by_billing_status.items(), key=lambda kv: str(kv[0])):
        table.add_row(month, f"Viber billing_status {status}", str(count))
    table.add_row("now", "people who agreed", str(people))
    out.print(table)


def main() -> None:
    cli()
