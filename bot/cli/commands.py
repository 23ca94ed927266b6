"""Every command, in one place: the ``workshopbot`` Typer application."""

from __future__ import annotations

import typer

from bot.cli import centres, database, serve, sessions, stats

cli = typer.Typer(
    help="Workshop sign-ups, reminders and feedback over Telegram and Viber.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.command()(serve.run)
cli.command()(serve.scheduler)
cli.command()(serve.chat)
cli.command()(serve.demo)
cli.command()(stats.stats)
cli.add_typer(database.cli, name="db")
cli.add_typer(centres.cli, name="centre")
cli.add_typer(sessions.cli, name="session")
