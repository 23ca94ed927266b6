"""Privacy a person can see and control: what is kept and why (/privacy), everything kept
about them (/mydata), erasing all of it (/delete), and what the bot may start: a pause of two
weeks, a stop (/stop, and Viber's "unsubscribe"), both undone from the same screen.

/privacy and /delete answer someone the bot does not know, too: there is then nothing to show
or erase. The pause and the stop hold back only what the bot starts (reminders, notices,
news of a booking); a person who writes is always answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import home, names, onboarding, staff
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Feature, Int, Locale, Turn
from flows.ui import back, make_reply, when
from storage import queries as q
from storage.models import BookingStatus, Person, StaffMember

feature = Feature("privacy")

CONFIRM_ERASE_STATE = "confirm_erase"
MESSAGES_STATE = "messages"
PAUSE = timedelta(days=14)


def nothing_kept(t: Translator) -> Reply:
    lines = [
        t._("The bot keeps nothing about you."),
        t._("To book workshops, send /start."),
    ]
    # A way on without typing (many read little): the start, in the language shown.
    rows = [[("▶️ " + t._("Start again"), onboarding.LANGUAGE.data(t.code, 0))]]
    return make_reply(t, lines, rows)


# --- what is kept, and why ----------------------------------------------------------------------


def privacy_lines(t: Translator, days: int) -> list[str]:
    """Short, for everyone: what, why, who sees it, how long, the platforms, how to delete."""
    return [
        "🔒 " + t._("Your privacy"),
        "",
        "• " + t._("The bot keeps your language, your centre and the workshops you book, to "
                   "show you workshops and remind you of them."),
        "• " + t._("It keeps whether you came to a workshop and whether you gave feedback, "
                   "for the programme's counts. Your feedback answers are anonymous: nobody "
                   "can see they are yours."),
        "• " + t._("The bot does not keep your name, your phone number or your messages."),
        "• " + t._("Centre staff see only the numbers of the seats booked, never who you "
                   "are. Coordinators see only totals."),
        "• " + t.ngettext(
            "After {count} day, old bookings become anonymous numbers. If you do not use "
            "the bot for {count} day, everything about you is deleted.",
            "After {count} days, old bookings become anonymous numbers. If you do not use "
            "the bot for {count} days, everything about you is deleted.",
            days,
        ),
        "• " + t._("Telegram and Viber also see this conversation, as with any chat."),
        "• " + t._("You can see your data with /mydata and delete it at any time with "
                   "/delete."),
    ]  # fmt: skip


def show_privacy(turn: Turn, locale: str | None = None, centre_id: int = 0) -> None:
    """The explanation; before agreement the language and centre chosen so far come with
    the button, and Back returns to the notice."""
    days = turn.services.retention_days
    if turn.person is not None:
        t = turn.t
        rows = [
            [("📋 " + t._("My data"), MY_DATA.data())],
            [("🗑️ " + t._("Delete my data"), ASK_ERASE.data())],
            home.back_row(t),
        ]
        turn.show(home.MENU_STATE, make_reply(t, privacy_lines(t, days), rows))
        return
    if locale is not None and turn.services.catalogs.supports(locale):
        turn.t = turn.services.catalogs.translator(locale)
    t = turn.t
    to_notice = (back(t) + " " + t._("Back"), onboarding.LANGUAGE.data(t.code, centre_id))
    turn.say(make_reply(t, privacy_lines(t, days), [[to_notice]]))


def _privacy(turn: Turn, locale: str | None = None, centre_id: int | None = None) -> None:
    show_privacy(turn, locale, centre_id or 0)


PRIVACY = feature.action("PV", Locale, Int, consent=False, optional=2)(_privacy)


@feature.command("privacy", N_("What the bot keeps, and why"), consent=False)
def privacy_command(turn: Turn) -> None:
    show_privacy(turn)


# --- everything kept about the person ------------------------------------------------------------


def _messages_state(t: Translator, person: Person, zone: str, now: datetime) -> str:
    if person.stopped_at is not None:
        return t._("Messages from the bot: stopped (you still get answers when you write).")
    if person.paused_until is not None and person.paused_until > now:
        return t._(
            "Messages from the bot: paused until {date}.", date=t.date(person.paused_until, zone)
        )
    return t._("Messages from the bot: on (reminders and notices).")


@feature.command("mydata", N_("What the bot keeps about me"), consent=False)
def what_we_keep(turn: Turn) -> None:
    person = turn.person
    t = turn.t
    if person is None or person.id is None:
        turn.say(nothing_kept(t))
        return
    centre, zone, now = turn.centre, turn.zone, turn.now
    views = q.person_bookings(turn.db, person.id, now)
    lines = [
        t._("This is everything the bot keeps about you:"),
        "• " + t._("Language: {language}", language=t.language_name(person.locale)),
        "• " + t._("Centre: {centre}", centre=names.centre(t, centre) or "-"),
        "• " + t._("Date you agreed: {date}", date=t.date(person.consented_at, zone)),
        "• " + t._("Last time you used the bot: {date}", date=t.date(person.last_seen_at, zone)),
        "• " + _messages_state(t, person, zone, now),
        "• " + t.ngettext("{count} booking", "{count} bookings", len(views)),
    ]
    for view in views:
        kept = t._(
            "{title}, {when}, {centre}",
            title=names.title(t, view.session),
            when=when(t, view.session.starts_at, view.centre.timezone, now),
            centre=names.centre(t, view.centre),
        )
        if view.position:
            kept += " – " + t._("waitlist number {position}", position=t.number(view.position))
        if view.booking.muted:
            kept += " – " + t._("no reminders")
        lines.append("  – " + kept)
    history = [v for v in q.person_history(turn.db, person.id, now)
               if v.booking.status != BookingStatus.CANCELLED or v.booking.attended_at]  # fmt: skip
    if history:
        lines.append("• " + t.ngettext(
            "{count} workshop that has already taken place:",
            "{count} workshops that have already taken place:", len(history),
        ))  # fmt: skip
        for view in history:
            marks = [t._("you came") if view.booking.attended_at else t._("not marked as present")]
            if view.booking.feedback_given:
                marks.append(t._("you gave feedback (your answers are not linked to you)"))
            kept = t._(
                "{title}, {date}: {marks}",
                title=names.title(t, view.session),
                date=t.date(view.session.starts_at, view.centre.timezone),
                marks=t.join(marks),
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


MY_DATA = feature.action("MD")(what_we_keep)


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


# --- erasing everything ---------------------------------------------------------------------------


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


ASK_ERASE = feature.action("DQ")(ask_erase)


def _erase(turn: Turn) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    if person.state != CONFIRM_ERASE_STATE:
        home.stale(turn)  # a forged or old "yes": erasing is only ever what was just asked
        return
    member = turn.staff
    if member is not None:  # the role goes with the person; the log keeps only the ref
        staff.audit(turn, member, "own data erased", member.centre_id)
    turn.outcome.notify |= q.erase_person(turn.db, person, turn.now, keep_mark=False)
    turn.person = None
    t = turn.t
    lines = [
        t._("Everything is deleted. Thank you for taking part."),
        t._("You can start again at any time with /start."),
    ]
    turn.say(make_reply(t, lines))


ERASE = feature.action("DEL")(_erase)


# --- what the bot may start -----------------------------------------------------------------------


def show_messages(turn: Turn, note: str | None = None) -> None:
    person = turn.person
    assert person is not None
    t, now = turn.t, turn.now
    lines = [note, ""] if note else []
    lines += [
        _messages_state(t, person, turn.zone, now),
        "",
        t._("The bot sends reminders before your workshops, news when a workshop changes, "
            "and notices from your centre."),
    ]  # fmt: skip
    quiet = person.stopped_at is not None or (
        person.paused_until is not None and person.paused_until > now
    )
    if quiet:
        lines.append(t._("While messages are paused or stopped, you also get no news when a "
                         "workshop you booked changes. Check “My bookings” yourself."))  # fmt: skip
        rows = [[("🔔 " + t._("Turn messages on again"), RESUME.data())]]
    else:
        rows = [
            [("⏸️ " + t._("Pause for two weeks"), PAUSE_ALL.data())],
            [("🔕 " + t._("Stop all messages"), STOP_ALL.data())],
        ]
    lines.append(t._("To stop reminders for one workshop only, open “My bookings”."))
    rows.append(home.back_row(t))
    turn.show(MESSAGES_STATE, make_reply(t, lines, rows, replace=True))


MESSAGES = feature.action("MS")(show_messages)


def _pause(turn: Turn) -> None:
    person = turn.person
    assert person is not None
    person.paused_until = turn.now + PAUSE
    person.stopped_at = None
    note = "⏸️ " + turn.t._(
        "Messages are paused until {date}.", date=turn.t.date(person.paused_until, turn.zone)
    )
    show_messages(turn, note)


def stop(turn: Turn) -> None:
    person = turn.person
    assert person is not None
    if person.stopped_at is None:
        person.stopped_at = turn.now
    person.paused_until = None
    show_messages(turn, "🔕 " + turn.t._("All messages from the bot are stopped."))


def _resume(turn: Turn) -> None:
    person = turn.person
    assert person is not None
    person.stopped_at = None
    person.paused_until = None
    show_messages(turn, "🔔 " + turn.t._("Messages are on again."))


def stopped_by_platform(turn: Turn) -> None:
    """Viber's "unsubscribe": the same as /stop (said to nobody: they cannot be messaged)."""
    person = turn.person
    if person is not None and person.stopped_at is None:
        person.stopped_at = turn.now
        person.paused_until = None
        turn.db.add(person)


PAUSE_ALL = feature.action("MP")(_pause)
STOP_ALL = feature.action("MX")(stop)
RESUME = feature.action("MR")(_resume)


@feature.command("stop", N_("Stop all messages from the bot"))
def stop_command(turn: Turn) -> None:
    stop(turn)


@feature.command("resume", N_("Turn messages on again"), listed=False)
def resume_command(turn: Turn) -> None:
    _resume(turn)


feature.menu_entry(50, "🔔", N_("Messages"), MESSAGES, row=5)
feature.menu_entry(51, "🔒", N_("Privacy"), PRIVACY, row=5)
