"""What every command shares: settings, one-line failures, the database (after the key),
logging, and how times and refusals are shown to the operator (in English)."""

from __future__ import annotations

import functools
import gettext
import os
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from bot.cli.logs import Redactor, setup_logging
from bot.keys import KeySetupError, data_secret
from bot.settings import Settings, describe_error
from bot.startup import StartupError, open_database
from flows import names
from flows.i18n import DEFAULT_LOCALE, Catalogs, Translator
from flows.names import Kinds
from flows.rules import Refusal
from storage.db import Database
from storage.identity import KeyError_, Vault

# Every line this process prints or logs goes through it; the configured secrets join it as
# soon as the settings are read.
redact = Redactor()


def fail(message: str) -> NoReturn:
    """Stop with one line on stderr and exit status 2."""
    typer.echo(f"workshopbot: {redact(message)}", err=True)
    raise typer.Exit(2)


def refused(refusal: Refusal) -> NoReturn:
    fail(refusal.text(english()))


@functools.cache
def english() -> Translator:
    """The operator's language: the msgids themselves."""
    return Translator(DEFAULT_LOCALE, gettext.NullTranslations())


def kinds(config: Settings) -> Kinds:
    """What recognises a known kind of workshop in a title, from the catalogs."""
    return names.kinds(Catalogs.load(config.locales_dir))


def settings() -> Settings:
    try:
        config = Settings()
    except ValidationError as error:
        fail(f"configuration error: {describe_error(error)}")
    password = make_url(config.database).password
    redact.add(
        secret.get_secret_value() if secret is not None else None
        for secret in (
            config.telegram_bot_token,
            config.viber_auth_token,
            config.data_key,
            config.telegram_webhook_secret,
        )
    )
    redact.add([str(password) if password else None])
    return config


def logging_for(config: Settings, *, quiet: bool = False) -> None:
    """Log to stderr with secrets removed; ``quiet`` (the terminal chat) shows only problems."""
    level = config.log_level.upper()
    if quiet and level not in ("DEBUG", "ERROR", "CRITICAL"):
        level = "WARNING"
    setup_logging(level, redact)


def check_key(config: Settings) -> None:
    """Refuse a missing or unusable data key before anything touches the database."""
    try:
        Vault(data_secret(config))
    except (KeySetupError, KeyError_) as error:
        fail(str(error))


def database(config: Settings, *, upgrade: bool | None = None) -> Database:
    """The configured database, once the data key is known to be usable."""
    check_key(config)
    try:
        return open_database(config, upgrade=upgrade)
    except StartupError as error:
        fail(str(error))


def telegram_durations_as_timedelta() -> None:
    # python-telegram-bot reads this when it builds durations (a RetryAfter, a voice note's
    # length) and warns on every one without it. It is process-wide, so the entry point, not
    # the library code, opts in; an operator's own setting wins.
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def when(moment: datetime, zone: str, now: datetime) -> str:
    """ "Wed 1 Dec 10:00" at the centre; with the year when it is not this year's."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    year = f" {local.year}" if local.year != now.astimezone(tz).year else ""
    return f"{local:%a} {local.day} {local:%b}{year} {local:%H:%M}"


def people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"
