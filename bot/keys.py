"""Where the data key comes from: ``DATA_KEY``, or a key file the embedded default creates."""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import Settings
from storage.identity import MIN_SECRET_LENGTH, new_secret


class KeySetupError(RuntimeError):
    pass


def data_secret(settings: Settings) -> str:
    """The secret behind every key; raises :class:`KeySetupError` (never showing the secret)
    when there is none to be had or the key file holds something unusable."""
    if settings.data_key is not None:
        return settings.data_key.get_secret_value()
    if not settings.embedded:
        raise KeySetupError("DATA_KEY must be set when DATABASE_URL is not the embedded SQLite")
    return _key_file(settings.key_file)


def _key_file(path: Path) -> str:
    if path.exists():
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            secret = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or "not a text file"
            raise KeySetupError(f"cannot read the key file {path}: {reason}") from None
        if len(secret) < MIN_SECRET_LENGTH:
            raise KeySetupError(
                f"the key file {path} holds no usable key (at least {MIN_SECRET_LENGTH} "
                "characters): restore it from the backup made with the database"
            )
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    # Owner-only from the first byte: create with O_EXCL and mode 0600.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret
