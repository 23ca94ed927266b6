"""The ``workshopbot`` command: run the bot, chat in a terminal, and manage centres and
sessions (the commands are listed in :mod:`bot.cli.commands`).

Operator messages here are English; everything a resident reads goes through the catalogs.
Every mistake an operator can make ends in one ``workshopbot: ...`` line on stderr.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Any, Protocol, TypeGuard

PROG = "workshopbot"
USAGE_ERROR = 2  # Click's status for a wrong command line


def main(argv: Sequence[str] | None = None) -> None:
    """Run one command and exit: 0 when it succeeded, 2 for an operator's mistake (a wrong
    option, setting or value), 130 when interrupted."""
    try:
        # Imported here, so a Ctrl-C while the libraries load ends quietly too.
        import typer
        import typer.main

        from bot.cli.commands import cli_for
        from bot.cli.common import redact

        args = list(sys.argv[1:] if argv is None else argv)
        command = typer.main.get_command(cli_for(args))
    except KeyboardInterrupt:
        sys.exit(130)
    try:
        # Not standalone: Click would draw its errors in a Rich box; here they are one line.
        code = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as error:
        if _is_click_error(error):
            sys.exit(_report(error))
        # A bug: its traceback is wanted, but without a secret in it.
        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


class _ClickError(Protocol):
    exit_code: int
    ctx: Any

    def format_message(self) -> str: ...


def _is_click_error(error: Exception) -> TypeGuard[_ClickError]:
    # Click's exceptions (vendored inside Typer since 0.2x, so recognised by their shape).
    return callable(getattr(error, "format_message", None)) and hasattr(error, "exit_code")


def _report(error: _ClickError) -> int:
    """One line for a Click error; returns the exit status."""
    code = int(error.exit_code)
    if type(error).__name__ == "NoArgsIsHelpError":
        return code  # the help has been shown: that is the answer to no arguments
    message = " ".join(str(error.format_message()).split())
    ctx = getattr(error, "ctx", None)
    if code == USAGE_ERROR and ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    print(f"{PROG}: {message}", file=sys.stderr)
    return code
