"""How a platform account becomes a row without the database learning who it is.

A person is looked up by an HMAC of channel and platform id, and the platform id needed to send
them a message is stored Fernet-encrypted. Both keys are derived from one secret that lives
outside the database, so a stolen database alone reveals no Telegram or Viber account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET_LENGTH = 32


class KeyError_(ValueError):
    """The data key is unusable (too short) or does not open what is stored."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Vault:
    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise KeyError_(f"the data key must be at least {MIN_SECRET_LENGTH} characters long")
        raw = secret.encode()
        self._lookup_key = _derive(raw, b"workshopbot/person-lookup/v1")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"workshopbot/address/v1")))

    def lookup_hash(self, channel: str, user_key: str) -> str:
        message = f"{channel}\x00{user_key}".encode()
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()

    def derived_token(self, purpose: str) -> str:
        """A stable URL-safe token for a purpose (e.g. a webhook secret), from the data key."""
        digest = hmac.new(self._lookup_key, f"token:{purpose}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")

    def seal(self, user_key: str) -> str:
        return self._fernet.encrypt(user_key.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as error:
            raise KeyError_("stored address cannot be opened with this data key") from error


def new_secret() -> str:
    """A fresh random secret, printable, for a key file or DATA_KEY."""
    return Fernet.generate_key().decode("ascii")
