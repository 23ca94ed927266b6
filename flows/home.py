"""Home: the main menu, help (which works without agreeing to anything), leaving a step, and
a kind answer to whatever the bot cannot read.

The main menu is assembled from the entries the features declare (see ``menu_entry``).
"""

from __future__ import annotations

from typing import TypeGuard

from flows import names, onboarding
from flows.helplines import Helplines
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Feature, Int, Locale, Turn
from flows.ui import back, make_reply
from storage import queries as q
from storage.models import Centre, Role, StaffMember, StaffView

feature = Feature("home")

MENU_STATE = "menu"
HELP_STATE = "help"
# The roles with staff tools (a protection focal point has none: see Role.FOCAL).
STAFF_TOOLS = (Role.STAFF, Role.COORDINATOR, Role.ADMIN)
MAX_TEXT = 1000  # no command or answer is longer; longer messages are not read at all


def at_work(staff: StaffMember | None) -> TypeGuard[StaffMember]:
    """A staff member in the staff view, with staff tools (a focal point has none): they see
    the staff menu, and what they type is titles and notices, not about themselves."""
    return staff is not None and staff.view == StaffView.STAFF and staff.role in STAFF_TOOLS


def back_row(t: Translator) -> list[tuple[str, str]]:
    return [(back(t) + " " + t._("Menu"), MENU.data())]


def show_menu(turn: Turn, note: str | None = None) -> None:
    """The main menu, with an optional first line (what just happened): the staff menu for
    staff in the staff view, the residents' menu for everyone else."""
    t = turn.t
    lines = [note, ""] if note else []
    staff = turn.staff
    if at_work(staff):
        centre = q.centre_by_id(turn.db, staff.centre_id) if staff.centre_id else turn.centre
        if centre is not None:
            lines.append("🛠 " + t._("Staff tools for {centre}.", centre=names.centre(t, centre)))
        else:
            lines.append("🛠 " + t._("Staff tools."))
        rows = turn.router.menu_rows(t, "staff", staff.role)
        turn.show(MENU_STATE, make_reply(t, lines, rows))
        return
    centre = turn.centre
    if centre is not None:
        lines.append(
            t._("You are at {centre}. What would you like to do?", centre=names.centre(t, centre))
        )
    else:
        lines.append(t._("What would you like to do?"))
    rows = turn.router.menu_rows(t, "resident", staff.role if staff else None)
    turn.show(MENU_STATE, make_reply(t, lines, rows))


def _menu(turn: Turn) -> None:
    show_menu(turn)


MENU = feature.action("M")(_menu)


@feature.command("menu", N_("Main menu"))
def menu_command(turn: Turn) -> None:
    show_menu(turn)


@feature.command("cancel", N_("Stop what I am doing"), listed=False)
def cancel_command(turn: Turn) -> None:
    """Leaves any step in progress (its partial answers are dropped with the state)."""
    show_menu(turn)


# --- help ---------------------------------------------------------------------------------------


def who_helps(t: Translator, helplines: Helplines, centre: Centre | None) -> list[str]:
    """Emergency numbers, the centre's own staff and psychologist, and the free support
    lines: what the help screen and the answer to someone in crisis both show."""
    lines = [t._("If you are in danger or need urgent help, call:")]
    lines += ["• " + item.line(t) for item in helplines.emergency]
    if centre is not None and (centre.contact or centre.psychologist):
        lines.append("")
        if centre.contact:
            lines.append(
                t._(
                    "Staff at {centre}: {contact}",
                    centre=names.centre(t, centre),
                    contact=centre.contact,
                )
            )
        if centre.psychologist:
            lines.append(t._("Psychologist at the centre: {hours}", hours=centre.psychologist))
    if helplines.lines:
        lines += ["", t._("Free support lines (you can talk to a person):")]
        for line in helplines.lines:
            head, detail = line.lines(t)
            lines += ["• " + head, "  " + detail]
    return lines


def help_screen(
    t: Translator,
    helplines: Helplines,
    centre: Centre | None,
    way_back: tuple[str, str],
    more: list[list[tuple[str, str]]] | None = None,
) -> Reply:
    lines = who_helps(t, helplines, centre)
    lines += ["", t._("The staff at your centre can help you with anything about the workshops.")]
    return make_reply(t, lines, [*(more or []), [way_back]])


def show_help(turn: Turn, centre_id: int = 0, locale: str | None = None) -> None:
    """Help for anyone: before agreement the language and centre chosen so far come with the
    button, and the Back button returns to where the person was."""
    helplines = turn.services.helplines
    if turn.person is not None:
        t = turn.t
        more = turn.router.menu_rows(t, "help")  # what features add (reporting abuse)
        reply = help_screen(t, helplines, turn.centre, back_row(t)[0], more)
        turn.show(HELP_STATE, reply)
        return
    if locale is not None and turn.services.catalogs.supports(locale):
        turn.t = turn.services.catalogs.translator(locale)
    t = turn.t
    centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
    to_start = (back(t) + " " + t._("Back"), onboarding.LANGUAGE.data(t.code, centre_id))
    turn.say(help_screen(t, helplines, centre, to_start))


def _help(turn: Turn, locale: str | None = None, centre_id: int | None = None) -> None:
    show_help(turn, centre_id or 0, locale)


HELP = feature.action("H", Locale, Int, consent=False, optional=2)(_help)


@feature.command("help", N_("Help and emergency numbers"), consent=False)
def help_command(turn: Turn) -> None:
    show_help(turn)


feature.menu_entry(30, "🆘", N_("Help"), HELP, row=3)
feature.menu_entry(99, "🆘", N_("Help"), HELP, row=99, menu="staff")


# --- what the bot cannot read ---------------------------------------------------------------------


def not_understood(turn: Turn, why: str) -> None:
    """Say kindly what went wrong, then offer a way on: the menu, or the start for a newcomer."""
    if turn.person is None:
        turn.say(Reply(text=turn.t.lines([why]), rtl=turn.t.rtl))
        onboarding.ask_language(turn, centre_id=0)
        return
    show_menu(turn, note=why + " " + turn.t._("Please use the buttons below."))


def stale(turn: Turn) -> None:
    """Button data that is not (or no longer) valid: forged, or from an old message."""
    if turn.person is None:
        onboarding.ask_language(turn, centre_id=0)  # e.g. a button tapped after /delete
        return
    not_understood(turn, turn.t._("This button is no longer valid."))


def unsupported(turn: Turn) -> None:
    not_understood(turn, turn.t._("I only understand written messages and buttons."))


def unknown_command(turn: Turn) -> None:
    not_understood(turn, turn.t._("I do not know that command."))


def text(turn: Turn, typed: str) -> None:
    """Text typed where no question was asked: a few words are understood, the rest is not."""
    if len(typed) > MAX_TEXT:
        not_understood(turn, turn.t._("Your message is too long."))
        return
    word = typed.strip().casefold()
    if word in {"help", "sos", turn.t._("Help").casefold()}:
        show_help(turn)
    elif word in {"menu", "start", turn.t._("Menu").casefold()}:
        if turn.person is not None:
            show_menu(turn)
        else:
            onboarding.start(turn, "")
    else:
        not_understood(turn, turn.t._("Sorry, I did not understand that."))


def sorry(t: Translator) -> Reply:
    """What a person reads when handling their message failed: never silence."""
    text_ = t._("Sorry, something went wrong on our side. Please try again in a minute.")
    rows = [back_row(t), [("🆘 " + t._("Help"), HELP.data())]]
    return make_reply(t, [text_], rows)
