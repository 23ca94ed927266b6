"""Logging for the command line, with every secret kept out of every line.

httpx and python-telegram-bot put request URLs in their log lines, and a Telegram request URL
holds the token (``/bot<token>/getMe``); an exception's message may too ("The token ... was
rejected"). A document's link (``/files/<token>``) opens the file to whoever has it, and web
servers' access lines and httpx's request lines show it. A database error shows the values of
the statement that failed, which may be what a person typed. Each record is cleaned when it is
made, so no handler, however configured later (uvicorn brings its own), can write a secret.

Cleaning is a safety net: our own code does not log platform ids, what people type, tokens or
invitation codes in the first place (tests/test_log_privacy.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

# A Telegram bot token is "<bot id>:<secret>"; the bot id alone identifies the bot harmlessly.
TELEGRAM_TOKEN = re.compile(r"(?<![0-9])([0-9]{3,20})(?::|%3A)[A-Za-z0-9_-]{20,}")
# A Viber token: three groups of 16 hexadecimal digits.
VIBER_TOKEN = re.compile(r"[0-9a-fA-F]{16}-[0-9a-fA-F]{16}-[0-9a-fA-F]{16}")
# What follows /files/ (a document link's signed token) or a webhook's path (where a secret
# would go), in a URL or at the start of a path (an access line: "GET /files/<token> HTTP/1.1").
# Not in a file path inside a traceback (".../site-packages/telegram/_bot.py").
URL_SECRET = re.compile(r"(https?://[^\s\"'?#]*?|(?<![^\s\"']))/(files|viber|telegram)/[^\s\"'?#]+")
# SQLAlchemy's errors end with the statement's values: "[parameters: (...)]".
SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)
_SHORTEST = 6  # shorter "secrets" would blank out ordinary words


def mask(secret: str) -> str:
    """What is shown instead of a secret: a Telegram token's bot id, nothing of the rest."""
    bot_id, colon, _ = secret.partition(":")
    return f"{bot_id}:***" if colon and bot_id.isdigit() else "***"


class Redactor(logging.Filter):
    """Takes the configured secrets, anything shaped like a token, document links' tokens and
    SQL parameters out of text and of log records."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        found = {s for s in (*self._secrets, *secrets) if s and len(s) >= _SHORTEST}
        self._secrets = sorted(found, key=len, reverse=True)  # longest first: no half-masks

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask(secret))
        text = TELEGRAM_TOKEN.sub(r"\1:***", text)
        text = VIBER_TOKEN.sub("***", text)
        text = URL_SECRET.sub(r"\1/\2/***", text)
        return SQL_PARAMETERS.sub("[parameters: ***]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it for the handler to report
            return True
        clean = self(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        if record.stack_info:
            record.stack_info = self(record.stack_info)
        return True


# Libraries that log whole requests and updates at DEBUG: python-telegram-bot writes every
# update it receives (the person's Telegram id and first name, what they typed, the data of the
# button they tapped, which names a booking and an answer) and every message it sends;
# httpcore, the bytes. Whatever LOG_LEVEL says, they log no more than this, so that a
# debugging session does not become a record of who said what (or who answered what).
TALKATIVE = {"telegram": logging.INFO, "httpcore": logging.INFO, "viberbot": logging.INFO}


def setup_logging(level: str, redactor: Redactor) -> None:
    """Log to stderr at ``level``, every record cleaned by ``redactor``. For entry points:
    it changes the process's logging."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if level.upper() != "DEBUG":
        # One line per HTTP request (every long poll) drowns everything else out.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    for name, most in TALKATIVE.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(most, logger.getEffectiveLevel()))
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redactor", None) is redactor:
        return

    def clean_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redactor.filter(record)
        return record

    clean_record.redactor = redactor  # type: ignore[attr-defined]
    logging.setLogRecordFactory(clean_record)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)  # also records made before the factory was in place
