"""The router derives the button-data table, the "/" menu and the dispatch from what the
features declare; and a feature can ask a question and read the typed answer, across a
restart, with /cancel leaving it."""

from __future__ import annotations

import pytest

from bot.app import App
from flows import home, staff
from flows.conversation import Conversation
from flows.features import FEATURES, build_router
from flows.i18n import N_
from flows.router import Arg, Feature, Int, Locale, Router, RouterError, Turn
from flows.ui import make_reply
from storage import queries as q
from tests.dialogue import Resident
from tests.seeding import World, seed

# --- button data ------------------------------------------------------------------------------


def test_every_action_is_made_and_parsed_by_its_declaration() -> None:
    router = build_router()

    def sample(arg: Arg) -> object:
        """A value the argument type accepts: an id, a language, an invitation code."""
        for candidate in (1, "sr_Latn", staff.new_code()):
            if arg(str(candidate)) is not None:
                return candidate
        raise AssertionError(f"no sample value for {arg}")

    for code, action in router.actions.items():
        values = [sample(arg) for arg in action.args]
        found = router.parse(action.data(*values))
        assert found is not None and found[0] is action, code
        assert found[1] == values


@pytest.mark.parametrize(
    "data",
    [
        "", "Q:1", "B:1:2:3:4", "B;1", "ب:1", "B:" + "1" * 70, "L:ar:1 OR 1=1",
        "B", "B:abc", "B:-1", "B:99999999999", "L:a1:3", "SL:xx_Latn1", "b:1", "DEL:1",
    ],
)  # fmt: skip
def test_anything_the_bot_did_not_make_is_refused(data: str) -> None:
    assert build_router().parse(data) is None


def test_making_unsafe_data_fails_loudly() -> None:
    router = build_router()
    with pytest.raises(ValueError):
        router.actions["S"].data("Sewing workshop")
    with pytest.raises(ValueError):
        router.actions["S"].data("9" * 70)
    with pytest.raises(ValueError):
        router.actions["S"].data()  # a missing argument


def test_two_features_cannot_claim_one_code_or_command() -> None:
    twin = Feature("twin")
    twin.action("B", Int)(lambda turn, n: None)
    with pytest.raises(RouterError, match="declared twice"):
        Router((*FEATURES, twin))
    other = Feature("other")
    other.command("menu", N_("Main menu"))(lambda turn: None)
    with pytest.raises(RouterError, match="/menu"):
        Router((*FEATURES, other))


def test_the_command_menu_comes_from_the_features_in_each_language(app: App) -> None:
    router = build_router()
    english = dict(router.command_menu(app.catalogs.translator("en")))
    assert {"start", "menu", "language", "help", "mydata", "delete"} <= set(english)
    assert "cancel" not in english  # works, but is not listed
    serbian = dict(router.command_menu(app.catalogs.translator("sr_Latn")))
    assert serbian["help"] != english["help"]


def test_locale_argument() -> None:
    assert Locale("sr_Latn") == "sr_Latn" and Locale("ar") == "ar"
    assert Locale("a1") is None and Locale("ar;") is None


# --- multi-step input ----------------------------------------------------------------------------

survey = Feature("survey")
ASK_NAME_STATE = "survey.word"
ASK_COUNT_STATE = "survey.count"


@survey.command("survey", N_("Main menu"), listed=False)
def begin(turn: Turn) -> None:
    turn.ask(ASK_NAME_STATE, make_reply(turn.t, ["Which word?"]))


@survey.on_text(ASK_NAME_STATE)
def got_word(turn: Turn, text: str) -> None:
    turn.ask(ASK_COUNT_STATE, make_reply(turn.t, ["How many?"]), word=text.strip()[:40])


@survey.on_text(ASK_COUNT_STATE)
def got_count(turn: Turn, text: str) -> None:
    if not text.strip().isdigit():
        turn.ask(ASK_COUNT_STATE, make_reply(turn.t, ["A number, please."]))
        return
    word = turn.data["word"]
    home.show_menu(turn, note=f"{word} × {int(text)}")


def survey_conversation(app: App) -> Conversation:
    return Conversation(app.database, app.conversation.services, build_router((survey,)))


def test_a_question_is_answered_after_a_restart_and_cancel_leaves_it(
    app: App, world: World
) -> None:
    person = Resident(survey_conversation(app), "9100")
    person.send("/start krnjaca")
    person.tap("English")
    person.tap("I agree")
    person.send("/survey")
    assert person.last == "Which word?"
    person.send("tea")
    assert person.last == "How many?"
    with app.database.session() as db:
        stored = q.find_person(db, app.vault, "telegram", "9100")
        assert stored is not None and stored.state == ASK_COUNT_STATE
        assert q.load_state_data(stored) == {"word": "tea"}

    # Another worker (a new engine on the same database) reads the answer.
    person.conversation = survey_conversation(app)
    person.send("many")
    assert person.last == "A number, please."
    person.send("3")
    assert "tea × 3" in person.last
    with app.database.session() as db:
        stored = q.find_person(db, app.vault, "telegram", "9100")
        assert stored is not None and q.load_state_data(stored) == {}  # cleared at the end

    person.send("/survey")
    person.send("coffee")
    person.send("/cancel")
    assert "What would you like to do?" in person.last
    person.send("4")  # no question is open any more: not read as an answer
    assert "did not understand" in person.last
    with app.database.session() as db:
        stored = q.find_person(db, app.vault, "telegram", "9100")
        assert stored is not None and q.load_state_data(stored) == {}


def test_partial_answers_are_size_capped(app: App, world: World) -> None:
    with app.database.session() as db:
        person = q.create_person(
            db, app.vault, channel="telegram", user_key="9200", locale="en",
            centre_id=world.krnjaca, now=app.clock.now(),
        )  # fmt: skip
        with pytest.raises(ValueError, match="too large"):
            q.save_state(person, ASK_NAME_STATE, {"word": "x" * 5000})
        person.state_data = "not json"
        assert q.load_state_data(person) == {}


@pytest.fixture
def world(app: App) -> World:
    return seed(app.database, app.clock.now())
