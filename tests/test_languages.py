"""Every resident reads the bot in their own language: the whole journey (onboarding, booking,
cancelling, feedback, help, privacy, /mydata) in each of the twelve catalogs, checked for
English left untranslated and, in right-to-left languages, for the isolation marks around
every value put into a sentence. Also: titles of known kinds and per language, names per
script, digits, the short language picker and button labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import App
from bot.settings import PROJECT_ROOT
from flows import names
from flows.clock import FakeClock
from flows.i18n import AUTONYMS, FSI, LRM, PDI, RLM, Catalogs, Translator
from flows.replies import Reply
from storage.models import Centre, Person, WorkshopSession
from tests.dialogue import Resident
from tests.seeding import World, seed

CODES = tuple(AUTONYMS)
RTL = ("ar", "fa", "ps", "ur", "ckb")
PLACE = "Room 2"  # as staff typed it (Latin): a name, left as it is, isolated in RTL text
CENTRE_NAMES = {"Cyrl": "Крњача", "Arab": "كرنياتشا"}
MOMENT = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(PROJECT_ROOT / "locales")


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    found = seed(app.database, clock.now())
    with app.database.session() as db:
        for sid, kind in ((found.sewing, "sewing"), (found.it, "computer")):
            session = db.get(WorkshopSession, sid)
            assert session is not None
            session.kind = kind
            db.add(session)
        centre = db.get(Centre, found.krnjaca)
        assert centre is not None
        for key, name in CENTRE_NAMES.items():
            centre.names = names.with_version(centre.names, key, name)
        db.add(centre)
    return found


def english_sentences(app: App) -> list[str]:
    """Pieces of the English messages of three words or more between placeholders: if one
    of them turns up in a reply in another language, something was left untranslated."""
    with (app.settings.locales_dir / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    pieces: set[str] = set()
    for message in template:
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            for piece in re.split(r"\{[^{}]*\}|[\n:;.!?()•]", str(text or "")):
                piece = piece.strip(" ,-–—\"'")
                if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 3:
                    pieces.add(piece)
    return sorted(pieces, key=len, reverse=True)


def shown(replies: list[Reply]) -> list[str]:
    """Every text and button label of these replies."""
    found = []
    for reply in replies:
        found.append(reply.text)
        found += [button.label for row in reply.buttons for button in row]
    return found


def journey(app: App, clock: FakeClock, world: World, code: str) -> tuple[Resident, Translator]:
    t = app.catalogs.translator(code)
    person = Resident(app.conversation, f"lang-{code}", code)
    person.send("/start krnjaca")
    assert person.labels()[0] == AUTONYMS[code]  # the app's language comes first
    person.tap(AUTONYMS[code])
    person.tap(t._("I agree, I am 15 or older"))
    person.tap(t._("Upcoming workshops"))
    sewing = t._("Sewing workshop")
    assert sewing in person.last  # a known kind: the title in the person's language
    person.tap(sewing)
    person.tap(t._("Book a seat"))
    assert t._("Your seat is booked.") in person.last
    person.tap(t._("My bookings"))
    person.tap(t._("No reminders"))
    person.tap(t._("Remind me"))
    person.tap_data(person.button("❌"))
    person.tap(t._("Yes, cancel"))
    person.tap(t._("Upcoming workshops"))
    person.tap(sewing)
    person.tap(t._("Book a seat"))
    clock.advance(timedelta(hours=26 + 1.5 + 1))  # it took place, and ended an hour ago
    person.send("/feedback")
    person.tap("🙂")
    person.tap(t._("Skip"))
    person.tap(t._("Maybe"))
    person.send("💐")
    person.send("/help")
    person.tap(t._("Report abuse"))
    person.send("/privacy")
    person.send("/mydata")
    person.send("/language")
    return person, t


@pytest.mark.parametrize("code", CODES)
def test_the_whole_journey_reads_in_each_language(
    app: App, clock: FakeClock, world: World, code: str
) -> None:
    person, t = journey(app, clock, world, code)
    texts = shown(person.replies[1:])  # after the picker, which asks in several languages
    everything = "\n".join(texts)
    with app.database.session() as db:
        stored = db.exec(select(Person)).one()
    assert stored.locale == code
    if code != "en":
        pieces = english_sentences(app)
        left = sorted({piece for piece in pieces if piece in everything})
        assert not left, f"untranslated English in {code}: {left}"
    assert (
        t._("Thank you! Your answers were saved without your name.") in everything
    )  # feedback was given
    centre = CENTRE_NAMES.get(names.script(code), "Krnjača")
    assert centre in everything  # the centre in the person's script
    if code in RTL:
        # Every value set into a sentence is isolated: a Latin place keeps its place.
        assert everything.count(PLACE) == everything.count(f"{FSI}{PLACE}{PDI}") > 0
        assert f"{FSI}{centre}{PDI}" in everything
        assert all(line.startswith(RLM) for line in person.last.split("\n") if line)
    else:
        assert FSI not in everything and RLM not in everything
    for reply in person.replies:
        for row in reply.buttons:
            for button in row:
                label = button.label
                assert not label.startswith((RLM, LRM)), repr(label)
                if label.startswith(FSI):  # kept only where a Latin value comes first
                    assert re.match(r"\u2068[^\u2069]*[A-Za-z]", label), repr(label)


def test_a_button_label_starting_with_a_date_has_no_mark_in_front(
    app: App, clock: FakeClock, world: World
) -> None:
    person, _ = journey(app, clock, world, "ar")
    labels = [b.label for reply in person.replies for row in reply.buttons for b in row]
    dated = [label for label in labels if "كرنياتشا" not in label and "،" in label]
    assert dated and not any(label.startswith((FSI, RLM)) for label in dated)


def test_dates_and_digits_follow_the_language_and_the_persons_choice(
    app: App, clock: FakeClock, world: World
) -> None:
    t = app.catalogs.translator("fa")
    person = Resident(app.conversation, "digits", "fa")
    person.send("/start krnjaca")
    person.tap(AUTONYMS["fa"])
    person.tap(t._("I agree, I am 15 or older"))
    person.tap(t._("Upcoming workshops"))
    assert "۱۰" in person.last or "۱۲" in person.last  # Persian digits in times and seats
    assert "دسامبر" in person.last  # the month in Persian
    person.send("/language")
    person.tap("🔢")
    assert "1,234,567" in person.last  # a person may keep Western digits
    with app.database.session() as db:
        assert db.exec(select(Person)).one().digits == "latn"
    person.tap(t._("Upcoming workshops"))
    assert not re.search("[۰-۹]", person.last) and "دسامبر" in person.last
    person.send("/language")
    person.tap("🔢")
    assert "۱٬۲۳۴٬۵۶۷" in person.last


def test_the_first_language_screen_is_short_and_more_shows_all(
    app: App, world: World, catalogs: Catalogs
) -> None:
    person = Resident(app.conversation, "picker", "uk")
    person.send("/start krnjaca")
    first = person.labels()
    assert first[0] == "Українська" and len(first) == 6 + 2  # six languages, more, help
    assert first[-2].startswith("🌐")
    assert len(person.last.splitlines()) == 6  # the question in each language shown
    person.tap("🌐")
    every = person.labels()
    assert set(AUTONYMS.values()) <= set(every)
    person.tap("Srpski")
    assert "Krnjača" in person.last


def test_the_first_screen_offers_what_the_centre_reads(app: App, world: World) -> None:
    for n in range(3):  # three residents of Krnjača read Kurdish
        reader = Resident(app.conversation, f"ckb-{n}", "ckb")
        reader.send("/start krnjaca")
        reader.tap(AUTONYMS["ckb"])
        reader.tap_data(reader.button("✅"))
    newcomer = Resident(app.conversation, "new", "es")
    newcomer.send("/start krnjaca")
    assert newcomer.labels()[:2] == ["Español", "کوردی"]


@pytest.mark.parametrize(
    ("typed", "kind"),
    [("Sewing workshop", "sewing"), ("radionica šivenja", "sewing"), ("ورزش", "sport"),
     ("  Football ", "football"), ("Sewing and chat", None)],
)  # fmt: skip
def test_a_title_typed_in_any_language_is_recognised_as_its_kind(
    catalogs: Catalogs, typed: str, kind: str | None
) -> None:
    assert names.kinds(catalogs).recognise(typed) == kind


def test_titles_per_language_win_over_kinds_and_fall_back_to_as_written(
    catalogs: Catalogs,
) -> None:
    session = WorkshopSession(
        title="Šivenje", kind="sewing", centre_id=1, capacity=1, starts_at=MOMENT, created_at=MOMENT
    )
    session.titles = names.with_version("{}", "uk", "Шиття для жінок")
    assert names.title(catalogs.translator("uk"), session) == "Шиття для жінок"
    assert names.title(catalogs.translator("ar"), session) == "ورشة الخياطة"
    plain = WorkshopSession(
        title="Yoga", centre_id=1, capacity=1, starts_at=MOMENT, created_at=MOMENT
    )
    assert names.title(catalogs.translator("fa"), plain) == "Yoga"  # shown as written
    session.place, session.places = "Sala 2", names.with_version("{}", "Arab", "القاعة 2")
    assert names.place(catalogs.translator("ur"), session) == "القاعة 2"  # by script
    assert names.place(catalogs.translator("ru"), session) == "Sala 2"


@given(
    code=st.sampled_from(CODES),
    value=st.text(st.characters(codec="utf-8"), max_size=30),
    leading=st.booleans(),
)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_value_keeps_its_place_and_a_label_loses_only_marks(
    catalogs: Catalogs, code: str, value: str, leading: bool
) -> None:
    """Whatever staff type (a title in any script, digits, marks of its own), it arrives
    whole; in right-to-left text it is isolated; a button label never starts with a mark."""
    t = catalogs.translator(code)
    template = "{title}: {when}" if leading else "▪️ {title}"
    text = t._(template, title=value, when=t.time(MOMENT, "Europe/Belgrade"))
    assert value in text
    if t.rtl:
        assert f"{FSI}{value}{PDI}" in text
    label = t.label(text)
    assert not label.startswith((RLM, LRM)) or value.startswith((RLM, LRM))
    marks = str.maketrans("", "", FSI + PDI + RLM + LRM + "\u061c")
    assert label.translate(marks) == text.translate(marks).lstrip(RLM + LRM + "\u061c") or (
        value.translate(marks) != value
    )
    if t.rtl and leading and re.search("[A-Za-z]", value):
        assert label.startswith(FSI)  # a Latin title first keeps its isolate
