"""Privacy: what the bot keeps about a person (/mydata), and erasing all of it (/delete).

Both answer someone the bot does not know, too: there is then nothing to show or erase.
"""

from __future__ import annotations

from flows import home, onboarding, staff
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Feature, Turn
from flows.ui import back, make_reply, when
from storage import queries as q
from storage.models import StaffMember

feature = Feature("privacy")

CONFIRM_ERASE_STATE = "confirm_erase"


def nothing_kept(t: Translator) -> Reply:
    lines = [
        t._("The bot keeps nothing about you."),
        t._("To book workshops, send /start."),
    ]
    # A way on without typing (many read little): the start, in the language shown.
    rows = [[("▶️ " + t._("Start again"), onboarding.LANGUAGE.data(t.code, 0))]]
    return make_reply(t, lines, rows)


@feature.command("mydata", N_("What the bot keeps about me"), consent=False)
def what_we_keep(turn: Turn) -> None:
    person = turn.person
    t = turn.t
    if person is None or person.id is None:
        turn.say(nothing_kept(t))
        return
    centre = turn.centre
    views = q.person_bookings(turn.db, person.id, turn.now)
    lines = [
        t._("This is everything the bot keeps about you:"),
        "• " + t._("Language: {language}", language=t.language_name(person.locale)),
        "• " + t._("Centre: {centre}", centre=centre.name if centre else "-"),
        "• " + t._("Date you agreed: {date}", date=t.date(person.consented_at, turn.zone)),
        "• " + t.ngettext("{count} booking", "{count} bookings", len(views)),
    ]
    for view in views:
        kept = t._(
            "{title}, {when}, {centre}",
            title=view.session.title,
            when=when(t, view.session.starts_at, view.centre.timezone, turn.now),
            centre=view.centre.name,
        )
        lines.append("  – " + kept)
    if turn.staff is not None:
        lines += _staff_lines(turn, turn.staff)
    lines += [
        "",
        t._("The bot does not keep your name, your phone number or your messages."),
        t._("To delete everything, send /delete."),
    ]
    turn.show(home.MENU_STATE, make_reply(t, lines, [home.back_row(t)]))


def _staff_lines(turn: Turn, member: StaffMember) -> list[str]:
    """A staff role is kept too, and what its holder does is logged: say so, with the
    anonymous id the log knows them by."""
    t = turn.t
    role = staff.role_name(t, member.role)
    centre = q.centre_by_id(turn.db, member.centre_id) if member.centre_id else None
    if centre is not None:
        held = t._("Staff role: {role} at {centre}", role=role, centre=centre.name)
    else:
        held = t._("Staff role: {role}, for all centres", role=role)
    logged = t._(
        "What you do as staff is recorded in an audit log under an anonymous id: {ref}.",
        ref=member.ref,
    )
    return ["• " + held, "  – " + logged]


@feature.command("delete", N_("Delete my data"), consent=False)
def ask_erase(turn: Turn) -> None:
    t = turn.t
    if turn.person is None:
        turn.say(nothing_kept(t))
        return
    lines = [
        t._("Do you want to delete everything the bot keeps about you?"),
        t._("Your bookings will be cancelled."),
    ]
    if turn.staff is not None:
        lines.append(t._("Your staff role will end too."))
    rows = [
        [("🗑️ " + t._("Yes, delete everything"), ERASE.data())],
        [(back(t) + " " + t._("No"), home.MENU.data())],
    ]
    turn.show(CONFIRM_ERASE_STATE, make_reply(t, lines, rows))


def _erase(turn: Turn) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    if person.state != CONFIRM_ERASE_STATE:
        home.stale(turn)  # a forged or old "yes": erasing is only ever what was just asked
        return
    for view in q.person_bookings(turn.db, person.id, turn.now):
        assert view.booking.id is not None
        result = q.cancel_booking(
            turn.db, person_id=person.id, booking_id=view.booking.id, now=turn.now
        )
        turn.outcome.notify |= result.promoted_person_id is not None
    member = turn.staff
    if member is not None:  # the role goes with the person; the log keeps only the ref
        staff.audit(turn, member, "own data erased", member.centre_id)
    q.delete_person(turn.db, person)
    turn.person = None
    t = turn.t
    lines = [
        t._("Everything is deleted. Thank you for taking part."),
        t._("You can start again at any time with /start."),
    ]
    turn.say(make_reply(t, lines))


ERASE = feature.action("DEL")(_erase)
