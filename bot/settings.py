"""Configuration from the environment or ``.env``. Every setting is listed in the README."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import sqlite_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder of the embedded database")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite if unset")
    data_key: SecretStr | None = Field(default=None, description="Secret for data at rest")
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_rate_limit: float = Field(default=30.0, gt=0, description="messages per second")
    chat_rate_limit: float = Field(default=1.0, gt=0, description="messages per second per chat")
    chat_burst: int = Field(default=3, ge=1)
    telegram_poll_timeout: int = Field(default=25, ge=0, le=50, description="long poll seconds")
    telegram_webhook_secret: SecretStr | None = None
    viber_auth_token: SecretStr | None = None
    viber_api_url: str = "https://chatapi.viber.com/pa"
    viber_bot_name: str = Field(default="Workshops", min_length=1, max_length=28)
    viber_avatar_url: str | None = None
    viber_rate_limit: float = Field(default=30.0, gt=0)
    viber_monthly_proactive_cap: int | None = Field(default=None, ge=0)
    # The public account's URI (viber://pa?chatURI=<this>): for centre and invitation links.
    viber_chat_uri: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    public_url: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    timezone: str = "Europe/Belgrade"
    locales_dir: Path = PROJECT_ROOT / "locales"
    poster_font: Path | None = Field(
        default=None, description="A .ttf for the printed poster; default DejaVu Sans"
    )
    notify_interval: float = Field(default=5.0, gt=0)
    reminder_offsets: str = Field(
        default="24h,1h", description="before each session, e.g. 2d,24h,90m"
    )
    feedback_delay: str = Field(default="30m", description="after a session ends")
    # Feedback totals are shown only for groups of at least this many responses (never < 3).
    feedback_min_group: int = Field(default=5, ge=3, le=100)
    # Bookings older than this become anonymous counts; people idle this long are erased.
    retention_days: int = Field(default=90, ge=7, le=3650)
    # Data files operators correct: who can help (numbers, lines) and the crisis word lists.
    help_file: Path | None = None
    distress_file: Path | None = None
    # A folder of questionnaires: default.toml and <centre slug>.toml (see flows/questionnaire).
    questionnaire_dir: Path | None = None
    reminder_sweep_seconds: float = Field(default=30.0, gt=0, le=60)
    reminder_lease: str = Field(default="2m", description="how long a claim holds without renewal")
    flow_threads: int = Field(default=2, ge=1, le=32, description="threads running conversations")
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("telegram_api_url", "viber_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        local = value.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))
        if not (value.startswith("https://") or local):
            raise ValueError("must be an https:// address (the platforms call only HTTPS)")
        return value.rstrip("/")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("use 1 to 256 of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgres")):
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        return value

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            raise ValueError("give at least one offset, e.g. 24h,1h")
        for part in parts:
            parse_duration(part)
        return ",".join(parts)

    @field_validator("feedback_delay", "reminder_lease")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value.strip()

    @property
    def offsets(self) -> list[timedelta]:
        found = {parse_duration(part) for part in self.reminder_offsets.split(",")}
        return sorted(found, reverse=True)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'workshopbot.sqlite3'}"

    @property
    def webhooks(self) -> bool:
        """True when the web server must run: Viber is configured, or a public address is set."""
        return self.viber_auth_token is not None or self.public_url is not None

    @property
    def embedded(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return sqlite_path(self.database) is not None

    @property
    def key_file(self) -> Path:
        """Where the embedded default keeps its data key: beside the database, not in it."""
        path = sqlite_path(self.database)
        folder = path.parent if path is not None else self.data_dir
        return folder / "workshopbot.key"


_DURATION = re.compile(r"^\s*(\d{1,5})\s*([dhms])\s*$")
_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}


def parse_duration(text: str) -> timedelta:
    """ "2d", "24h", "90m" as a duration; anything else is an error that names the format."""
    match = _DURATION.match(text.lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 2d, 24h or 90m")
    return int(match.group(1)) * _UNITS[match.group(2)]


def describe_error(error: Exception) -> str:
    """One line for a bad setting, naming the environment variable."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        parts = []
        for item in errors():
            name = "_".join(str(part) for part in item.get("loc", ())).upper() or "SETTINGS"
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{name}: {message}")
        return "; ".join(parts)
    return str(error)
