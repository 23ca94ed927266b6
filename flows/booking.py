"""Booking: the workshops on offer (page by page), a session's details, a seat or a waitlist
place, my bookings, cancelling (asked once), and the answers to a reminder.

Every action is authorised here, on the server: button data names ids, never rights.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flows import account, home, names
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Feature, Int, Turn
from flows.ui import back, day, forward, make_reply, session_block, session_label, short
from storage import queries as q
from storage.models import Centre, WorkshopSession
from storage.queries import BookingView, SessionView

feature = Feature("booking", view="resident")

WORKSHOPS_STATE = "workshops"
DETAILS_STATE = "details"
MY_BOOKINGS_STATE = "my_bookings"
CONFIRM_CANCEL_STATE = "confirm_cancel"
PAGE = 6  # sessions on one page of the list: a short message on a small phone


# --- screens ---------------------------------------------------------------------------------


def workshops_screen(t: Translator, centre: Centre, page: q.SessionPage, now: datetime) -> Reply:
    zone = centre.timezone
    if not page.views:
        lines = [
            t._("There are no workshops planned at {centre} yet.", centre=names.centre(t, centre)),
            t._("Please look again in a few days."),
        ]
        return make_reply(t, lines, [home.back_row(t)], replace=True)
    lines = [t._("Upcoming workshops at {centre}:", centre=names.centre(t, centre))]
    rows: list[list[tuple[str, str]]] = []
    for view in page.views:
        session = view.session
        lines.append("")
        lines += session_block(
            t, session, zone, now, seats_left=view.seats_left, place=False, languages=True
        )
        rows.append([(session_label(t, session, zone, now), DETAILS.data(session.id))])
    lines.append("")
    if page.page > 0 or page.more:
        first = page.page * PAGE + 1
        lines.append(
            t._(
                "Workshops {first} to {last} of {total}.",
                first=t.number(first),
                last=t.number(first + len(page.views) - 1),
                total=t.number(page.total),
            )
        )
    lines.append(t._("Tap a workshop to see more and book a seat."))
    moves = []
    if page.page > 0:
        moves.append((back(t) + " " + t._("Earlier"), WORKSHOPS.data(page.page - 1)))
    if page.more:
        moves.append((forward(t) + " " + t._("Later"), WORKSHOPS.data(page.page + 1)))
    if moves:
        rows.append(moves)
    rows.append(home.back_row(t))
    return make_reply(t, lines, rows, replace=True)


def details_screen(
    t: Translator, centre: Centre, view: SessionView, booking: BookingView | None, now: datetime
) -> Reply:
    session = view.session
    lines = session_block(
        t, session, centre.timezone, now, seats_left=view.seats_left, length=True,
        languages=True,
    )  # fmt: skip
    rows: list[list[tuple[str, str]]] = []
    if booking is not None and booking.position == 0:
        lines += ["", "✅ " + t._("You have a seat."), *door_number(t, booking.booking.ticket)]
        rows.append([("❌ " + t._("Cancel my booking"), CANCEL.data(booking.booking.id))])
    elif booking is not None:
        position = t.number(booking.position)
        lines += ["", "⏳ " + t._("You are number {position} on the waitlist.", position=position)]
        rows.append([("❌ " + t._("Leave the waitlist"), CANCEL.data(booking.booking.id))])
    elif view.seats_left > 0:
        rows.append([("✅ " + t._("Book a seat"), BOOK.data(session.id))])
    else:
        rows.append([("⏳ " + t._("Join the waitlist"), BOOK.data(session.id))])
    rows.append([(back(t) + " " + t._("All workshops"), WORKSHOPS.data())])
    return make_reply(t, lines, rows, replace=True)


def my_bookings_screen(
    t: Translator,
    views: Sequence[BookingView],
    current_centre: int | None,
    now: datetime,
    note: str | None = None,
) -> Reply:
    said = [note, ""] if note else []
    if not views:
        lines = [*said, t._("You have no bookings yet.")]
        rows = [[("📅 " + t._("Upcoming workshops"), WORKSHOPS.data())], home.back_row(t)]
        return make_reply(t, lines, rows, replace=True)
    lines = [*said, t._("Your bookings:")]
    rows = []
    for view in views:
        zone = view.centre.timezone
        elsewhere = names.centre(t, view.centre) if view.centre.id != current_centre else None
        lines.append("")
        lines.append("✅ " + t._("You have a seat.") if view.position == 0 else "⏳ " + t._(
            "Waitlist number {position}", position=t.number(view.position)
        ))  # fmt: skip
        lines += session_block(t, view.session, zone, now, centre=elsewhere)
        if view.position == 0:
            lines += door_number(t, view.booking.ticket)
        label = t._(
            "Cancel: {title}, {day} {time}",
            title=short(names.title(t, view.session)),
            day=day(t, view.session.starts_at, zone, now),
            time=t.time(view.session.starts_at, zone),
        )
        if view.booking.muted:
            lines.append("🔕 " + t._("No reminders for this workshop."))
            hush = ("🔔 " + t._("Remind me"), MUTE.data(view.booking.id, 0))
        else:
            hush = ("🔕 " + t._("No reminders"), MUTE.data(view.booking.id, 1))
        rows.append([("❌ " + label, CANCEL.data(view.booking.id)), hush])
    rows.append(home.back_row(t))
    return make_reply(t, lines, rows, replace=True)


def door_number(t: Translator, ticket: int) -> list[str]:
    """The line with a person's door number (staff mark attendance by it, never by name);
    nothing for a booking made before numbers existed."""
    if ticket <= 0:
        return []
    return ["🎫 " + t._("Your number: {number}. Please show it at the door.", number=ticket)]


def after_booking(t: Translator, lines: Sequence[str]) -> Reply:
    rows = [[("🎟️ " + t._("My bookings"), MY_BOOKINGS.data())], home.back_row(t)]
    return make_reply(t, lines, rows)


# --- handlers ----------------------------------------------------------------------------------


def show_workshops(turn: Turn, page: int = 0) -> None:
    centre = turn.centre
    if centre is None or centre.id is None:
        account.pick_centre(turn)
        return
    found = q.upcoming_page(turn.db, centre.id, turn.now, page=page, size=PAGE)
    turn.show(WORKSHOPS_STATE, workshops_screen(turn.t, centre, found, turn.now))


def _workshops(turn: Turn, page: int | None = None) -> None:
    show_workshops(turn, page or 0)


WORKSHOPS = feature.action("W", Int, optional=1)(_workshops)


def _bookable(turn: Turn, session_id: int) -> tuple[Centre, SessionView] | None:
    centre = turn.centre
    view = q.session_view(turn.db, session_id)
    if (
        centre is None
        or view is None
        or view.session.centre_id != centre.id
        or view.session.cancelled_at is not None
        or view.session.starts_at <= turn.now
    ):
        return None
    return centre, view


def _unavailable(turn: Turn) -> None:
    turn.say(
        Reply(
            turn.t.lines([turn.t._("Sorry, this workshop is no longer open for booking.")]),
            rtl=turn.t.rtl,
        )
    )
    show_workshops(turn)


def _details(turn: Turn, session_id: int) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    found = _bookable(turn, session_id)
    if found is None:
        _unavailable(turn)
        return
    centre, view = found
    mine = q.person_bookings(turn.db, person.id, turn.now)
    booking = next((b for b in mine if b.session.id == view.session.id), None)
    turn.show(DETAILS_STATE, details_screen(turn.t, centre, view, booking, turn.now))


DETAILS = feature.action("S", Int)(_details)


def _book(turn: Turn, session_id: int) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    result = q.book(
        turn.db, person_id=person.id, session_id=session_id, centre_id=person.centre_id,
        now=turn.now,
    )  # fmt: skip
    found = _bookable(turn, session_id)
    if result.outcome == q.BookOutcome.UNAVAILABLE or found is None:
        _unavailable(turn)
        return
    centre, view = found
    t = turn.t
    what = session_block(t, view.session, centre.timezone, turn.now)
    position = t.number(result.position)
    lines = {
        q.BookOutcome.CONFIRMED: [
            "✅ " + t._("Your seat is booked."),
            *what,
            *door_number(t, result.ticket),
            t._("If you cannot come, please cancel so someone else can have the seat."),
        ],
        q.BookOutcome.WAITLISTED: [
            "⏳ " + t._("This workshop is full."),
            *what,
            t._("You are number {position} on the waitlist.", position=position),
            t._("If a seat becomes free, it is yours automatically and we will tell you."),
        ],
        q.BookOutcome.ALREADY_CONFIRMED: [
            "✅ " + t._("You already have a seat for this workshop."),
            *what,
            *door_number(t, result.ticket),
        ],
        q.BookOutcome.ALREADY_WAITLISTED: [
            "⏳ " + t._("You are already on the waitlist, number {position}.", position=position),
            *what,
        ],
    }[result.outcome]
    turn.show(home.MENU_STATE, after_booking(t, lines))


BOOK = feature.action("B", Int)(_book)


def show_my_bookings(turn: Turn) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    views = q.person_bookings(turn.db, person.id, turn.now)
    reply = my_bookings_screen(turn.t, views, person.centre_id, turn.now)
    turn.show(MY_BOOKINGS_STATE, reply)


MY_BOOKINGS = feature.action("K")(show_my_bookings)


def _ask_cancel(turn: Turn, booking_id: int) -> None:
    """Cancelling is asked once: a seat given up by a slip of the thumb goes to someone else."""
    person = turn.person
    assert person is not None and person.id is not None
    view = next(
        (v for v in q.person_bookings(turn.db, person.id, turn.now) if v.booking.id == booking_id),
        None,
    )
    if view is None:
        _cancel(turn, booking_id)  # gone or not theirs: say so in the same words
        return
    t = turn.t
    question = (
        t._("Do you want to cancel your seat?")
        if view.position == 0
        else t._("Do you want to leave the waitlist?")
    )
    lines = [question, *session_block(t, view.session, view.centre.timezone, turn.now)]
    rows = [
        [("❌ " + t._("Yes, cancel"), CONFIRM_CANCEL.data(booking_id))],
        [(back(t) + " " + t._("No, keep it"), MY_BOOKINGS.data())],
    ]
    turn.show(CONFIRM_CANCEL_STATE, make_reply(t, lines, rows, replace=True))


CANCEL = feature.action("X", Int)(_ask_cancel)


def _cancel(turn: Turn, booking_id: int) -> None:
    person = turn.person
    assert person is not None and person.id is not None
    t = turn.t
    result = q.cancel_booking(turn.db, person_id=person.id, booking_id=booking_id, now=turn.now)
    if result.outcome == q.CancelOutcome.NOT_FOUND:
        note = t._("This booking was not found. It may have been cancelled already.")
    elif result.outcome == q.CancelOutcome.ALREADY_CANCELLED:
        note = t._("This booking was already cancelled.")
    else:
        note = "✅ " + t._("Your booking is cancelled. Thank you for telling us.")
        turn.outcome.notify = result.promoted_person_id is not None
    home.show_menu(turn, note=note)


CONFIRM_CANCEL = feature.action("XY", Int)(_cancel)


def _mute(turn: Turn, booking_id: int, muted: int) -> None:
    """No reminders for one booking (or reminders again): the person's own, still to come."""
    person = turn.person
    assert person is not None and person.id is not None
    views = q.person_bookings(turn.db, person.id, turn.now)
    view = next((v for v in views if v.booking.id == booking_id), None)
    if view is None or muted not in (0, 1):
        home.stale(turn)
        return
    view.booking.muted = bool(muted)
    turn.db.add(view.booking)
    t = turn.t
    if muted:
        note = "🔕 " + t._(
            "You will get no reminders for {title}.", title=names.title(t, view.session)
        )
    else:
        note = "🔔 " + t._(
            "You will get reminders for {title} again.", title=names.title(t, view.session)
        )
    turn.show(MY_BOOKINGS_STATE, my_bookings_screen(t, views, person.centre_id, turn.now, note))


MUTE = feature.action("MU", Int, Int)(_mute)


def _coming(turn: Turn, booking_id: int) -> None:
    home.show_menu(turn, note="🙂 " + turn.t._("Thank you. See you there!"))


COMING = feature.action("Y", Int)(_coming)

feature.menu_entry(10, "📅", N_("Upcoming workshops"), WORKSHOPS, row=1)
feature.menu_entry(20, "🎟️", N_("My bookings"), MY_BOOKINGS, row=2)


# --- messages the bot starts (rendered from the ledger, in the receiver's language) -------------


def seat_offered(
    t: Translator,
    session: WorkshopSession,
    zone: str,
    booking_id: int,
    now: datetime,
    ticket: int = 0,
) -> Reply:
    lines = [
        "🎉 " + t._("Good news: a seat became free and it is yours."),
        *session_block(t, session, zone, now),
        *door_number(t, ticket),
        t._("If you cannot come, please cancel so someone else can have the seat."),
    ]
    rows = [
        [("❌ " + t._("I can't come"), CANCEL.data(booking_id))],
        [("🎟️ " + t._("My bookings"), MY_BOOKINGS.data())],
    ]
    return make_reply(t, lines, rows)


def reminder_lines(t: Translator, session: WorkshopSession, zone: str, now: datetime) -> list[str]:
    left = t.duration(session.starts_at - now)
    return [
        "⏰ " + t._("Reminder: your workshop starts in {time_left}.", time_left=left),
        *session_block(t, session, zone, now),
    ]


def seat_lost(
    t: Translator, session: WorkshopSession, zone: str, booking_id: int, now: datetime
) -> Reply:
    """Staff made fewer seats than people booked: the last to book went back to the top of
    the waitlist."""
    lines = [
        "⏳ " + t._("We are sorry: this workshop now has fewer seats, and you lost your seat."),
        *session_block(t, session, zone, now),
        t._("You are at the top of the waitlist."),
        t._("If a seat becomes free, it is yours automatically and we will tell you."),
    ]
    rows = [
        [("❌ " + t._("Leave the waitlist"), CANCEL.data(booking_id))],
        [("🎟️ " + t._("My bookings"), MY_BOOKINGS.data())],
    ]
    return make_reply(t, lines, rows)


def reminder_labels(t: Translator) -> list[str]:
    """The words of a reminder's buttons (the same on every reminder in one language)."""
    return [
        "✅ " + t._("I'll come"),
        "❌ " + t._("I can't come"),
        "🔕 " + t._("No more reminders for this"),
    ]


def reminder(
    t: Translator, lines: Sequence[str], labels: Sequence[str], booking_id: int, ticket: int = 0
) -> Reply:
    """A reminder: the session's lines and the buttons' words (shared by everyone booked on
    it) and this person's door number."""
    lines = [*lines, *door_number(t, ticket)]
    coming, not_coming, hush = labels
    rows = [
        [(coming, COMING.data(booking_id))],
        [(not_coming, CANCEL.data(booking_id))],
        [(hush, MUTE.data(booking_id, 1))],
    ]
    return make_reply(t, lines, rows)


def session_moved(t: Translator, session: WorkshopSession, zone: str, now: datetime) -> Reply:
    lines = [
        "🔁 " + t._("The time of this workshop has changed."),
        *session_block(t, session, zone, now),
        t._("If you cannot come at the new time, please cancel your booking."),
    ]
    return make_reply(t, lines, [[("🎟️ " + t._("My bookings"), MY_BOOKINGS.data())]])


def session_cancelled(t: Translator, session: WorkshopSession, zone: str, now: datetime) -> Reply:
    lines = [
        t._("We are sorry: this workshop was cancelled."),
        *session_block(t, session, zone, now, place=False),
    ]
    return make_reply(t, lines, [[("📅 " + t._("Other workshops"), WORKSHOPS.data())]])
