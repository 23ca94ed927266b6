"""Who can help, read from a data file operators correct (``flows/data/help.toml``): the
emergency numbers and the free support lines, with their hours and languages.

The screens that show them (help, and the answer to a message suggesting crisis) are in
``flows.home`` and ``flows.safety``; the file holds numbers and hours, never sentences, so
every word around them comes from the catalogs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from babel import Locale, UnknownLocaleError

from flows.i18n import N_, Translator

PACKAGED = Path(__file__).parent / "data" / "help.toml"

SERVICES = {
    "police": N_("Police"),
    "ambulance": N_("Ambulance"),
    "fire": N_("Fire brigade"),
    "any": N_("Emergency (any phone)"),
}
KINDS = {
    "emotional": N_("Emotional support and suicide prevention"),
    "children": N_("Help line for children and young people"),
    "violence": N_("Help for people facing violence"),
}
DAYS = {"always": N_("day and night"), "daily": N_("every day"), "weekdays": N_("Monday to Friday")}


class HelpFileError(ValueError):
    pass


@dataclass(frozen=True)
class Emergency:
    service: str
    number: str

    def line(self, t: Translator) -> str:
        return t._("{service}: {number}", service=t._(SERVICES[self.service]), number=self.number)


@dataclass(frozen=True)
class SupportLine:
    name: str
    number: str
    kind: str
    days: str
    opens: time | None
    closes: time | None
    languages: tuple[str, ...]

    def lines(self, t: Translator) -> list[str]:
        """ "Centar Srce (Emotional support ...): 0800 300 303" and when and in which languages."""
        head = t._(
            "{name} ({what}): {number}", name=self.name, what=t._(KINDS[self.kind]),
            number=self.number,
        )  # fmt: skip
        when = t._(DAYS[self.days])
        if self.opens is not None and self.closes is not None:
            when = t._(
                "{days}, {opens}–{closes}", days=when, opens=_clock(t, self.opens),
                closes=_clock(t, self.closes),
            )  # fmt: skip
        spoken = t.join([_language(t, code) for code in self.languages])
        detail = t._("{when}; in {languages}", when=when, languages=spoken) if spoken else when
        return [head, detail]


def _clock(t: Translator, at: time) -> str:
    return t.time(datetime.combine(date(2026, 1, 5), at, UTC), "UTC")


def _language(t: Translator, code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(t.locale) or code
    except (UnknownLocaleError, ValueError):
        return code


@dataclass(frozen=True)
class Helplines:
    emergency: tuple[Emergency, ...]
    lines: tuple[SupportLine, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> Helplines:
        path = path or PACKAGED
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls._parse(data)
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
            raise HelpFileError(f"{path}: {error}") from error

    @classmethod
    def _parse(cls, data: dict[str, object]) -> Helplines:
        emergency = []
        for item in _tables(data, "emergency"):
            service = str(item["service"])
            if service not in SERVICES:
                raise ValueError(f"unknown emergency service {service!r}")
            emergency.append(Emergency(service, str(item["number"])))
        lines = []
        for item in _tables(data, "line"):
            kind, days = str(item["kind"]), str(item.get("days", "always"))
            if kind not in KINDS or days not in DAYS:
                raise ValueError(f"line {item.get('name')!r}: unknown kind or days")
            opens, closes = item.get("opens"), item.get("closes")
            if days != "always" and (opens is None or closes is None):
                raise ValueError(f"line {item['name']!r}: opens and closes are needed")
            languages = item.get("languages", [])
            if not isinstance(languages, list):
                raise ValueError(f"line {item['name']!r}: languages must be a list")
            lines.append(
                SupportLine(
                    str(item["name"]), str(item["number"]), kind, days,
                    time.fromisoformat(str(opens)) if opens else None,
                    time.fromisoformat(str(closes)) if closes else None,
                    tuple(str(code) for code in languages),
                )
            )  # fmt: skip
        if not emergency:
            raise ValueError("no emergency numbers")
        return cls(tuple(emergency), tuple(lines))


def _tables(data: dict[str, object], key: str) -> list[dict[str, object]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"[[{key}]] must be tables")
    return value
