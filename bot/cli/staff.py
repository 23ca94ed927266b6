"""Staff from the command line: invitations, the staff list, revoking, the audit log."""

from __future__ import annotations

import typer

cli = typer.Typer(help="Staff accounts: list and revoke.", no_args_is_help=True)


def invite() -> None:
    """Make a one-time invitation for a staff member, coordinator or admin."""
    raise NotImplementedError


def audit() -> None:
    """Print the audit log of staff actions."""
    raise NotImplementedError
