"""Where the data key comes from: ``DATA_KEY``, or a key file the embedded default creates."""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import Settings
from storage.identity import new_secret


class KeySetupError(RuntimeError):
    pass


def data_secret(settings: Settings) -> str:
    if settings.data_key is not None:
        return settings.data_key.get_secret_value()
    if not settings.embedded:
        raise KeySetupError("DATA_KEY must be set when DATABASE_URL is not the embedded SQLite")
    return _key_file(settings.key_file)


def _key_file(path: Path) -> str:
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    # Owner-only from the first byte: create with O_EXCL and mode 0600.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret
