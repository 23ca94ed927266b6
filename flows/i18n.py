"""Translations, one translator per person and never a process-wide language.

Catalogs are the ``.po`` files in ``locales/``; they are compiled in memory when the bot starts
(so a compiled file can never be stale), and start-up fails if one does not parse. A language
is offered to people once its catalog exists.

Right-to-left text: every value put into an Arabic (or other RTL) sentence is wrapped in Unicode
isolates, so a Latin workshop title, a time or a number keeps its place and order, and every
line starts with a right-to-left mark so apps lay the paragraph out from the right.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta, match_skeleton
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

DEFAULT_LOCALE = "en"
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")  # a named placeholder: {centre}, {count:d}
FSI, PDI, RLM, LRM, ALM = "\u2068", "\u2069", "\u200f", "\u200e", "\u061c"
# Letters that would turn a right-to-left label around if they came first.
_STRONG_LTR = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")

# Names people recognise their language by, written in that language.
AUTONYMS: Mapping[str, str] = {
    "en": "English",
    "ar": "العربية",
    "fa": "فارسی / دری",
    "ps": "پښتو",
    "ur": "اردو",
    "tr": "Türkçe",
    "fr": "Français",
    "uk": "Українська",
    "ru": "Русский",
    "es": "Español",
    "ckb": "کوردی",
    "sr_Latn": "Srpski",
}

# Languages an app may report whose readers read one of ours: Dari and the Pashto variants by
# their ISO 639-3 codes; Serbian in any script, and Bosnian, Croatian and Serbo-Croatian,
# read Serbian in Latin script.
ALIASES: Mapping[str, str] = {
    "prs": "fa",
    "pbt": "ps",
    "pbu": "ps",
    "pst": "ps",
    "sr": "sr_Latn",
    "sh": "sr_Latn",
    "bs": "sr_Latn",
    "hr": "sr_Latn",
}

# The order languages are offered in, after the one the person's app reports.
OFFER_ORDER = tuple(AUTONYMS)

# Digits people of a language expect where they differ from 0-9 (CLDR's "arab" and
# "arabext"); anyone can keep Western digits instead (``Person.digits = "latn"``).
WESTERN = "latn"
DIGITS: Mapping[str, str] = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
}
NATIVE_DIGITS: Mapping[str, str] = {"ar": "arab", "fa": "arabext", "ps": "arabext", "ckb": "arab"}


def translator_key(locale: str | None, digits: str | None) -> str | None:
    """What :meth:`Catalogs.translator` is asked for: the language, with ``@latn`` when the
    person keeps Western digits in a language that writes its own."""
    if locale and digits == WESTERN and locale in NATIVE_DIGITS:
        return f"{locale}@{WESTERN}"
    return locale


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


class CatalogError(RuntimeError):
    pass


class Translator:
    """Gettext with named placeholders, CLDR plurals and Babel formatting for one locale."""

    def __init__(
        self, code: str, translations: gettext.NullTranslations, *, western: bool = False
    ) -> None:
        self.code = code
        self.locale = Locale.parse(code)
        self.rtl = self.locale.character_order == "right-to-left"
        self.numbering = WESTERN if western else NATIVE_DIGITS.get(code, WESTERN)
        # What tells this translator from another of the same language (for caches).
        self.key = (
            code if self.numbering == NATIVE_DIGITS.get(code, WESTERN) else f"{code}@{WESTERN}"
        )
        self._digits = (
            str.maketrans("0123456789", DIGITS[self.numbering])
            if self.numbering in DIGITS
            else None
        )
        self._translations = translations
        self._patterns: dict[str, str] = {}

    @property
    def native_digits(self) -> bool:
        """Whether this language writes digits of its own (whether or not they are used)."""
        return self.code in NATIVE_DIGITS

    def digits(self, text: str) -> str:
        """``text`` with 0-9 written in this language's digits (unchanged where 0-9 are used)."""
        return text.translate(self._digits) if self._digits else text

    def _(self, message: str, /, **values: Any) -> str:
        return self._format(self._translations.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        values.setdefault("count", self.number(n))
        return self._format(self._translations.ngettext(singular, plural, n), values)

    def knows(self, message: str) -> bool:
        """Whether this language has a translation of ``message`` (the source language, English,
        knows every message)."""
        if self.code == DEFAULT_LOCALE:
            return True
        catalog = getattr(self._translations, "_catalog", {})
        return bool(catalog.get(message))

    def number(self, n: int) -> str:
        return self.digits(format_decimal(n, locale=self.locale, numbering_system=self.numbering))

    def day(self, moment: datetime, zone: str, *, year: bool = False) -> str:
        """A day as people say it here: "Tue, Dec 1", "الثلاثاء، 1 ديسمبر", "uto 1. dec"
        (with the year, "Wed, Dec 1, 2027", when ``year``)."""
        return self._format_moment("yMMMEd" if year else "MMMEd", moment, zone)

    def date(self, moment: datetime, zone: str) -> str:
        """A date with its year: "Dec 1, 2026"."""
        return self._format_moment("yMMMd", moment, zone)

    def date_only(self, day: dt.date) -> str:
        """A calendar day with its year, "Dec 1, 2026" (no time, no time zone)."""
        pattern = self._patterns.get("yMMMd")
        if pattern is None:
            pattern = self._patterns["yMMMd"] = _skeleton_pattern("yMMMd", self.locale)
        return self.digits(format_date(day, pattern, locale=self.locale))

    def percent(self, fraction: float) -> str:
        """78 %, in this language's way ("78%", "78 %", "٧٨٪")."""
        return self.digits(format_percent(fraction, locale=self.locale))

    def time(self, moment: datetime, zone: str) -> str:
        return self._format_moment("Hm", moment, zone)

    def _format_moment(self, skeleton: str, moment: datetime, zone: str) -> str:
        # Matching a skeleton to a pattern is the slow part of Babel's formatting; do it once.
        pattern = self._patterns.get(skeleton)
        if pattern is None:
            pattern = self._patterns[skeleton] = _skeleton_pattern(skeleton, self.locale)
        return self.digits(format_datetime(moment, pattern, tzinfo=_zone(zone), locale=self.locale))

    def when(self, moment: datetime, zone: str, *, year: bool = False) -> str:
        return self._(
            "{day}, {time}", day=self.day(moment, zone, year=year), time=self.time(moment, zone)
        )

    def join(self, items: Sequence[str], *, conjunction: bool = True) -> str:
        """A list as this language writes one ("A, B, and C"; Arabic "A وB وC"); without
        ``conjunction``, just separated ("1, 3, 7"; Arabic "١، ٣، ٧")."""
        if not items:
            return ""
        if not conjunction:
            return ("، " if self.rtl else ", ").join(items)
        try:
            # The "standard" (and) style: Babel's "unit" style repeats the last item of a pair
            # in Arabic ("A، وB، وB") and lacks patterns in Persian.
            return format_list(list(items), style="standard", locale=self.locale)
        except (KeyError, ValueError):  # a locale without list patterns
            return ", ".join(items)

    def duration(self, delta: timedelta) -> str:
        """ "1 day", "1 hour", "30 minutes", in this language, rounded as people say it (a
        reminder sent 20 seconds after its moment still says "1 hour")."""
        step = timedelta(minutes=5) if delta < timedelta(hours=2) else timedelta(hours=1)
        rounded = max(step, round(delta / step) * step)
        return self.digits(format_timedelta(rounded, threshold=1, locale=self.locale))

    def language_name(self, code: str) -> str:
        """A language in its own name and script ("فارسی / دری"): what a picker shows."""
        return AUTONYMS.get(code) or Locale.parse(code).get_display_name(code) or code

    def language_called(self, code: str) -> str:
        """A language as this language names it ("Persian", "الفارسية", "перська"): what a
        sentence about languages says."""
        try:
            return Locale.parse(code).get_display_name(self.locale) or self.language_name(code)
        except (ValueError, TypeError):
            return code

    def iso(self, value: str) -> str:
        """A value (a title, a place) set apart so it cannot reorder the text around it."""
        return f"{FSI}{value}{PDI}" if self.rtl else value

    def label(self, text: str) -> str:
        """A button label without a mark it does not need at its start: apps set a button's
        direction from its first letter, so a leading date or number (in this language's
        script and digits) needs no isolating; a leading Latin title keeps its isolate."""
        if not self.rtl:
            return text
        text = text.lstrip(RLM + LRM + ALM)
        if text.startswith(FSI):
            end = text.find(PDI)
            if end > 0 and not _STRONG_LTR.search(text[1:end]):
                text = text[1:end] + text[end + 1 :]
        return text

    def lines(self, lines: Iterable[str]) -> str:
        """Join paragraphs; in RTL languages each starts with a right-to-left mark."""
        if not self.rtl:
            return "\n".join(lines)
        return "\n".join(RLM + line if line else line for line in lines)

    def _format(self, template: str, values: Mapping[str, Any]) -> str:
        if not values:
            return template
        if self.rtl or self._digits:
            # A bare number (a limit, an id) in this language's digits, ungrouped; in
            # right-to-left text every value isolated.
            values = {key: self._value(value) for key, value in values.items()}
        return template.format(**values)

    def _value(self, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = self.digits(str(value))
        return self.iso(str(value))


class Catalogs:
    """Every compiled catalog, loaded once at start."""

    def __init__(self, translations: Mapping[str, gettext.NullTranslations]) -> None:
        self._translations = dict(translations)
        self._translations.setdefault(DEFAULT_LOCALE, gettext.NullTranslations())
        self._cache: dict[str, Translator] = {}

    @classmethod
    def load(cls, directory: Path) -> Catalogs:
        found: dict[str, gettext.NullTranslations] = {}
        for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
            code = po_path.parent.parent.name
            found[code] = _compile(po_path, code)
        if not found:
            raise CatalogError(f"no translation catalogs found in {directory}")
        return cls(found)

    @property
    def codes(self) -> list[str]:
        """Languages people can choose, in the order they are offered."""
        known = [code for code in OFFER_ORDER if code in self._translations]
        return known + sorted(set(self._translations) - set(known))

    def supports(self, code: str | None) -> bool:
        return code is not None and code in self._translations

    def match(self, hint: str | None) -> str | None:
        """The supported language closest to what an app reports ("ar-EG" → "ar")."""
        if not hint:
            return None
        hint = hint.replace("-", "_")
        if hint in self._translations:
            return hint
        base = hint.split("_")[0].lower()
        base = ALIASES.get(base, base)
        return base if base in self._translations else None

    def translator(self, key: str | None) -> Translator:
        """The translator for a language code, or for a :func:`translator_key`."""
        found = self._cache.get(key or DEFAULT_LOCALE)
        if found is not None:
            return found
        code, _, digits = (key or "").partition("@")
        code = code if self.supports(code) else DEFAULT_LOCALE
        western = digits == WESTERN and code in NATIVE_DIGITS
        cached = f"{code}@{WESTERN}" if western else code
        if cached not in self._cache:
            self._cache[cached] = Translator(code, self._translations[code], western=western)
        return self._cache[cached]


def _compile(po_path: Path, code: str) -> gettext.NullTranslations:
    try:
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=code, abort_invalid=True)
    except Exception as error:
        raise CatalogError(f"{po_path}: {error}") from error
    for message in catalog:
        if not message.id:
            continue
        ids = entry_texts(message.id)
        allowed = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in entry_texts(message.string):
            unknown = set(PLACEHOLDER.findall(string)) - allowed
            if unknown:
                # str.format would fail on it the first time someone reads that message.
                raise CatalogError(f"{po_path}: {ids[0]!r} uses unknown {sorted(unknown)}")
    buffer = io.BytesIO()
    # Fuzzy entries are a translator's careful guess awaiting review (``workshopbot i18n
    # check`` insists on a comment saying what to check): better than English to a reader
    # who reads no English.
    write_mo(buffer, catalog, use_fuzzy=True)
    buffer.seek(0)
    return Translations(fp=buffer)


def entry_texts(value: object) -> list[str]:
    """A catalog entry's id or string as a list (plural entries hold several; a form
    missing from a plural entry is "")."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item if isinstance(item, str) else "" for item in value]
    return []


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _skeleton_pattern(skeleton: str, locale: Locale) -> str:
    """The CLDR pattern a locale uses for a skeleton, as Babel's format_skeleton finds it."""
    skeletons = locale.datetime_skeletons
    if skeleton not in skeletons:
        skeleton = match_skeleton(skeleton, skeletons) or skeleton
    return str(skeletons[skeleton])
