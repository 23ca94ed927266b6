"""When a message suggests that someone is in crisis: a fixed answer, written by people, with
who can help now. The bot is not a counsellor, nobody watches it in real time, and it never
gives advice; it says so, and points to people.

The words are a reviewed list per language (``flows/data/distress.toml``, read by
``flows.distress``), matched as whole words in any language the bot has, whatever language
the person chose. The message itself is never stored: only one more in an anonymous count
per centre and ISO week (``distress_count``), which coordinators see with the figures.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flows import home, onboarding
from flows.figures import iso_week
from flows.i18n import Translator
from flows.replies import Reply
from flows.router import Turn
from flows.ui import make_reply
from storage import queries as q
from storage.models import Centre


def crisis_reply(turn: Turn, centre: Centre | None) -> Reply:
    t: Translator = turn.t
    lines = [
        "💛 " + t._("Thank you for writing. What you feel matters."),
        t._("This bot is not a counsellor, and nobody reads these messages as they arrive."),
        t._("Please talk to a person who can help you now:"),
        "",
        *home.who_helps(t, turn.services.helplines, centre),
        "",
        t._("You can also go to the staff of your centre at any time. You are not alone."),
    ]
    if turn.person is not None:
        rows = [home.back_row(t)]
    else:
        rows = [[("▶️ " + t._("Start again"), onboarding.LANGUAGE.data(t.code, 0))]]
    return make_reply(t, lines, rows)


def screen(turn: Turn, text: str) -> bool:
    """If ``text`` suggests crisis: answer with who can help, count it, and return True (the
    text is then not handled as anything else, and not kept)."""
    if not turn.services.distress.matches(text):
        return False
    centre = turn.centre
    week = iso_week(turn.now.astimezone(ZoneInfo(turn.zone)).date())
    q.count_distress(turn.db, centre.id if centre else None, week)
    turn.say(crisis_reply(turn, centre))
    return True
