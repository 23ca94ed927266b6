"""Button data: short, opaque, ASCII, and parsed defensively because clients can forge it.

Before a person agrees to the notice nothing is stored about them, so the choices made so far
(language, centre) travel inside the buttons themselves: ``L:ar:3`` is "Arabic, centre 3".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_SAFE = re.compile(r"^[A-Za-z0-9_:]{1,64}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(_[A-Za-z]{4})?$")

# Actions. Pre-consent ones carry "lang:centre".
LANGUAGE = "L"  # L:<lang>:<centre>   (pre-consent)   L:<lang>   (change language)
CENTRE = "C"  # C:<lang>:<centre>   (pre-consent)   C:<centre> (change centre)
AGREE = "A"  # A:<lang>:<centre>
DECLINE = "N"  # N:<lang>:<centre>
HELP = "H"  # H or H:<lang>:<centre>
MENU = "M"
WORKSHOPS = "W"
DETAILS = "S"  # S:<session>
BOOK = "B"  # B:<session>
MY_BOOKINGS = "K"
CANCEL = "X"  # X:<booking>
COMING = "Y"  # Y:<booking>  (the answer to a reminder: "I'll come")
PICK_LANGUAGE = "LL"
PICK_CENTRE = "CC"
ERASE = "DEL"
ACTIONS = {
    LANGUAGE,
    CENTRE,
    AGREE,
    DECLINE,
    HELP,
    MENU,
    WORKSHOPS,
    DETAILS,
    BOOK,
    MY_BOOKINGS,
    CANCEL,
    COMING,
    PICK_LANGUAGE,
    PICK_CENTRE,
    ERASE,
}


@dataclass(frozen=True)
class Payload:
    action: str
    args: tuple[str, ...] = ()

    def int_arg(self, index: int) -> int | None:
        try:
            value = int(self.args[index])
        except (IndexError, ValueError):
            return None
        return value if 0 <= value < 2**31 else None

    def locale_arg(self, index: int) -> str | None:
        try:
            value = self.args[index]
        except IndexError:
            return None
        return value if _LOCALE.match(value) else None


def make(action: str, *args: object) -> str:
    data = ":".join([action, *(str(arg) for arg in args)])
    if not _SAFE.match(data) or len(data.encode()) > MAX_BYTES:
        raise ValueError(f"unsafe button data: {data!r}")
    return data


def parse(data: str) -> Payload | None:
    """The payload, or None for anything this bot could not have made."""
    if not _SAFE.match(data):
        return None
    action, *args = data.split(":")
    if action not in ACTIONS or len(args) > 2:
        return None
    return Payload(action, tuple(args))
