"""``workshopbot db upgrade``."""

from __future__ import annotations

import typer

from bot.cli.common import database, settings
from storage import migrate

cli = typer.Typer(help="The database.", no_args_is_help=True)


@cli.command("upgrade")
def upgrade() -> None:
    """Create or migrate the tables to the current version (the data key must be set)."""
    db = database(settings(), upgrade=True)
    typer.echo(f"database is at revision {migrate.current(db)}")
