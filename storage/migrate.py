"""Schema migrations with Alembic, driven from code (``workshopbot db upgrade``).

Every process checks the schema when it opens the database. Alembic costs about a quarter of
a second to load and to read its scripts, which a short command (``workshopbot export``) would
pay each time for nothing: so the newest revision is also written here (``HEAD``; a test
checks it against the scripts), and Alembic is loaded only when the database is behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "5e2d9a417c30"  # the newest revision in migrations/versions (tests/test_cli.py checks)
VERSION_TABLE = "alembic_version"


def _config(db: Database) -> Config:
    config = _config_for_scripts()
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    config = _config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_if_behind(db: Database) -> None:
    """Upgrade to the newest revision, loading Alembic only if the database is not there."""
    if not is_current(db):
        upgrade(db)


def revision(db: Database, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    from alembic import command

    config = _config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def current(db: Database) -> str | None:
    """The database's revision (None for an empty database), read as Alembic keeps it."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return str(found[0][0]) if len(found) == 1 else None


def head() -> str | None:
    """The newest revision, as the scripts say (``HEAD`` must be the same)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config_for_scripts()).get_current_head()


def is_current(db: Database) -> bool:
    return current(db) == HEAD


def _config_for_scripts() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
