"""What each screen says and which buttons it has.

Pure functions: data and a translator in, a :class:`Reply` out. The conversation decides which
screen to show; this module decides how it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flows import payloads as p
from flows.i18n import N_, Catalogs, Translator
from flows.replies import Button, Reply
from storage.models import Centre, Person, WorkshopSession
from storage.queries import BookingView, SessionView

# Serbia's emergency numbers; 112 also works from every phone.
EMERGENCY = ((N_("Police"), "192"), (N_("Ambulance"), "194"), (N_("Fire brigade"), "193"))
TITLE_ON_BUTTON = 26  # characters of a title shown on a button: phones are narrow

Rows = Sequence[Sequence[tuple[str, str]]]


def make_reply(
    t: Translator, lines: Sequence[str], rows: Rows = (), *, replace: bool = False
) -> Reply:
    return Reply(
        text=t.lines(lines),
        buttons=tuple(tuple(Button(label, data) for label, data in row) for row in rows),
        replace=replace,
        rtl=t.rtl,
    )


def short(title: str) -> str:
    return title if len(title) <= TITLE_ON_BUTTON else title[: TITLE_ON_BUTTON - 1] + "…"


def commands(t: Translator) -> list[tuple[str, str]]:
    """The commands a platform lists in its menu, described in one language."""
    return [
        ("start", t._("Start again")),
        ("menu", t._("Main menu")),
        ("language", t._("Change language")),
        ("help", t._("Help and emergency numbers")),
        ("mydata", t._("What the bot keeps about me")),
        ("delete", t._("Delete my data")),
    ]


# --- before agreement (nothing stored; choices travel in the buttons) -------------------------


def choose_language(catalogs: Catalogs, first: str | None, centre_id: int) -> Reply:
    """Asked in every language at once: we do not know which one the person reads yet."""
    codes = catalogs.codes
    if first in codes:
        codes = [first, *(code for code in codes if code != first)]
    prompts = [catalogs.translator(code)._("Please choose your language.") for code in codes]
    t = catalogs.translator(first)
    buttons = [(t.language_name(code), p.make(p.LANGUAGE, code, centre_id)) for code in codes]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    helps = dict.fromkeys(catalogs.translator(code)._("Help") for code in codes[:3])
    rows.append([("🆘 " + " / ".join(helps), p.make(p.HELP, t.code, centre_id))])
    return Reply(
        text="👋 " + "\n".join(prompts),
        buttons=tuple(tuple(Button(label, data) for label, data in row) for row in rows),
    )


def choose_centre(
    t: Translator, centres: Sequence[Centre], *, consented: bool, note: str | None = None
) -> Reply:
    lines = [note] if note else []
    if not centres:
        lines.append(t._("No centres are set up yet. Please ask the staff at your centre."))
        return make_reply(t, lines)
    lines.append(t._("Which centre do you live in?"))
    rows: list[list[tuple[str, str]]] = []
    for centre in centres:
        data = p.make(p.CENTRE, centre.id) if consented else p.make(p.CENTRE, t.code, centre.id)
        rows.append([(centre.name, data)])
    if consented:
        rows.append([(back_label(t), p.MENU)])
    else:
        rows.append([("🆘 " + t._("Help"), p.make(p.HELP, t.code, 0))])
    return make_reply(t, lines, rows, replace=consented)


def notice(t: Translator, centre: Centre) -> Reply:
    lines = [
        t._("Welcome to the workshops at {centre}.", centre=centre.name),
        "",
        t._("Before we start, please read this:"),
        "• " + t._("This bot keeps only your language, your centre and the workshops you book."),
        "• " + t._("The bot does not keep your name, your phone number or your messages."),
        "• " + t._("You can see what the bot keeps with /mydata and delete it all with /delete."),
        "• " + t._("Workshops are free and voluntary. You can cancel at any time."),
        "",
        t._("Do you agree?"),
    ]
    rows = [
        [("✅ " + t._("I agree"), p.make(p.AGREE, t.code, centre.id))],
        [("❌ " + t._("No, thank you"), p.make(p.DECLINE, t.code, centre.id))],
        [("🆘 " + t._("Help"), p.make(p.HELP, t.code, centre.id))],
    ]
    return make_reply(t, lines, rows, replace=True)


def declined(t: Translator, centre_id: int) -> Reply:
    lines = [
        t._("That is fine. Nothing about you was saved."),
        t._("If you change your mind, send /start. Help is always here: /help"),
    ]
    rows = [[("🆘 " + t._("Help"), p.make(p.HELP, t.code, centre_id))]]
    return make_reply(t, lines, rows, replace=True)


# --- help (works without agreement) -------------------------------------------------------


def help_screen(
    t: Translator, centre: Centre | None, *, consented: bool, centre_id: int = 0
) -> Reply:
    lines = [t._("If you are in danger or need urgent help, call:")]
    lines += [f"• {t._(name)}: {number}" for name, number in EMERGENCY]
    lines.append("• " + t._("Emergency (any phone): {number}", number="112"))
    lines.append("")
    if centre is not None and centre.contact:
        lines.append(
            t._("Staff at {centre}: {contact}", centre=centre.name, contact=centre.contact)
        )
    lines.append(t._("The staff at your centre can help you with anything about the workshops."))
    if consented:
        rows = [[(back_label(t), p.MENU)]]
    else:
        rows = [[("⬅️ " + t._("Back"), p.make(p.LANGUAGE, t.code, centre_id))]]
    return make_reply(t, lines, rows)


# --- after agreement ------------------------------------------------------------------------


def back_label(t: Translator) -> str:
    return "⬅️ " + t._("Menu")


def menu(t: Translator, centre: Centre | None, note: str | None = None) -> Reply:
    lines = [note, ""] if note else []
    if centre is not None:
        lines.append(t._("You are at {centre}. What would you like to do?", centre=centre.name))
    else:
        lines.append(t._("What would you like to do?"))
    rows = [
        [("📅 " + t._("Upcoming workshops"), p.WORKSHOPS)],
        [("🎟️ " + t._("My bookings"), p.MY_BOOKINGS)],
        [("🆘 " + t._("Help"), p.HELP), ("🌐 " + t._("Language"), p.PICK_LANGUAGE)],
        [("🏠 " + t._("Change centre"), p.PICK_CENTRE)],
    ]
    return make_reply(t, lines, rows)


def pick_language(t: Translator, catalogs: Catalogs) -> Reply:
    buttons = [(t.language_name(code), p.make(p.LANGUAGE, code)) for code in catalogs.codes]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(back_label(t), p.MENU)])
    return make_reply(t, [t._("Please choose your language.")], rows, replace=True)


def seats(t: Translator, view: SessionView) -> str:
    if view.seats_left == 0:
        return t._("No seats left. You can join the waitlist.")
    return t.ngettext("{count} seat left", "{count} seats left", view.seats_left)


def languages(t: Translator, session: WorkshopSession) -> str | None:
    codes = [code for code in session.languages.split(",") if code]
    if not codes:
        return None
    return t._("Languages: {languages}", languages=", ".join(t.language_name(c) for c in codes))


def workshops(t: Translator, centre: Centre, views: Sequence[SessionView]) -> Reply:
    if not views:
        lines = [
            t._("There are no workshops planned at {centre} yet.", centre=centre.name),
            t._("Please look again in a few days."),
        ]
        return make_reply(t, lines, [[(back_label(t), p.MENU)]], replace=True)
    lines = [t._("Upcoming workshops at {centre}:", centre=centre.name)]
    rows: list[list[tuple[str, str]]] = []
    for view in views:
        session = view.session
        lines.append("")
        lines.append(f"▪️ {t.iso(session.title)}")
        lines.append(f"🕒 {t.when(session.starts_at, centre.timezone)}")
        lines.append(f"🪑 {seats(t, view)}")
        spoken = languages(t, session)
        if spoken:
            lines.append(f"🗣️ {spoken}")
        label = t._(
            "{day} {time}: {title}",
            day=t.day(session.starts_at, centre.timezone),
            time=t.time(session.starts_at, centre.timezone),
            title=short(session.title),
        )
        rows.append([(label, p.make(p.DETAILS, session.id))])
    lines += ["", t._("Tap a workshop to see more and book a seat.")]
    rows.append([(back_label(t), p.MENU)])
    return make_reply(t, lines, rows, replace=True)


def details(t: Translator, centre: Centre, view: SessionView, booking: BookingView | None) -> Reply:
    session = view.session
    lines = [
        f"▪️ {t.iso(session.title)}",
        f"🕒 {t.when(session.starts_at, centre.timezone)}",
        "⏱️ " + t.ngettext("{count} minute", "{count} minutes", session.minutes),
    ]
    if session.place:
        lines.append(f"📍 {t.iso(session.place)}")
    spoken = languages(t, session)
    if spoken:
        lines.append(f"🗣️ {spoken}")
    lines.append(f"🪑 {seats(t, view)}")
    rows: list[list[tuple[str, str]]] = []
    if booking is not None and booking.position == 0:
        lines += ["", "✅ " + t._("You have a seat.")]
        rows.append([("❌ " + t._("Cancel my booking"), p.make(p.CANCEL, booking.booking.id))])
    elif booking is not None:
        lines += [
            "",
            "⏳ "
            + t._(
                "You are number {position} on the waitlist.", position=t.number(booking.position)
            ),
        ]
        rows.append([("❌ " + t._("Leave the waitlist"), p.make(p.CANCEL, booking.booking.id))])
    elif view.seats_left > 0:
        rows.append([("✅ " + t._("Book a seat"), p.make(p.BOOK, session.id))])
    else:
        rows.append([("⏳ " + t._("Join the waitlist"), p.make(p.BOOK, session.id))])
    rows.append([("⬅️ " + t._("All workshops"), p.WORKSHOPS)])
    return make_reply(t, lines, rows, replace=True)


def my_bookings(t: Translator, centre_zone: str, views: Sequence[BookingView]) -> Reply:
    if not views:
        lines = [t._("You have no bookings yet.")]
        rows = [[("📅 " + t._("Upcoming workshops"), p.WORKSHOPS)], [(back_label(t), p.MENU)]]
        return make_reply(t, lines, rows, replace=True)
    lines = [t._("Your bookings:")]
    rows = []
    for view in views:
        when = t.when(view.session.starts_at, centre_zone)
        lines.append("")
        if view.position == 0:
            lines.append(f"✅ {t.iso(view.session.title)}")
        else:
            lines.append(f"⏳ {t.iso(view.session.title)}")
            lines.append(t._("Waitlist number {position}", position=t.number(view.position)))
        lines.append(f"🕒 {when}")
        label = t._(
            "Cancel: {day} {time}",
            day=t.day(view.session.starts_at, centre_zone),
            time=t.time(view.session.starts_at, centre_zone),
        )
        rows.append([("❌ " + label, p.make(p.CANCEL, view.booking.id))])
    rows.append([(back_label(t), p.MENU)])
    return make_reply(t, lines, rows, replace=True)


def after_booking(t: Translator, lines: Sequence[str]) -> Reply:
    rows = [[("🎟️ " + t._("My bookings"), p.MY_BOOKINGS)], [(back_label(t), p.MENU)]]
    return make_reply(t, lines, rows)


def what_we_keep(
    t: Translator, person: Person, centre: Centre | None, bookings: int, zone: str
) -> Reply:
    lines = [
        t._("This is everything the bot keeps about you:"),
        "• " + t._("Language: {language}", language=t.language_name(person.locale)),
        "• " + t._("Centre: {centre}", centre=centre.name if centre else "-"),
        "• " + t._("Date you agreed: {date}", date=t.date(person.consented_at, zone)),
        "• " + t.ngettext("{count} booking", "{count} bookings", bookings),
        "",
        t._("The bot does not keep your name, your phone number or your messages."),
        t._("To delete everything, send /delete."),
    ]
    return make_reply(t, lines, [[(back_label(t), p.MENU)]])


def confirm_erase(t: Translator) -> Reply:
    lines = [
        t._("Do you want to delete everything the bot keeps about you?"),
        t._("Your bookings will be cancelled."),
    ]
    rows = [[("🗑️ " + t._("Yes, delete everything"), p.ERASE)], [("⬅️ " + t._("No"), p.MENU)]]
    return make_reply(t, lines, rows)


def erased(t: Translator) -> Reply:
    return make_reply(
        t,
        [
            t._("Everything is deleted. Thank you for taking part."),
            t._("You can start again at any time with /start."),
        ],
    )


# --- messages the bot starts -----------------------------------------------------------------


def seat_offered(t: Translator, session: WorkshopSession, zone: str, booking_id: int) -> Reply:
    lines = [
        "🎉 " + t._("Good news: a seat became free and it is yours."),
        f"▪️ {t.iso(session.title)}",
        f"🕒 {t.when(session.starts_at, zone)}",
        t._("If you cannot come, please cancel so someone else can have the seat."),
    ]
    rows = [
        [("❌ " + t._("I can't come"), p.make(p.CANCEL, booking_id))],
        [("🎟️ " + t._("My bookings"), p.MY_BOOKINGS)],
    ]
    return make_reply(t, lines, rows)


def reminder_lines(
    t: Translator, session: WorkshopSession, zone: str, left: timedelta
) -> list[str]:
    lines = [
        "⏰ " + t._("Reminder: your workshop starts in {time_left}.", time_left=t.duration(left)),
        f"▪️ {t.iso(session.title)}",
        f"🕒 {t.when(session.starts_at, zone)}",
    ]
    if session.place:
        lines.append(f"📍 {t.iso(session.place)}")
    return lines


def reminder(t: Translator, lines: Sequence[str], booking_id: int) -> Reply:
    rows = [
        [("✅ " + t._("I'll come"), p.make(p.COMING, booking_id))],
        [("❌ " + t._("I can't come"), p.make(p.CANCEL, booking_id))],
    ]
    return make_reply(t, lines, rows)


def feedback_invitation(t: Translator, session: WorkshopSession) -> Reply:
    lines = [
        "🙏 " + t._("Thank you for taking part in {title}.", title=session.title),
        t._("Soon we will ask you a few short questions about it. Your answers are anonymous."),
    ]
    return make_reply(t, lines, [[(back_label(t), p.MENU)]])


def session_moved(t: Translator, session: WorkshopSession, zone: str) -> Reply:
    lines = [
        "🔁 " + t._("The time of this workshop has changed."),
        f"▪️ {t.iso(session.title)}",
        f"🕒 {t.when(session.starts_at, zone)}",
        t._("If you cannot come at the new time, please cancel your booking."),
    ]
    rows = [[("🎟️ " + t._("My bookings"), p.MY_BOOKINGS)]]
    return make_reply(t, lines, rows)


def session_cancelled(t: Translator, session: WorkshopSession, zone: str) -> Reply:
    lines = [
        t._("We are sorry: this workshop was cancelled."),
        f"▪️ {t.iso(session.title)}",
        f"🕒 {t.when(session.starts_at, zone)}",
    ]
    rows = [[("📅 " + t._("Other workshops"), p.WORKSHOPS)]]
    return make_reply(t, lines, rows)
