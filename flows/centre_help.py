"""What residents read in help about their centre, set by its staff: the staff's contact and
when and where the psychologist can be seen (operators set the same with
``workshopbot centre help``)."""

from __future__ import annotations

from flows import home, rules, staff
from flows.i18n import N_
from flows.router import Feature, Turn
from flows.ui import back, make_reply
from storage.models import Role

feature = Feature("centre_help")

WRITERS = (str(Role.STAFF), str(Role.ADMIN))
CONTACT_STATE = "centre.contact"
PSYCHOLOGIST_STATE = "centre.psychologist"
REMOVE = "-"  # typed instead of a value: remove it


def _screen(turn: Turn, note: str | None = None) -> None:
    if staff.require(turn, roles=WRITERS) is None:
        return
    t = turn.t
    centre = staff.centre_of(turn)
    if centre is None:
        home.show_menu(turn, note="ℹ️ " + t._("Please choose a centre first."))
        return
    lines = [note, ""] if note else []
    lines += [
        t._("Residents of {centre} read this in help:", centre=centre.name),
        "• " + t._("Contact: {contact}", contact=centre.contact or "-"),
        "• " + t._("Psychologist: {hours}", hours=centre.psychologist or "-"),
    ]
    rows = [
        [("📞 " + t._("Change the contact"), CONTACT.data())],
        [("🗓 " + t._("Change the psychologist's hours"), PSYCHOLOGIST.data())],
        [(back(t) + " " + t._("Staff tools"), home.MENU.data())],
    ]
    turn.show(home.MENU_STATE, make_reply(t, lines, rows, replace=True))


SCREEN = feature.action("CH")(_screen)


def _ask(turn: Turn, state: str) -> None:
    if staff.require(turn, roles=WRITERS) is None:
        return
    t = turn.t
    if state == CONTACT_STATE:
        question = t._("Please write the contact (a phone number or office hours) in one line.")
    else:
        question = t._("Please write when and where the psychologist can be seen, in one line "
                       "(for example: Tuesday and Thursday 10:00–14:00, room 3).")  # fmt: skip
    hint = t._("Send {dash} to remove it.", dash=REMOVE)
    rows = [[(back(t) + " " + t._("Cancel"), SCREEN.data())]]
    turn.ask(state, make_reply(t, [question, hint], rows))


CONTACT = feature.action("CHC")(lambda turn: _ask(turn, CONTACT_STATE))
PSYCHOLOGIST = feature.action("CHP")(lambda turn: _ask(turn, PSYCHOLOGIST_STATE))


def _set(turn: Turn, state: str, typed: str) -> None:
    member = staff.require(turn, roles=WRITERS)
    centre = staff.centre_of(turn)
    if member is None or centre is None:
        return
    value = "" if typed.strip() == REMOVE else typed
    field = "contact" if state == CONTACT_STATE else "psychologist"
    try:
        rules.set_centre_help(turn.db, centre, **{field: value})
    except rules.Refusal as refusal:
        turn.ask(state, make_reply(turn.t, [refusal.text(turn.t)]))  # asked again
        return
    staff.audit(turn, member, "centre help set", centre.id, field)
    _screen(turn, note="✅ " + turn.t._("Saved."))


@feature.on_text(CONTACT_STATE)
def _contact(turn: Turn, typed: str) -> None:
    _set(turn, CONTACT_STATE, typed)


@feature.on_text(PSYCHOLOGIST_STATE)
def _psychologist(turn: Turn, typed: str) -> None:
    _set(turn, PSYCHOLOGIST_STATE, typed)


feature.menu_entry(61, "📞", N_("Help details"), SCREEN, row=6, menu="staff", roles=WRITERS)
