"""``workshopbot session add|list|move|edit|cancel``: options in, the rules of flows/rules.py
applied, one line out. Every change is written to the audit log (actor "cli", role
"operator"), as staff changes made in the chat are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from bot.cli.common import database, english, fail, kinds, people, refused, settings, when
from bot.settings import Settings
from bot.startup import make_clock
from flows import rules, staff
from storage import queries as q
from storage.models import WorkshopSession

cli = typer.Typer(help="Workshop sessions.", no_args_is_help=True)
Starts = Annotated[str, typer.Option(help='Local time at the centre, "YYYY-MM-DD HH:MM"')]
SessionId = Annotated[int, typer.Argument(help="Session id")]
OPERATOR = "operator"  # the role the audit log gives the command line


def _audit(db: Session, now: datetime, action: str, centre_id: int | None, detail: str) -> None:
    q.audit(
        db, now=now, actor=staff.CLI, role=OPERATOR, action=action, centre_id=centre_id,
        detail=detail,
    )  # fmt: skip


def _local(moment: datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


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
    """Add a workshop session (a known kind's title, like "Sewing workshop", is shown to each
    resident in their language)."""
    config = settings()
    db = database(config)
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
                kinds=kinds(config),
            )
            starts = _local(added.session.starts_at, added.centre.timezone)
            _audit(
                s, now, "session added", added.centre.id, f"session {added.session.id}: {starts}"
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
            to = _local(moved.session.starts_at, moved.centre.timezone)
            detail = f"session {session_id}: to {to}, {moved.told} told"
            _audit(s, now, "session moved", moved.centre.id, detail)
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
    now = make_clock().now()
    try:
        with db.session() as s:
            cancelled = rules.cancel_session(s, now, session_id)
            detail = f"session {session_id}: {cancelled.told} told"
            _audit(s, now, "session cancelled", cancelled.centre.id, detail)
    except rules.Refusal as refusal:
        refused(refusal)
    _say(
        f"session {session_id} cancelled; {people(cancelled.told)} will be told "
        "(the running bot sends the messages)"
    )


@cli.command("edit")
def edit(
    session_id: SessionId,
    title: Annotated[str | None, typer.Option(help="A new title")] = None,
    at: Annotated[
        str | None, typer.Option(help='A new local time, "YYYY-MM-DD HH:MM" (people are told)')
    ] = None,
    seats: Annotated[int | None, typer.Option(help="A new number of seats, 1 to 500")] = None,
    room: Annotated[str | None, typer.Option(help='A new room or place ("" removes it)')] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Fewer seats than people booked: move the last booked")
    ] = False,
) -> None:
    """Change a session: everything given at once, or nothing when one value is refused.

    Moving tells everyone booked or waiting; more seats go to the people waiting; fewer
    seats than people booked need --yes (the last to book go to the top of the waitlist)."""
    if title is None and at is None and seats is None and room is None:
        fail("nothing to change: give --title, --at, --seats or --room")
    config = settings()
    db = database(config)
    now = make_clock().now()
    done: list[str] = []
    try:
        with db.session() as s:
            done = _edit(s, now, session_id, title, at, seats, room, yes=yes, config=config)
    except rules.SeatsTaken as taken:
        fail(f"{taken.text(english())} Add --yes to do it; nothing was changed.")
    except rules.Refusal as refusal:
        refused(refusal)
    typer.echo(f"session {session_id}: " + "; ".join(done))


def _edit(
    s: Session,
    now: datetime,
    session_id: int,
    title: str | None,
    at: str | None,
    seats: int | None,
    room: str | None,
    *,
    yes: bool,
    config: Settings,
) -> list[str]:
    """Apply the changes in one transaction; what was done, one phrase each."""
    done: list[str] = []
    if title is not None or room is not None:
        found = kinds(config) if title is not None else None
        edited = rules.edit_session(s, now, session_id, title=title, place=room, kinds=found)
        what = " and ".join(
            name for name, value in (("title", title), ("room", room)) if value is not None
        )
        _audit(s, now, "session edited", edited.centre.id, f"session {session_id}: {what}")
        done.append(f"{what} changed")
    if at is not None:
        done += _move(s, now, session_id, at)
    if seats is not None:
        done.append(_seats(s, now, session_id, seats, yes=yes))
    return done


def _move(s: Session, now: datetime, session_id: int, at: str) -> list[str]:
    moved = rules.move_session(s, now, session_id, at)
    starts, zone = moved.session.starts_at, moved.centre.timezone
    detail = f"session {session_id}: to {_local(starts, zone)}, {moved.told} told"
    _audit(s, now, "session moved", moved.centre.id, detail)
    done = [f"moved to {when(starts, zone, now)}, {people(moved.told)} will be told"]
    if moved.note is not None:
        done.append(f"note: {moved.note.text(english())}")
    return done


def _seats(s: Session, now: datetime, session_id: int, seats: int, *, yes: bool) -> str:
    changed = rules.set_capacity(s, now, session_id, seats, demote=yes)
    detail = f"session {session_id}: {seats} seats"
    if changed.promoted or changed.demoted:
        detail += f", {changed.promoted} from the waitlist, {changed.demoted} back to it"
    _audit(s, now, "seats changed", changed.centre.id, detail)
    line = f"{seats} seats"
    if changed.promoted:
        line += f", {people(changed.promoted)} given a seat from the waitlist (told)"
    if changed.demoted:
        line += f", {people(changed.demoted)} moved to the top of the waitlist (told)"
    return line


@cli.command("title")
def title_in(
    session_id: SessionId,
    lang: Annotated[str, typer.Option(help="The language code, e.g. fa")],
    title: Annotated[str, typer.Argument(help='The title in that language ("" removes it)')],
) -> None:
    """Give a session's title in one language: residents who read it see that title."""
    _set_version(
        session_id, f"title ({lang})", rules.set_title_version, lang, title.strip() or None
    )


@cli.command("place")
def place_in(
    session_id: SessionId,
    in_: Annotated[
        str, typer.Option("--in", help="A script (Cyrl, Arab, Latn) or a language code (fa)")
    ],
    place: Annotated[str, typer.Argument(help='The place written that way ("" removes it)')],
) -> None:
    """Give a session's room or place in another script or language."""
    _set_version(session_id, f"place ({in_})", rules.set_place_version, in_, place)


def _set_version(
    session_id: int,
    what: str,
    setter: Callable[[Session, datetime, int, str, Any], WorkshopSession],
    key: str,
    text: str | None,
) -> None:
    db = database(settings())
    now = make_clock().now()
    try:
        with db.session() as s:
            session = setter(s, now, session_id, key, text)
            _audit(s, now, "session edited", session.centre_id, f"session {session_id}: {what}")
    except rules.Refusal as refusal:
        refused(refusal)
    typer.echo(f"session {session_id}: {what} {'set' if text and text.strip() else 'removed'}")
