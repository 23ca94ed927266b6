"""Feedback after a workshop: the invitation, ``/feedback``, and the questionnaire.

A person who took part in a session (marked as attended where attendance was taken,
otherwise booked with a seat) may answer once, until 7 days after it ended. The questions
come from the questionnaire file of the session's centre (``flows.questionnaire``); any can
be skipped. Before the first question the person reads that the answers are kept without
their identity and that staff only see totals of groups of at least five.

The answers so far live in the person's conversation state, and nowhere else, until the last
question; then one anonymous row is written (``q.record_feedback``) and the state is cleared.
Leaving the questionnaire drops them. A tap on an old or forged button, or an answer after the
questionnaire was left, changes nothing.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from flows import home, names
from flows.figures import iso_week
from flows.i18n import N_, Translator
from flows.questionnaire import Question, Questionnaire, encode
from flows.replies import Reply
from flows.router import Feature, Int, Turn
from flows.ui import make_reply, short, when
from storage import queries as q
from storage.models import Centre, WorkshopSession

feature = Feature("feedback", view="resident")

STATE = "feedback"
SKIP = 0  # the choice number of "skip" (choices are numbered from 1)
LONGEST = 20_000  # typed text that still reaches the questionnaire (it says what was kept)


# --- the invitation and /feedback -----------------------------------------------------------


def invitation(t: Translator, session: WorkshopSession, booking_id: int) -> Reply:
    """Sent after a session to the people who took part (through the ledger)."""
    lines = [
        "🙏 " + t._("Thank you for taking part in {title}.", title=names.title(t, session)),
        t._("Would you tell us how it was? It takes one minute, and your answers are anonymous."),
    ]
    rows = [
        [("✍️ " + t._("Give feedback"), START.data(booking_id))],
        home.back_row(t),
    ]
    return make_reply(t, lines, rows)


@feature.command("feedback", N_("Tell us how a workshop was"))
def feedback_command(turn: Turn) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    t = turn.t
    open_ = q.feedback_open(turn.db, person.id, turn.now)
    if not open_:
        note = t._(
            "There is no workshop to give feedback on now. After a workshop you took part in, "
            "you can give feedback for 7 days."
        )
        home.show_menu(turn, note="ℹ️ " + note)
        return
    if len(open_) == 1:
        _start(turn, int(open_[0][0].id or 0))
        return
    lines = [t._("Which workshop would you like to give feedback on?")]
    rows = [
        [(f"✍️ {short(names.title(t, session))}, {when(t, session.starts_at, turn.zone, turn.now)}",
          START.data(booking.id))]
        for booking, session in open_[:8]
    ]  # fmt: skip
    turn.show(home.MENU_STATE, make_reply(t, lines, [*rows, home.back_row(t)]))


# --- the questionnaire ---------------------------------------------------------------------------


def _start(turn: Turn, booking_id: int) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    check = q.feedback_check(turn.db, person.id, booking_id, turn.now)
    if not _eligible(turn, check):
        return
    assert check.centre is not None
    questionnaire = _questionnaire(turn, check.centre)
    asked = questionnaire.for_language(turn.t)
    if not asked:
        note = turn.t._("Sorry, the questions are not yet available in your language.")
        home.show_menu(turn, note="ℹ️ " + note)
        return
    data = {"b": booking_id, "q": asked, "i": 0, "a": {}}
    _ask(turn, questionnaire, data, first=True)


START = feature.action("FS", Int)(_start)


def _eligible(turn: Turn, check: q.FeedbackCheck) -> bool:
    t = turn.t
    outcome = check.outcome
    if outcome is q.Eligible.YES:
        return True
    if outcome is q.Eligible.NOT_YOURS:
        home.stale(turn)
        return False
    notes = {
        q.Eligible.ALREADY: "🙏 " + t._("We already received your feedback on this workshop. "
                                       "Thank you!"),
        q.Eligible.NOT_YET: "ℹ️ " + t._("You can give feedback once the workshop has ended."),
        q.Eligible.TOO_LATE: "ℹ️ " + t._("Feedback on this workshop is closed: it can be given "
                                        "for 7 days after the workshop."),
        q.Eligible.NO_SEAT: "ℹ️ " + t._("Feedback is for the people who took part in the "
                                       "workshop."),
    }  # fmt: skip
    home.show_menu(turn, note=notes[outcome])
    return False


def _questionnaire(turn: Turn, centre: Centre | None) -> Questionnaire:
    return turn.services.questionnaires.for_centre(centre.slug if centre else None)


def _ask(turn: Turn, questionnaire: Questionnaire, data: dict[str, Any], *, first: bool = False,
         note: str | None = None) -> None:  # fmt: skip
    t = turn.t
    asked: list[int] = data["q"]
    position: int = data["i"]
    question = questionnaire.questions[asked[position]]
    lines: list[str] = []
    if first:
        lines += [
            "🔒 " + t._("Your answers are stored without your name or any link to you."),
            t._("Staff only see totals for groups of at least 5 people."),
            t._("You can skip any question."),
            "",
        ]
    if note:
        lines += [note, ""]
    lines.append(
        t._("Question {number} of {total}:", number=t.number(position + 1),
            total=t.number(len(asked)))
    )  # fmt: skip
    lines.append(t._(question.text))
    rows = _answer_rows(t, question, int(data["b"]), position)
    if question.faces:
        low, high = question.choices[0], question.choices[-1]
        lines.append(f"{low.icon} {t._(low.label)} … {high.icon} {t._(high.label)}")
    if question.typed:
        lines.append(t._("Write your answer below, in at most {count} characters.",
                         count=t.number(question.limit)))  # fmt: skip
        lines.append(t._("Please do not write names."))
    turn.ask(STATE, make_reply(t, lines, rows), **data)


def _answer_rows(
    t: Translator, question: Question, booking_id: int, position: int
) -> list[list[tuple[str, str]]]:
    choices = [
        (choice.icon if question.faces else f"{choice.icon} {t._(choice.label)}".strip(),
         ANSWER.data(booking_id, position, number))
        for number, choice in enumerate(question.choices, start=1)
    ]  # fmt: skip
    rows = [choices] if question.faces else [[choice] for choice in choices]
    rows.append([("⏭ " + t._("Skip"), ANSWER.data(booking_id, position, SKIP))])
    rows.append([("✖️ " + t._("Stop (nothing is saved)"), home.MENU.data())])
    return rows


def _in_progress(turn: Turn, booking_id: int) -> dict[str, Any] | None:
    """The questionnaire in progress for this booking, or None after telling the person why
    there is none (it ended, was left, or the button was forged)."""
    person = turn.person
    assert person is not None and person.id is not None
    data = turn.data
    if person.state == STATE and data.get("b") == booking_id and _valid(data):
        return data
    check = q.feedback_check(turn.db, person.id, booking_id, turn.now)
    if check.outcome is q.Eligible.YES:
        note = turn.t._("This questionnaire was closed, and nothing was saved. "
                        "To start again, send /feedback.")  # fmt: skip
        home.show_menu(turn, note="ℹ️ " + note)
    else:
        _eligible(turn, check)
    return None


def _valid(data: dict[str, Any]) -> bool:
    asked, position = data.get("q"), data.get("i")
    return (
        isinstance(asked, list)
        and all(isinstance(item, int) for item in asked)
        and isinstance(position, int)
        and 0 <= position < len(asked)
        and isinstance(data.get("a"), dict)
    )


def _answer(turn: Turn, booking_id: int, position: int, number: int) -> None:
    data = _in_progress(turn, booking_id)
    if data is None:
        return
    questionnaire, question = _current(turn, data)
    if question is None:
        home.stale(turn)
        return
    if position != data["i"]:  # a second tap, or a button of an earlier question
        _ask(turn, questionnaire, data, note="ℹ️ " + turn.t._("That question was already answered."))
        return
    if number != SKIP:
        if question.typed or not 1 <= number <= len(question.choices):
            home.stale(turn)
            return
        data["a"][question.id] = question.choices[number - 1].value
    _next(turn, questionnaire, data)


ANSWER = feature.action("FA", Int, Int, Int)(_answer)


def _current(turn: Turn, data: dict[str, Any]) -> tuple[Questionnaire, Question | None]:
    person = turn.person
    assert person is not None and person.id is not None
    check = q.feedback_check(turn.db, person.id, int(data["b"]), turn.now)
    questionnaire = _questionnaire(turn, check.centre)
    return questionnaire, questionnaire.question(data["q"][data["i"]])


@feature.on_text(STATE, longest=LONGEST)
def _typed(turn: Turn, text: str) -> None:
    data = turn.data
    if not _valid(data):
        home.show_menu(turn)
        return
    questionnaire, question = _current(turn, data)
    t = turn.t
    if question is None:
        home.show_menu(turn)
        return
    if not question.typed:
        _ask(turn, questionnaire, data, note="ℹ️ " + t._("Please answer with the buttons."))
        return
    comment, trimmed = clean(text, question.limit)
    if trimmed:
        data["trimmed"] = question.limit
    if comment:
        data["c"] = comment
    _next(turn, questionnaire, data)


def clean(text: str, limit: int) -> tuple[str, bool]:
    """Typed text as it may be kept: control characters become spaces, runs of spaces one,
    at most ``limit`` characters. Also says whether it had to be shortened."""
    letters = (" " if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200c\u200d"
               else ch for ch in text)  # fmt: skip
    tidy = " ".join("".join(letters).split())
    if len(tidy) <= limit:
        return tidy, False
    return tidy[:limit].rstrip(), True


def _next(turn: Turn, questionnaire: Questionnaire, data: dict[str, Any]) -> None:
    data["i"] += 1
    if data["i"] < len(data["q"]):
        _ask(turn, questionnaire, data)
        return
    _finish(turn, data)


def _finish(turn: Turn, data: dict[str, Any]) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    t = turn.t
    check = q.feedback_check(turn.db, person.id, int(data["b"]), turn.now)
    if not _eligible(turn, check):
        return
    assert check.session is not None and check.centre is not None
    zone = ZoneInfo(check.centre.timezone)
    week = iso_week(check.session.starts_at.astimezone(zone).date())
    answers = {str(key): str(value) for key, value in data["a"].items()}
    saved = q.record_feedback(
        turn.db,
        int(data["b"]),
        centre_id=check.centre.id or 0,
        workshop=check.session.title,
        week=week,
        answers=encode(answers),
        comment=data.get("c"),
    )
    if not saved:  # given meanwhile (a second worker, a double tap)
        _eligible(turn, q.FeedbackCheck(q.Eligible.ALREADY))
        return
    lines = ["🙏 " + t._("Thank you! Your answers were saved without your name.")]
    if data.get("trimmed"):
        lines.append(t._("Your comment was long, so only the first {count} characters were kept.",
                         count=t.number(int(data["trimmed"]))))  # fmt: skip
    home.show_menu(turn, note="\n".join(lines))
