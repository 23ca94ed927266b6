"""Spotting a message that suggests crisis or self-harm, in any of the bot's languages.

The words are data, ``flows/data/distress.toml``: one list per language of whole words and short
phrases, which operators and reviewers correct without touching code. A message matches when
any list's entry appears in it as whole words, whatever language the person chose: people write
in the language they think in, not the one their menus are in.

Both the lists and the messages go through :func:`normalise`, so one spelling in the list
covers the ways people type it on a phone: any case, with or without accents and diacritics
(``ubiću`` = ``ubicu``, ``ölmek`` = ``olmek``), Serbian in Cyrillic or Latin, Arabic-script
letters in their Arabic, Persian, Urdu, Pashto and Kurdish forms, with or without vowel marks.

This is a pure function of the text. What the bot does on a match is decided elsewhere.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PACKAGED = Path(__file__).with_name("data") / "distress.toml"

# Letters folded after decomposition (NFKD already turns أ إ آ ؤ ئ ۀ ۂ into a bare letter
# plus a mark, and the marks go). Every script's variants of one sound become one letter, so
# a Persian keyboard's ی and an Arabic one's ي, or Sorani typed without its own letters, agree.
_LETTERS: dict[str, str] = {
    # Latin: Turkish dotless i (İ casefolds to i + a dot mark), and letters that are not
    # a base plus a mark; Serbian đ is typed "dj" without diacritics.
    "ı": "i",
    "đ": "dj",
    "ł": "l",
    # Arabic script.
    "ٱ": "ا",
    "ٲ": "ا",
    "ٳ": "ا",
    "ى": "ي",
    "ی": "ي",
    "ې": "ي",
    "ۍ": "ي",
    "ے": "ي",
    "ێ": "ي",
    "ک": "ك",
    "ڪ": "ك",
    "ګ": "گ",
    "ة": "ه",
    "ۃ": "ه",
    "ە": "ه",
    "ہ": "ه",
    "ھ": "ه",
    "ۆ": "و",
    "ڵ": "ل",
    "ڕ": "ر",
    "ں": "ن",
    "ـ": "",  # tatweel, a letter by category
    # Cyrillic, read as Serbian Latin without diacritics (so Serbian Cyrillic meets the Latin
    # list); Russian and Ukrainian fold the same way on both sides. й ё ї ў are a letter plus a
    # mark by now.
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "ђ": "dj",
    "е": "e",
    "є": "e",
    "ж": "z",
    "з": "z",
    "ѕ": "dz",
    "и": "i",
    "і": "i",
    "ј": "j",
    "к": "k",
    "л": "l",
    "љ": "lj",
    "м": "m",
    "н": "n",
    "њ": "nj",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "ћ": "c",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "c",
    "ч": "c",
    "џ": "dz",
    "ш": "s",
    "щ": "s",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "ju",
    "я": "ja",
    # Apostrophes that are letters by category: a word separator like the ASCII one.
    "ʼ": " ",
    "ʻ": " ",
}


class _Fold(dict[int, str | None]):
    """A ``str.translate`` table filled on first sight of each character.

    Marks and invisible format characters (tashkeel, zero-width non-joiner, direction marks)
    are removed; anything that is neither a letter nor a digit separates words. The table
    only ever grows to the characters seen, and lets ``translate`` run at C speed after that.
    """

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        category = unicodedata.category(char)
        value: str | None
        if char in _LETTERS:
            value = _LETTERS[char]
        elif category[0] == "M" or category == "Cf":
            value = None
        elif category[0] in "LN":
            value = char
        else:
            value = " "
        self[code] = value
        return value


_FOLD = _Fold()


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return folded.translate(_FOLD).split()


def normalise(text: str) -> str:
    """``text`` as the matcher sees it: normalised words joined by single spaces."""
    return " ".join(words(text))


class DistressError(ValueError):
    pass


class Distress:
    """The word lists, ready to match messages against."""

    languages: frozenset[str]

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        phrases: dict[str, set[tuple[str, ...]]] = {}
        for language, entries in lists.items():
            count = 0
            for entry in entries:
                tokens = tuple(words(entry))
                if not tokens:
                    raise DistressError(f"[{language}] {entry!r} has no letters")
                phrases.setdefault(tokens[0], set()).add(tokens)
                count += 1
            if not count:
                raise DistressError(f"[{language}] has an empty list")
        self.languages = frozenset(lists)
        # A message is read once, word by word; only the phrases starting with a word are tried.
        self._by_first: dict[str, tuple[tuple[str, ...], ...]] = {
            first: tuple(found) for first, found in phrases.items()
        }

    @classmethod
    def load(cls, path: Path | None = None) -> Distress:
        path = path or PACKAGED
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise DistressError(f"{path}: {error}") from error
        try:
            return cls({language: _phrases(language, table) for language, table in data.items()})
        except DistressError as error:
            raise DistressError(f"{path}: {error}") from error

    def matches(self, text: str) -> bool:
        tokens = words(text)
        for start, token in enumerate(tokens):
            for phrase in self._by_first.get(token, ()):
                if tuple(tokens[start : start + len(phrase)]) == phrase:
                    return True
        return False


def _phrases(language: str, table: Any) -> list[str]:
    raw = table.get("phrases") if isinstance(table, dict) else None
    if not isinstance(raw, list) or not all(isinstance(entry, str) for entry in raw):
        raise DistressError(f"[{language}] needs a list of strings: phrases = [...]")
    return raw
