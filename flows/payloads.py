"""Button data: short, opaque, ASCII, and parsed defensively because clients can forge it.

``B:7`` is the action ``B`` with the argument ``7``. Which actions exist, and what their
arguments mean, is declared by the features (see :mod:`flows.router`); this module only knows
the syntax. Before a person agrees to the notice nothing is stored about them, so the choices
made so far (language, centre) travel inside the buttons themselves: ``L:ar:3``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit for callback_data
MAX_ARGS = 3
_SYNTAX = re.compile(r"^[A-Z]{1,3}(:[A-Za-z0-9_]{1,20}){0,3}$")


@dataclass(frozen=True)
class Payload:
    action: str
    args: tuple[str, ...] = ()


def split(data: str) -> Payload | None:
    """The action code and raw arguments, or None for anything that is not button syntax."""
    if len(data) > MAX_BYTES or not _SYNTAX.match(data):
        return None
    action, *args = data.split(":")
    return Payload(action, tuple(args))
