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


@cli.command("retention")
def keep_little() -> None:
    """Run the retention job now (the bot runs it daily): old bookings become anonymous
    counts, people idle for RETENTION_DAYS are erased, old delivery and ledger rows, reports
    and audit entries go."""
    from bot.startup import make_clock
    from flows import retention

    config = settings()
    done = retention.run(
        database(config), make_clock(), retention.Policy(days=config.retention_days)
    )
    typer.echo(f"retention ({config.retention_days} days): {done}")
