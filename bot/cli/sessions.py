"""``workshopbot session add|list|move|cancel``: options in, the rules of flows/rules.py
applied, one line out."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from bot.app import make_clock
from bot.cli.common import database, english, people, refused, settings, when
from flows import rules

cli = typer.Typer(help="Workshop sessions.", no_args_is_help=True)
Starts = Annotated[str, typer.Option(help='Local time at the centre, "YYYY-MM-DD HH:MM"')]
SessionId = Annotated[int, typer.Argument(help="Session id")]


def _say(line: str, note: rules.Message | None = None) -> None:
    typer.echo(line)
    if note is not None:
        typer.echo(f"note: {note.text(english())}")


@cli.command("add")
def add(
    centre: Annotated[str, typer.Option(help="Centre slug")],
    title: Annotated[str, typer.Option(help="What residents will see")],
    starts: Starts,
    capacity: Annotated[int, typer.Option(help="Seats, 1 to 500")],
    minutes: Annotated[int, typer.Option(help="5 to 600")] = 90,
    languages: Annotated[str, typer.Option(help="Spoken there, e.g. ar,fa")] = "",
    place: Annotated[str | None, typer.Option(help="Room or place")] = None,
) -> None:
    """Add a workshop session."""
    db = database(settings())
    now = make_clock().now()
    try:
        with db.session() as s:
            added = rules.add_session(
                s,
                now,
                centre_slug=centre,
                title=title,
                starts=starts,
                minutes=minutes,
                capacity=capacity,
                languages=languages,
                place=place,
            )
    except rules.Refusal as refusal:
        refused(refusal)
    session, where = added.session, added.centre
    _say(
        f"added session {session.id}: {session.title} at {where.name}, "
        f"{when(session.starts_at, where.timezone, now)}",
        added.note,
    )


@cli.command("list")
def list_(
    centre: Annotated[str | None, typer.Option(help="Only this centre (slug)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include past sessions")] = False,
) -> None:
    """List sessions (upcoming ones unless --all)."""
    db = database(settings())
    try:
        with db.session() as s:
            rows = rules.list_sessions(s, make_clock().now(), centre_slug=centre, past=all_)
    except rules.Refusal as refusal:
        refused(refusal)
    table = Table("id", "centre", "starts (local)", "min", "title", "booked", "status")
    for row in rows:
        session = row.session
        local = session.starts_at.astimezone(ZoneInfo(row.centre.timezone))
        table.add_row(
            str(session.id),
            row.centre.slug,
            f"{local:%Y-%m-%d %H:%M}",
            str(session.minutes),
            session.title,
            f"{row.taken}/{session.capacity}",
            "cancelled" if session.cancelled_at else "",
        )
    Console().print(table)


@cli.command("move")
def move(session_id: SessionId, starts: Starts) -> None:
    """Move a session; everyone booked or waiting is told, and reminders follow the new time."""
    db = database(settings())
    now = make_clock().now()
    try:
        with db.session() as s:
            moved = rules.move_session(s, now, session_id, starts)
    except rules.Refusal as refusal:
        refused(refusal)
    _say(
        f"session {session_id} moved to "
        f"{when(moved.session.starts_at, moved.centre.timezone, now)}; "
        f"{people(moved.told)} will be told",
        moved.note,
    )


@cli.command("cancel")
def cancel(session_id: SessionId) -> None:
    """Cancel a session; everyone booked or waiting is told in their language."""
    db = database(settings())
    try:
        with db.session() as s:
            cancelled = rules.cancel_session(s, make_clock().now(), session_id)
    except rules.Refusal as refusal:
        refused(refusal)
    _say(
        f"session {session_id} cancelled; {people(cancelled.told)} will be told "
        "(the running bot sends the messages)"
    )
