"""The crisis and self-harm detector (flows/distress.py) and its word lists
(flows/data/distress.toml): realistic messages in every language match, everyday talk with
look-alike words does not, and the lists stay free of everyday words."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.distress import PACKAGED, Distress, DistressError, normalise, words
from flows.i18n import AUTONYMS

LANGUAGES = frozenset(
    {"en", "sr_Latn", "ar", "fa", "ps", "ur", "tr", "fr", "uk", "ru", "es", "ckb"}
)


def _lists() -> dict[str, list[str]]:
    with PACKAGED.open("rb") as handle:
        data = tomllib.load(handle)
    return {language: table["phrases"] for language, table in data.items()}


LISTS = _lists()
ENTRIES = sorted({entry for entries in LISTS.values() for entry in entries})


@pytest.fixture(scope="module")
def distress() -> Distress:
    return Distress.load()


# Messages that must match: the list's words inside longer text, with punctuation, other case,
# and the spellings people type (without diacritics, transliterated, with vowel marks).
CRISIS: dict[str, list[str]] = {
    "en": [
        "I am so tired, I WANT TO DIE. nobody helps",
        "Sometimes I think about Suicide...",
        "i keep thinking i should just kill myself!!",
        "I don't want to live like this anymore",
    ],
    "sr_Latn": [
        "Ne mogu više, UBIĆU SE.",
        "ubicu se, niko me ne razume",
        "Не желим да живим више... хоћу да умрем",
        "Razmišljam o SAMOUBISTVU, stalno.",
        "nemam razloga da zivim!",
    ],
    "ar": [
        "والله تعبت، بدي موت!!",
        "أُرِيدُ أَنْ أَمُوتَ",
        "صرت أفكر بالانتحار كل يوم.",
        "ana ta3ban ktir, BDI MOUT...",
        "wallah baddi mout, khalas",
    ],
    "fa": [
        "دیگه خسته شدم، می‌خواهم بمیرم.",
        "فکر خودكشي دارم!!",
        "mikham bemiram, dige nemitoonam",
        "به KHODKOSHI فکر می‌کنم",
    ],
    "ps": [
        "زه ډیر ستړی یم، غواړم مړ شم.",
        "د ځان وژنې فکر کوم!",
        "za ghwaram mar sham, bas",
    ],
    "ur": [
        "میں بہت تھک گیا ہوں، مرنا چاہتا ہوں۔",
        "میں خودکشی کر لوں گا!",
        "Main MARNA CHAHTA hoon, koi nahi sunta",
        "bas, mar jana chahti hoon...",
    ],
    "tr": [
        "Artık dayanamıyorum, ÖLMEK İSTİYORUM!",
        "olmek istiyorum, kimse anlamiyor",
        "İNTİHAR etmeyi düşünüyorum.",
        "bazen kendimi oldurecegim diyorum",
    ],
    "fr": [
        "Je suis fatigué, je veux mourir.",
        "J'ai ENVIE DE ME TUER...",
        "Je ne veux plus vivre comme ça",
    ],
    "uk": [
        "Я більше не можу, ХОЧУ ПОМЕРТИ!",
        "Думаю про самогубство...",
        "ne hochu zhyty bilshe",
        "я вбʼю себе",
    ],
    "ru": [
        "Не хочу жить. Всё.",
        "я хочу УМЕРЕТЬ!!!",
        "hochu umeret, pomogite",
        "думаю о суициде... каждый день",
    ],
    "es": [
        "Ya no puedo más, ME QUIERO MORIR.",
        "Pienso en el suicidio todos los días",
        "no quiero vivir asi",
    ],
    "ckb": [
        "من زۆر ماندووم، دەمەوێت بمرم.",
        "بیر لە خۆکوژی دەکەمەوە!",
        "bir la XOKUJI dakamawa",
    ],
}

# Everyday messages with look-alike words that must not match: a list word inside a longer word,
# part of a phrase without the rest, or a harmless word that sounds alike.
EVERYDAY_TALK: dict[str, list[str]] = {
    "en": [
        "I learned new skills at the sewing workshop, and my diet is better.",
        "Dieter said the workshop was cut short; we need a rope for the game.",
        "The kids want to dive in the pool. My phone died, I'm dying to see you!",
        "I want to diet, change myself, and spend my life with my family.",
    ],
    "sr_Latn": [
        "Da li ću dobiti mesto na radionici sutra?",
        "Želim da živim u Nemačkoj i da radim.",
        "Ubica iz filma je uhapšen, a radionica šivenja počinje u pet.",
    ],
    "ar": [
        "الدعم النفسي مفيد، ورشة الخياطة بكرة",
        "انتهت الورشة، شكراً كتير",
        "bukra fi workshop, shukran 7abibi",
    ],
    "fa": [
        "کارگاه خیاطی فردا است، من خسته‌ام",
        "الهی بمیرم برات، عزیزم",
        "خودم به کارگاه می‌آیم، میخوام برم",
    ],
    "ps": [
        "سبا ورکشاپ دی، زه ستړی یم",
        "ژوند ښه دی",
        "زه ځان ته چای جوړوم",
    ],
    "ur": [
        "کل ورکشاپ ہے، میری جان",
        "وہ سانپ کو مار رہا تھا",
        "kal workshop hai jaan, main khud aaunga",
    ],
    "tr": [
        "Yarın atölyeye gelmek istiyorum.",
        "Kendimi iyi hissediyorum, kendime zaman ayırıyorum",
        "Bu ilacın dozu doğru mu?",
        "Hayatıma sonradan giren insanlar çok iyi.",
    ],
    "fr": [
        "Je veux courir demain après l'atelier",
        "Ce film sur la mort m'a plu, la vie continue",
        "Je vais me coucher, bonne nuit",
    ],
    "uk": [
        "Хочу поїсти, завтра майстерня",
        "Я хочу жити тут",
    ],
    "ru": [
        "Хочу уметь шить, завтра мастерская",
        "Я хочу жить в Германии",
    ],
    "es": [
        "Quiero cortarme el pelo antes del taller",
        "Quiero vivir en España, la vida es bella",
    ],
    "ckb": [
        "سبەینێ دەچمە وۆرکشۆپ، خۆم دێم",
        "ژیان جوانە",
    ],
}

# Everyday words, a list per language: none may be an entry, or match on its own. Together
# they are the vocabulary of the random messages below.
EVERYDAY_WORDS: dict[str, str] = {
    "en": "die died kill dead cut rope life live hurt death skills diet sewing workshop tired"
    " Dieter tomorrow suite",
    "sr_Latn": "ubiti umreti umrem život živeti živim vene nož konopac dobiti ubica smrt"
    " radionica sutra šivenje tužan umoran",
    "ar": "موت الموت قتل نفسي النفسي حياتي حبل سكين ورشة تعبان بكرة مات حالي 7abibi shukran bukra",
    "fa": "مرگ مردن زندگی کشتن خودم کارگاه خسته طناب فردا خیاطی بمیرم zendegi khaste kargah",
    "ps": "مړ ژوند ځان سبا ستړی چای zhwand saba",
    "ur": "موت مرنا زندگی مار جان خود کل ورکشاپ mar maar jaan zindagi marna khud kal",
    "tr": "ölüm ölmek öldürmek hayat kesmek ip doz yorgun atölye yarın kendime",
    "fr": "mourir tuer mort vie couper corde veines atelier demain dormir fatigué",
    "uk": "смерть вбити жити життя померти вени мотузка майстерня завтра собі",
    "ru": "смерть убить жить жизнь умереть вены верёвка мастерская завтра сдохнуть",
    "es": "morir matar muerte vida cortar cuerda venas taller mañana daño cansado",
    "ckb": "مردن ژیان کوشتن خۆم سبەینێ ماندوو jiyan mirdin",
}
VOCABULARY = sorted({word for found in EVERYDAY_WORDS.values() for word in found.split()})
PUNCTUATION = st.text(alphabet=" \t\n.,!?;:-–—()\"'’«»…،؟؛*", max_size=5)


def test_every_language_has_a_list(distress: Distress) -> None:
    assert set(LISTS) == LANGUAGES
    assert all(LISTS[language] for language in LANGUAGES)
    assert distress.languages == LANGUAGES
    assert set(CRISIS) == set(EVERYDAY_TALK) == set(EVERYDAY_WORDS) == LANGUAGES


def test_a_language_the_bot_offers_brings_its_list(distress: Distress) -> None:
    catalogs = Path(__file__).parents[1] / "locales"
    offered = set(AUTONYMS) | {path.name for path in catalogs.iterdir() if path.is_dir()}
    assert offered <= distress.languages


@pytest.mark.parametrize(
    "message", [message for found in CRISIS.values() for message in found], ids=repr
)
def test_crisis_messages_match(distress: Distress, message: str) -> None:
    assert distress.matches(message)


@pytest.mark.parametrize(
    "message", [message for found in EVERYDAY_TALK.values() for message in found], ids=repr
)
def test_everyday_talk_does_not_match(distress: Distress, message: str) -> None:
    assert not distress.matches(message)


def test_at_least_two_examples_per_language() -> None:
    for language in LANGUAGES:
        assert len(CRISIS[language]) >= 2, language
        assert len(EVERYDAY_TALK[language]) >= 2, language


@pytest.mark.parametrize(
    ("typed", "listed"),
    [
        # Case, accents and diacritics.
        ("UBIĆU SE", "ubicu se"),
        ("Želim", "zelim"),
        ("ölmek", "olmek"),
        ("Crème Brûlée", "creme brulee"),
        # Serbian Cyrillic reads as Latin, đ as dj, and the digraph letters split.
        ("Убићу се", "ubicu se"),
        ("НЕ ЖЕЛИМ ДА ЖИВИМ", "ne zelim da zivim"),
        ("Ђорђе", "djordje"),
        ("Đorđe", "djordje"),
        ("Џеп, љубав, њива", "dzep ljubav njiva"),
        ("ǈubav", "ljubav"),
        # Turkish dotted capital İ and dotless ı.
        ("İNTİHAR", "intihar"),
        ("KIYACAĞIM", "kiyacagim"),
        ("canıma", "canima"),
        # Arabic: alef forms, alef maqsura and ya, ta marbuta, tashkeel, tatweel.
        ("أريد", "اريد"),
        ("إريد", "اريد"),
        ("آريد", "اريد"),
        ("ٱريد", "اريد"),
        ("على", "علي"),
        ("ورشة", "ورشه"),
        ("أُرِيدُ أَنْ أَمُوتَ", "اريد ان اموت"),
        ("انتـــحار", "انتحار"),
        ("ﻻ", "لا"),
        # Persian, Urdu, Pashto and Sorani letters; the zero-width non-joiner.
        ("خودکشی", "خودكشي"),
        ("خودکشې", "خودكشي"),
        ("خودکشے", "خودكشي"),
        ("زندگی‌ام", "زندگيام"),
        ("می‌خواهم", "ميخواهم"),
        ("خانۀ", "خانه"),
        ("کۆتایی", "كوتايي"),
        ("ہوں", "هون"),
        # Punctuation and apostrophes separate words; whitespace collapses.
        ("  kill--myself!!\n\t", "kill myself"),
        ("don't", "don t"),
        ("вб'ю вбʼю вб’ю", "vb ju vb ju vb ju"),
        ("snake_case", "snake case"),
    ],
)
def test_normalise(typed: str, listed: str) -> None:
    assert normalise(typed) == listed


def test_cyrillic_russian_and_ukrainian_still_match_as_typed(distress: Distress) -> None:
    assert distress.matches("ХОЧУ УМЕРЕТЬ")
    assert distress.matches("думаю о самоубийстве")
    assert distress.matches("Я ВБ'Ю СЕБЕ")


def test_every_entry_normalises_to_words() -> None:
    for language, entries in LISTS.items():
        for entry in entries:
            assert normalise(entry), (language, entry)
            assert normalise(normalise(entry)) == normalise(entry), (language, entry)


def test_no_entry_is_an_everyday_word(distress: Distress) -> None:
    everyday = {normalise(word) for word in VOCABULARY}
    for language, entries in LISTS.items():
        for entry in entries:
            assert normalise(entry) not in everyday, (language, entry)
    for word in VOCABULARY:
        assert not distress.matches(word), word


def test_everyday_words_cannot_spell_an_entry() -> None:
    """Random messages below are made of everyday words; no entry may be made of them only,
    or such a message would rightly match."""
    everyday = {normalise(word) for word in VOCABULARY}
    for entry in ENTRIES:
        assert not set(words(entry)) <= everyday, entry


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.sampled_from(VOCABULARY), max_size=8),
    entry=st.sampled_from(ENTRIES),
    after=st.lists(st.sampled_from(VOCABULARY), max_size=8),
    separator=st.sampled_from([" ", ", ", " - ", "... ", "\n", "! "]),
)
def test_an_entry_among_everyday_words_matches(
    distress: Distress, before: list[str], entry: str, after: list[str], separator: str
) -> None:
    assert distress.matches(separator.join([*before, entry, *after]))


@settings(max_examples=200, deadline=None)
@given(
    message=st.lists(st.sampled_from(VOCABULARY), max_size=30),
    separator=st.sampled_from([" ", ", ", " - ", "... ", "\n", "! "]),
)
def test_everyday_words_never_match(distress: Distress, message: list[str], separator: str) -> None:
    assert not distress.matches(separator.join(message))


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(VOCABULARY + ENTRIES), max_size=6).map(" ".join),
    ),
    prefix=PUNCTUATION,
    suffix=PUNCTUATION,
)
def test_punctuation_around_a_message_changes_nothing(
    distress: Distress, text: str, prefix: str, suffix: str
) -> None:
    assert distress.matches(prefix + text + suffix) == distress.matches(text)


def test_a_long_message_is_quick(distress: Distress) -> None:
    message = ("Sutra je radionica, الدعم النفسي مفيد, I am tired of waiting. " * 20)[:1000]
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        distress.matches(message)
    assert (time.perf_counter() - started) / runs < 0.002


def test_a_list_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "distress.toml"
    path.write_text('[xx]\nphrases = ["Fin Del Mundo", "ĐAK"]\n', encoding="utf-8")
    distress = Distress.load(path)
    assert distress.languages == {"xx"}
    assert distress.matches("¡es el fin del mundo!")
    assert distress.matches("djak")
    assert not distress.matches("fin del")


@pytest.mark.parametrize(
    "content",
    [
        "[xx]\nphrases = []\n",
        "[xx]\nphrases = ['...']\n",
        "[xx]\nwords = ['help']\n",
        "[xx]\nphrases = [1]\n",
        "xx = 'help'\n",
        "[xx\n",
    ],
)
def test_a_broken_list_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "distress.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DistressError, match=r"distress\.toml"):
        Distress.load(path)
