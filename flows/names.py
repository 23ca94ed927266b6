"""What a resident reads of names staff and operators type: workshop titles, places, centres.

A session's title is shown, in this order of preference:

1. the title staff gave in the person's language (``titles``, JSON ``{"fa": "..."}``);
2. for a session of a known kind (sewing, IT basics, sport...), the kind's title from the
   catalogs, when the person's catalog translates it;
3. the title as staff typed it.

Staff do not pick a kind from a list: a title typed as one of the kinds' titles, in any of the
catalogs ("Sewing workshop", "Radionica šivenja", "ورشة الخياطة"), makes the session that kind.

Centre names and places can be given per language or per script (``{"Cyrl": "Крњача",
"ar": "كرنياتشا"}``): a language's own code wins over its script's.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Mapping

from flows.i18n import N_, Catalogs, Translator
from storage.models import Centre, WorkshopSession

# Known kinds of workshop: key (stored on the session) → title, translated in every catalog.
KINDS: Mapping[str, str] = {
    "sewing": N_("Sewing workshop"),
    "computer": N_("IT basics"),
    "sport": N_("Sport"),
    "football": N_("Football"),
    "art": N_("Art workshop"),
    "music": N_("Music workshop"),
    "language": N_("Language class"),
    "english": N_("English class"),
    "serbian": N_("Serbian class"),
    "talk": N_("Group talk"),
    "women": N_("Women's group"),
    "parents": N_("Parents' group"),
    "relax": N_("Relaxation and breathing"),
    "cooking": N_("Cooking together"),
    "film": N_("Film and talk"),
    "games": N_("Board games"),
}

# Scripts, for names given per script rather than per language.
SCRIPTS: Mapping[str, str] = {
    "ar": "Arab",
    "fa": "Arab",
    "ps": "Arab",
    "ur": "Arab",
    "ckb": "Arab",
    "uk": "Cyrl",
    "ru": "Cyrl",
}
KNOWN_SCRIPTS = ("Latn", "Cyrl", "Arab")


def script(code: str) -> str:
    return SCRIPTS.get(code, "Latn")


def parse(value: str | None) -> dict[str, str]:
    """A stored ``{key: text}`` JSON object; anything else is empty."""
    try:
        found = json.loads(value or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(key): str(text) for key, text in found.items() if isinstance(text, str) and text}


def with_version(value: str | None, key: str, text: str | None) -> str:
    """``value`` with ``key`` set to ``text`` (removed when ``text`` is empty or None)."""
    versions = parse(value)
    if text:
        versions[key] = text
    else:
        versions.pop(key, None)
    return json.dumps(dict(sorted(versions.items())), ensure_ascii=False)


def _version(t: Translator, value: str | None) -> str | None:
    versions = parse(value)
    return versions.get(t.code) or versions.get(script(t.code))


def title(t: Translator, session: WorkshopSession) -> str:
    given = parse(session.titles).get(t.code)
    if given:
        return given
    kind = KINDS.get(session.kind or "")
    if kind and t.knows(kind):
        return t._(kind)
    return session.title


def place(t: Translator, session: WorkshopSession) -> str | None:
    if not session.place:
        return None
    return _version(t, session.places) or session.place


def centre(t: Translator, where: Centre | None) -> str:
    if where is None:
        return ""
    return _version(t, where.names) or where.name


def _fold(text: str) -> str:
    """Case, accents, spacing and punctuation do not matter when recognising a kind."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] in "LN" or ch == " ")
    return " ".join(kept.split())


class Kinds:
    """Every kind's title in every catalog, folded, to recognise a title typed by staff."""

    def __init__(self, catalogs: Catalogs) -> None:
        self._by_title: dict[str, str] = {}
        for code in catalogs.codes:
            t = catalogs.translator(code)
            for key, message in KINDS.items():
                if t.knows(message):
                    self._by_title.setdefault(_fold(t._(message)), key)

    def recognise(self, typed: str) -> str | None:
        return self._by_title.get(_fold(typed))


@functools.lru_cache(maxsize=4)
def kinds(catalogs: Catalogs) -> Kinds:
    """The kinds recogniser for a set of catalogs (built once: catalogs do not change)."""
    return Kinds(catalogs)
