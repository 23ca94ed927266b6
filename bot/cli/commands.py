"""Every command, in one place: the ``workshopbot`` Typer application.

The commands that only read the database (``stats``, ``export``) are also served by a small
application of their own, which does not load the bot's network stack (python-telegram-bot,
httpx, uvicorn): run as ``workshopbot export ...``, it starts in about a third of the time
and memory (see ``bench/README.md``). Both are built from the same functions, so they behave
the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer

HELP = "Workshop sign-ups, reminders and feedback over Telegram and Viber."
READING = frozenset({"stats", "export"})


def _typer() -> typer.Typer:
    return typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)


def reading_cli() -> typer.Typer:
    """``stats`` and ``export`` alone."""
    from bot.cli import stats

    cli = _typer()
    cli.command()(stats.stats)
    cli.command()(stats.export)
    return cli


def full_cli() -> typer.Typer:
    from bot.cli import broadcast, centres, database, i18n, poster, serve, sessions, staff, stats

    cli = _typer()
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
    cli.add_typer(i18n.cli, name="i18n")
    return cli


def cli_for(argv: Sequence[str]) -> typer.Typer:
    """The application for this command line: the small one when it names a reading command."""
    return reading_cli() if argv and argv[0] in READING else full_cli()
