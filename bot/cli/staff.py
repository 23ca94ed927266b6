"""Staff from the command line: invitations, the staff list, revoking, the audit log.

Staff are named only by their opaque ``ref``; there is no name or number to show. Times are
shown in the operator's ``TIMEZONE``. Everything that changes something is audited with the
actor "cli" and the role "operator".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from bot.app import check_key
from bot.cli.centres import telegram_username
from bot.cli.common import database, fail, refused, settings, when
from bot.keys import data_secret
from bot.settings import Settings, parse_duration
from bot.startup import StartupError, make_clock
from flows import rules
from flows import staff as staffing
from flows.links import Links
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Centre, Role

cli = typer.Typer(help="Staff accounts: list and revoke.", no_args_is_help=True)

OPERATOR = "operator"  # the role the audit log gives the command line
SHORTEST = timedelta(hours=1)
LONGEST = timedelta(days=30)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

CentreSlug = Annotated[str | None, typer.Option("--centre", help="Centre slug")]


def invite(
    role: Annotated[
        Role,
        typer.Option(
            help="staff (one centre), coordinator, admin, or focal (a protection focal point: "
            "receives abuse reports for one centre, or with no --centre for every centre "
            "without its own)"
        ),
    ],
    centre: Annotated[
        str | None,
        typer.Option("--centre", help="Centre slug (staff: needed; focal: optional)"),
    ] = None,
    expires: Annotated[str, typer.Option(help="How long it works: 1h to 30d")] = "7d",
) -> None:
    """Make a one-time invitation for a staff member, coordinator, admin or protection
    focal point."""
    config = settings()
    if role == Role.STAFF and centre is None:
        fail("--centre is needed for a staff invitation (staff work at one centre)")
    if role not in (Role.STAFF, Role.FOCAL) and centre is not None:
        fail("--centre is only for staff: coordinators and admins work across all centres")
    lasts = _lifetime(expires)
    db = database(config)
    vault = _vault(config, db)
    now = make_clock().now()
    with db.session() as s:
        found = _centre(s, centre)
        centre_id = found.id if found else None
        where = f" at {found.name} ({found.slug})" if found else " for all centres"
        code = staffing.make_invite(
            s, vault, role=role, centre_id=centre_id, created_by=staffing.CLI, now=now,
            days=lasts / timedelta(days=1),
        )  # fmt: skip
        q.audit(
            s, now=now, actor=staffing.CLI, role=OPERATOR, action="invite created",
            centre_id=centre_id, detail=f"role {role}, expires in {expires.strip()}",
        )  # fmt: skip
    typer.echo(f"invitation for {role}{where}; it works once")
    typer.echo(f"code: {code}")
    typer.echo(f"expires: {when(now + lasts, config.timezone, now)} ({config.timezone})")
    for line in _link_lines(config, db, staffing.INVITE_PREFIX + code):
        typer.echo(line)


def _lifetime(text: str) -> timedelta:
    try:
        lasts = parse_duration(text)
    except ValueError as error:
        fail(f"--expires: {error}")
    if not SHORTEST <= lasts <= LONGEST:
        fail(f"--expires must be between 1h and 30d, not {text.strip()}")
    return lasts


def _vault(config: Settings, db: Database) -> Vault:
    """The data key, checked against the database: a code hashed with another key than the
    bot's would never open."""
    vault = Vault(data_secret(config))
    try:
        check_key(db, vault)
    except StartupError as error:
        fail(str(error))
    return vault


def _centre(s: Session, slug: str | None) -> Centre | None:
    if slug is None:
        return None
    try:
        return rules.centre(s, slug)
    except rules.Refusal as refusal:
        refused(refusal)


def _centre_id(s: Session, slug: str | None) -> int | None:
    found = _centre(s, slug)
    return found.id if found else None


def _link_lines(config: Settings, db: Database, payload: str) -> list[str]:
    """The invitation's links, or how to get the one that cannot be shown yet."""
    links = Links(telegram_username(config, db), config.viber_chat_uri)
    telegram, viber = links.telegram(payload), links.viber(payload)
    return [
        f"Telegram link: {telegram}"
        if telegram
        else "Telegram link: set TELEGRAM_BOT_TOKEN, or run the bot once, to see the link; it "
        f"is https://t.me/<bot username>?start={payload}",
        f"Viber link: {viber}"
        if viber
        else "Viber link: set VIBER_CHAT_URI (the bot's URI, from the Viber admin panel) to "
        f"see the link; it is viber://pa?chatURI=<uri>&context={payload}",
    ]


@cli.command("list")
def list_(
    centre: CentreSlug = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked staff")] = False,
) -> None:
    """List staff: their anonymous ref, role, centre, chat platform, since when."""
    config = settings()
    db = database(config)
    with db.session() as s:
        members = q.list_members(s, _centre_id(s, centre), revoked=all_)
    zone = ZoneInfo(config.timezone)
    table = Table("ref", "role", "centre", "channel", "since", "revoked")
    for row in members:
        member = row.member
        revoked = member.revoked_at
        table.add_row(
            member.ref,
            member.role,
            row.centre_slug or "all",
            row.channel,
            _local(member.created_at, zone),
            _local(revoked, zone) if revoked else "",
        )
    Console().print(table)


@cli.command("revoke")
def revoke(
    ref: Annotated[str, typer.Argument(help="The staff member's ref (see staff list)")],
) -> None:
    """Take a staff role away at once: their next staff action is refused."""
    config = settings()
    db = database(config)
    now = make_clock().now()
    with db.session() as s:
        member = q.revoke_member(s, ref.strip(), now)
        if member is None:
            known = q.member_by_ref(s, ref.strip())
            if known is None or known.revoked_at is None:  # (None: it is not there)
                fail(f"there is no staff member {ref!r} (see `workshopbot staff list`)")
            since = when(known.revoked_at, config.timezone, now)
            fail(f"staff member {known.ref} was revoked already, {since}")
        q.audit(
            s, now=now, actor=staffing.CLI, role=OPERATOR, action="staff revoked",
            centre_id=member.centre_id, detail=f"staff {member.ref}, role {member.role}",
        )  # fmt: skip
        role = member.role
    typer.echo(f"revoked {ref.strip()} ({role}); their next staff action is refused")


def audit(
    centre: CentreSlug = None,
    since: Annotated[
        str | None, typer.Option(help="How far back: a duration (7d, 24h) or a day (2026-11-01)")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, the newest", min=1)] = 200,
) -> None:
    """Print the audit log of staff actions (oldest first)."""
    config = settings()
    zone = ZoneInfo(config.timezone)
    start = _since(since, zone) if since is not None else None
    db = database(config)
    with db.session() as s:
        centre_id = _centre_id(s, centre)
        entries = q.audit_entries(s, centre_id=centre_id, since=start, limit=limit)
        slugs = {c.id: c.slug for c in q.list_centres(s)}
    # Plain columns, one entry a line: read in a terminal, searched with grep.
    typer.echo(f"{'time':<16}  {'actor':<8}  {'role':<11}  {'action':<20}  {'centre':<12}  detail")
    for entry in entries:
        place = (
            "-" if entry.centre_id is None else slugs.get(entry.centre_id, f"#{entry.centre_id}")
        )
        typer.echo(
            f"{_local(entry.at, zone):<16}  {entry.actor:<8}  {entry.role:<11}  "
            f"{entry.action:<20}  {place:<12}  {entry.detail}".rstrip()
        )
    if not entries:
        typer.echo("(no entries)")


def _since(text: str, zone: ZoneInfo) -> datetime:
    """A duration back from now, or the start of a day in the operator's time zone."""
    text = text.strip()
    if _DAY.match(text):
        try:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=zone)
        except ValueError:
            fail(f"--since: {text} is not a day")
    try:
        return make_clock().now() - parse_duration(text)
    except ValueError:
        fail(f"--since must be a duration like 7d or 24h, or a day like 2026-11-01, not {text!r}")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"
