"""``workshopbot poster``: the printable sign-up poster of a centre."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.centres import telegram_username
from bot.cli.common import database, fail, settings
from flows.i18n import CatalogError, Catalogs
from flows.links import Links
from storage import queries as q

if TYPE_CHECKING:
    from bot.poster import Poster

DPI_HELP = "Resolution, 100 to 300 dots per inch"


def poster(
    centre: Annotated[str, typer.Option(help="The centre's slug (see `workshopbot centre list`)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .pdf or .png")],
    lang: Annotated[
        list[str] | None,
        typer.Option(help="A language on the poster (repeat); default: the centre's own"),
    ] = None,
    dpi: Annotated[int, typer.Option(help=DPI_HELP)] = 200,
) -> None:
    """Render a centre's poster (A4, PDF or PNG): QR codes of its Telegram and Viber links
    and "Scan to sign up for workshops" in the languages its residents read."""
    from bot import poster as posters  # Pillow and segno load only for this command

    config = settings()
    try:
        kind = posters.kind_of(output)
        catalogs = Catalogs.load(config.locales_dir)
        fonts = posters.Fonts.find(config.poster_font)
    except (posters.PosterError, CatalogError) as error:
        fail(str(error))
    db = database(config)
    links = Links(telegram_username(config, db), config.viber_chat_uri)
    with db.session() as s:
        found = q.centre_by_slug(s, centre)
        if found is None:
            fail(f"no centre {centre!r} (see `workshopbot centre list`)")
        try:
            content = posters.centre_poster(
                s, found, links=links, catalogs=catalogs, fonts=fonts, wanted=lang or ()
            )
        except posters.PosterError as error:
            fail(str(error))
    try:
        rendered = posters.render(content, fonts, dpi=dpi)
        data = posters.encode(rendered, kind)
    except posters.PosterError as error:
        fail(str(error))
    try:
        output.write_bytes(data)
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    typer.echo(f"wrote {output} ({len(data) // 1024} kB): A4 at {dpi} dpi, {content.title}")
    _describe(content, links, rendered.notes)


def _describe(content: Poster, links: Links, notes: bool) -> None:
    """What is on the page, and what is not and why (in the operator's English)."""
    for platform, link in content.codes:
        typer.echo(f"{platform} QR code: {link}")
    if links.telegram_username is None:
        typer.echo(
            "no Telegram QR code: the bot's username is not known "
            "(set TELEGRAM_BOT_TOKEN, or run the bot once)"
        )
    if links.viber_uri is None:
        typer.echo("no Viber QR code: set VIBER_CHAT_URI to add one")
    typer.echo("languages: " + ", ".join(line.locale for line in content.lines))
    for code, why in content.left_out:
        typer.echo(f"left out {code}: {why}")
    if not notes:
        typer.echo('the line "Free and voluntary. No names are kept." did not fit: left out')
