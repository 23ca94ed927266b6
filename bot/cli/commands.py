"""Every command, in one place: the ``workshopbot`` Typer application."""

from __future__ import annotations

import typer

from bot.cli import broadcast, centres, database, poster, serve, sessions, staff, stats

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
cli.command()(stats.export)
cli.add_typer(database.cli, name="db")
cli.add_typer(centres.cli, name="centre")
cli.add_typer(sessions.cli, name="session")
cli.command()(staff.invite)
cli.add_typer(staff.cli, name="staff")
cli.command()(staff.audit)
cli.command()(broadcast.broadcast)
cli.command()(poster.poster)
