"""What every process needs before anything else, kept light: the database (migrated when it is
the embedded one) and the clock. ``bot.app`` builds the rest; the commands that only read the
database (``stats``, ``export``) import this and not the bot's network stack."""

from __future__ import annotations

from bot.settings import Settings
from flows.clock import Clock, SystemClock
from storage import migrate
from storage.db import Database


class StartupError(RuntimeError):
    """A problem an operator must fix; reported as one line, without a traceback."""


def open_database(settings: Settings, *, upgrade: bool | None = None) -> Database:
    """The configured database, migrated if it is the embedded one (or when asked)."""
    database = Database(settings.database)
    if not database.ping():
        raise StartupError(f"cannot connect to the database ({_safe_url(database.url)})")
    if upgrade if upgrade is not None else settings.embedded:
        migrate.upgrade_if_behind(database)
    elif not migrate.is_current(database):
        raise StartupError("the database schema is not up to date: run `workshopbot db upgrade`")
    return database


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_clock() -> Clock:
    """The clock of the running bot and of every command (tests pass a FakeClock instead)."""
    return SystemClock()
