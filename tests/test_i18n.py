"""The catalogs: complete, compilable, placeholders intact, plurals and RTL right."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.settings import PROJECT_ROOT
from flows.i18n import AUTONYMS, FSI, PDI, RLM, CatalogError, Catalogs

LOCALES = PROJECT_ROOT / "locales"
COMPLETE = [code for code in AUTONYMS if code != "en"]  # English is the source language
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(LOCALES)


def _catalog(code: str) -> object:
    with (LOCALES / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_template_is_current() -> None:
    """Every string in the code is in messages.pot (run the extract command in the README)."""
    from babel.messages.extract import extract_from_dir

    extracted = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(
            str(PROJECT_ROOT),
            method_map=[("flows/**.py", "python"), ("bot/**.py", "python")],
            keywords={"_": None, "ngettext": (1, 2), "N_": None},
        )
    }
    with (LOCALES / "messages.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert extracted - template == set(), "run pybabel extract (see README)"


@pytest.mark.parametrize("code", COMPLETE)
def test_catalog_is_complete_with_placeholders_intact(code: str) -> None:
    catalog = _catalog(code)
    problems = []
    for message in catalog:  # type: ignore[attr-defined]
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):  # a fuzzy entry (to be reviewed) must still be translated
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        allowed = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            unknown = set(PLACEHOLDER.findall(string)) - allowed
            if unknown:
                problems.append(f"{ids[0]!r} uses unknown {unknown}")
    assert problems == []


def test_plural_forms_follow_cldr(catalogs: Catalogs) -> None:
    ar = catalogs.translator("ar")
    forms = {
        n: ar.ngettext("{count} seat left", "{count} seats left", n) for n in (1, 2, 3, 11, 100)
    }
    assert len(set(forms.values())) == 5  # Arabic distinguishes all of these
    sr = catalogs.translator("sr_Latn")
    one, few, many = (sr.ngettext("{count} seat left", "{count} seats left", n) for n in (21, 3, 5))
    assert len({one.replace("21", ""), few.replace("3", ""), many.replace("5", "")}) == 3
    en = catalogs.translator("en")
    assert en.ngettext("{count} seat left", "{count} seats left", 1) == "1 seat left"
    assert en.ngettext("{count} seat left", "{count} seats left", 1000) == "1,000 seats left"


def test_right_to_left_text_isolates_values_and_starts_from_the_right(catalogs: Catalogs) -> None:
    ar = catalogs.translator("ar")
    assert ar.rtl
    text = ar._("Your centre is now {centre}.", centre="Krnjača")
    assert f"{FSI}Krnjača{PDI}" in text
    assert ar.lines([text, "Sewing 10:00"]).split("\n")[1].startswith(RLM)
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert "١٠:٠٠" in ar.when(moment, "Europe/Belgrade")  # Eastern Arabic digits
    assert "10:00" in catalogs.translator("ar@latn").when(moment, "Europe/Belgrade")
    en = catalogs.translator("en")
    assert FSI not in en._("Your centre is now {centre}.", centre="Krnjača")


def test_languages_offered_are_those_with_a_catalog(catalogs: Catalogs) -> None:
    assert catalogs.codes == list(AUTONYMS)  # all twelve, in the order they are offered
    assert catalogs.match("ar-EG") == "ar"
    assert catalogs.match("sr") == "sr_Latn"
    assert catalogs.match("sr-Cyrl-RS") == "sr_Latn" and catalogs.match("hr") == "sr_Latn"
    assert catalogs.match("prs") == "fa" and catalogs.match("fa-AF") == "fa"
    assert catalogs.match("ckb-IQ") == "ckb" and catalogs.match("pbt") == "ps"
    assert catalogs.match("de") is None


def test_a_broken_catalog_stops_start_up(tmp_path: Path) -> None:
    broken = tmp_path / "xx" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "messages.po").write_text(
        'msgid "Hello {name}"\nmsgstr "Bonjour {nom}"\n', encoding="utf-8"
    )
    with pytest.raises(CatalogError, match="unknown"):
        Catalogs.load(tmp_path)
