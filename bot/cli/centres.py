"""``workshopbot centre add|list``."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from telegram import Bot
from telegram.error import TelegramError

from bot.cli.common import (
    database,
    fail,
    redact,
    refused,
    settings,
    telegram_durations_as_timedelta,
)
from bot.settings import Settings
from bot.startup import make_clock
from flows import rules
from storage import queries as q
from storage.db import Database
from storage.models import CentreKind

log = logging.getLogger(__name__)
cli = typer.Typer(help="Centres (asylum and reception centres).", no_args_is_help=True)


@cli.command("add")
def add(
    slug: Annotated[str, typer.Option(help="Short name for links: a-z, 0-9 and inner hyphens")],
    name: Annotated[str, typer.Option(help="The centre's name as residents know it")],
    kind: Annotated[CentreKind, typer.Option(help="asylum or reception")] = CentreKind.ASYLUM,
    contact: Annotated[str | None, typer.Option(help="Phone or office hours for residents")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone, default TIMEZONE")] = None,
) -> None:
    """Add a centre, and show the link that brings residents to it."""
    config = settings()
    db = database(config)
    now = make_clock().now()
    try:
        with db.session() as s:
            centre = rules.add_centre(
                s,
                now,
                slug=slug,
                name=name,
                kind=kind.value,
                timezone=timezone or config.timezone,
                contact=contact,
            )
    except rules.Refusal as refusal:
        refused(refusal)
    typer.echo(f"added centre {centre.id}: {centre.name} ({centre.slug})")
    username = telegram_username(config, db)
    if username is None:
        typer.echo(
            "Telegram link: set TELEGRAM_BOT_TOKEN, or run the bot once, to see the link; it is "
            f"https://t.me/<bot username>?start={centre.slug}"
        )
    else:
        typer.echo(f"Telegram link: https://t.me/{username}?start={centre.slug}")


@cli.command("help")
def set_help(
    slug: Annotated[str, typer.Argument(help="The centre's slug")],
    contact: Annotated[
        str | None, typer.Option(help='Phone or office hours of the staff ("" removes it)')
    ] = None,
    psychologist: Annotated[
        str | None,
        typer.Option(help='When and where the psychologist can be seen ("" removes it)'),
    ] = None,
) -> None:
    """Set what residents read in help about their centre: its contact and the
    psychologist's hours."""
    config = settings()
    db = database(config)
    changed = [name for name, value in (("contact", contact), ("psychologist", psychologist))
               if value is not None]  # fmt: skip
    if not changed:
        fail("nothing to change: give --contact and/or --psychologist")
    now = make_clock().now()
    try:
        with db.session() as s:
            found = rules.centre(s, slug)
            rules.set_centre_help(s, found, contact=contact, psychologist=psychologist)
            q.audit(
                s, now=now, actor="cli", role="operator", action="centre help set",
                centre_id=found.id, detail=", ".join(changed),
            )  # fmt: skip
            typer.echo(f"{found.name}: contact {found.contact or '-'}; "
                       f"psychologist {found.psychologist or '-'}")  # fmt: skip
    except rules.Refusal as refusal:
        refused(refusal)


@cli.command("name")
def set_name(
    slug: Annotated[str, typer.Argument(help="The centre's slug")],
    in_: Annotated[
        str, typer.Option("--in", help="A script (Cyrl, Arab, Latn) or a language code (fa)")
    ],
    name: Annotated[str, typer.Argument(help='The name written that way ("" removes it)')],
) -> None:
    """Give the centre's name in another script or language: residents who read it see
    that name (a language's own version wins over its script's)."""
    db = database(settings())
    now = make_clock().now()
    try:
        with db.session() as s:
            found = rules.set_centre_name(s, rules.centre(s, slug), in_, name)
            q.audit(
                s, now=now, actor="cli", role="operator", action="centre name set",
                centre_id=found.id, detail=in_,
            )  # fmt: skip
            typer.echo(f"{found.name}: {found.names}")
    except rules.Refusal as refusal:
        refused(refusal)


def telegram_username(config: Settings, db: Database) -> str | None:
    """The bot's username: remembered, or asked of Telegram once (getMe) and remembered."""
    with db.session() as s:
        known = q.remembered_username(s, "telegram")
    if known is not None or config.telegram_bot_token is None:
        return known
    telegram_durations_as_timedelta()
    token = config.telegram_bot_token.get_secret_value()
    try:
        username = asyncio.run(_get_me(token, config.telegram_api_url))
    except (TelegramError, OSError) as error:  # a wrong token, no network: the link can wait
        typer.echo(
            f"workshopbot: could not ask Telegram for the bot's name: {redact(str(error))}",
            err=True,
        )
        return None
    with db.session() as s:
        q.remember_username(s, "telegram", username, make_clock().now())
    return username


async def _get_me(token: str, api_url: str) -> str:
    async with Bot(token, base_url=f"{api_url}/bot") as bot:  # initialising calls getMe
        return bot.username


@cli.command("list")
def list_() -> None:
    """List centres."""
    db = database(settings())
    with db.session() as s:
        centres = rules.list_centres(s)
    table = Table("id", "slug", "name", "kind", "time zone", "contact", "psychologist")
    for c in centres:
        table.add_row(
            str(c.id), c.slug, c.name, c.kind, c.timezone, c.contact or "", c.psychologist or ""
        )
    Console().print(table)
