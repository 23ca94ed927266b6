"""Staff run their centre's sessions: the week with seats taken and people waiting, a new
session step by step, changing a session (title, time, seats, room), cancelling it, and
marking who came by door number (never by name).

Every handler asks :func:`flows.staff.require` first, whatever buttons were shown: button
data names a session, never a right. Staff act on their own centre; coordinators look;
admins do everything. Every change is written to the audit log. The rules (and their
refusals) are those of the command line, :mod:`flows.rules`.

States (partial answers in the person's row, so a restart loses nothing)::

    menu ──This week──► staff.week ◄──► staff.session ──► staff.edit.title | staff.edit.room
                                         │                 staff.edit.seats ─fewer─► staff.confirm
                                         │                 staff.move.day ──► staff.move.time
                                         │                 Cancel session ──► staff.confirm
                                         └─Attendance──► staff.attendance (taps or typed numbers)
    menu ──New session──► staff.new.title ► .day ► .time ► .minutes ► .seats ► .languages
                          ► .room ► .confirm ──Create──► staff.session

Each value asked for goes back to staff.session once it is taken (or refused with the
rule's sentence and asked again); Back and Cancel buttons, /menu and /cancel leave any step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flows import account, home, names, rules, staff
from flows.i18n import N_, Translator
from flows.router import Feature, Handler, Int, Locale, Turn
from flows.ui import back, day, forward, make_reply, session_block, session_label, when
from storage import queries as q
from storage.models import Centre, Role, StaffMember, WorkshopSession

feature = Feature("staff_sessions")
# A title typed far over the limit still reaches its step, which says what the limit is
# (a Telegram message is at most 4,096 characters; Viber allows 7,000).
LONG_TITLE = 8000

WRITERS = (str(Role.STAFF), str(Role.ADMIN))  # coordinators only look
WEEK_STATE = "staff.week"
SESSION_STATE = "staff.session"
EDIT_TITLE = "staff.edit.title"
EDIT_ROOM = "staff.edit.room"
EDIT_TITLE_IN = "staff.edit.title_in"
EDIT_SEATS = "staff.edit.seats"
MOVE_DAY = "staff.move.day"
MOVE_TIME = "staff.move.time"
CONFIRM_STATE = "staff.confirm"  # "Yes, cancel it" or "Yes, fewer seats"
ATTENDANCE_STATE = "staff.attendance"
NEW_STEPS = ("title", "day", "time", "minutes", "seats", "languages", "room", "confirm")
NEW_PREFIX = "staff.new."

WEEK_PAGE = 12  # sessions on one screen of a week (Viber shows 24 buttons at most)
MAX_WEEKS = 53  # how far ahead the week pages go
TICKETS_PAGE = 20  # door numbers on one screen: 4 rows of 5, with paging and Done (Viber: 24)
TICKETS_ROW = 5
ATTENDANCE_OPENS = timedelta(hours=1)  # before the start
ATTENDANCE_CLOSES = timedelta(days=7)  # after the start
SEAT_CHOICES = (10, 15, 20, 30)
MINUTE_CHOICES = (60, 90, 120)
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")
_NUMBERS = re.compile(r"[\s,;]+")


# --- who may do what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A session this staff member may look at (or change), with its numbers."""

    member: StaffMember
    centre: Centre
    counts: q.SessionCounts

    @property
    def session(self) -> WorkshopSession:
        return self.counts.session

    @property
    def id(self) -> int:
        assert self.counts.session.id is not None
        return self.counts.session.id


def _roles(write: bool) -> tuple[str, ...]:
    return WRITERS if write else staff.ANY_ROLE


def _own_centre(turn: Turn, *, write: bool) -> tuple[StaffMember, Centre] | None:
    """The staff member and the centre they work on; an admin or coordinator who has not
    chosen one is asked to."""
    member = staff.require(turn, write=write, roles=_roles(write))
    if member is None:
        return None
    centre = staff.centre_of(turn)
    if centre is None or centre.id is None:
        account.pick_centre(turn, note=turn.t._("Please choose a centre first."))
        return None
    return member, centre


def _session(turn: Turn, session_id: int, *, write: bool) -> Found | None:
    """The session, if this person's role allows looking at it (``write``: changing it);
    otherwise None, after "not allowed" (or "no longer valid" for staff and a session
    that is not there)."""
    counts = q.session_counts(turn.db, session_id)
    if counts is None:
        if staff.require(turn, write=write, roles=_roles(write)) is not None:
            home.stale(turn)
        return None
    centre_id = counts.session.centre_id
    member = staff.require(turn, centre_id=centre_id, write=write, roles=_roles(write))
    if member is None:
        return None
    centre = q.centre_by_id(turn.db, centre_id)
    assert centre is not None  # the session's row goes with its centre
    return Found(member, centre, counts)


def _again(turn: Turn, found: Found) -> Found:
    """The same session read again after a change (its counts moved)."""
    counts = q.session_counts(turn.db, found.id)
    assert counts is not None
    return Found(found.member, found.centre, counts)


def _on_session(act: Callable[..., None], *, write: bool = True) -> Handler:
    """The handler of a button whose first value names a session: :func:`_session` looks it
    up and checks the role (``write``: may change it), then ``act(turn, found, *rest)``. A
    refusal has been answered already, and nothing else happens."""

    def handler(turn: Turn, session_id: int, *rest: int | str | None) -> None:
        found = _session(turn, session_id, write=write)
        if found is not None:
            act(turn, found, *rest)

    return handler


def _step_over(turn: Turn) -> None:
    """A button of a step the person already left (tapped twice, or an old message)."""
    home.show_menu(turn, note="ℹ️ " + turn.t._("This step is over. Nothing was changed."))


def _refused(turn: Turn, refusal: rules.Refusal) -> str:
    return "⚠️ " + refusal.text(turn.t)


def _told(t: Translator, count: int) -> str:
    return t.ngettext("{count} person will be told.", "{count} people will be told.", count)


def _local(moment: datetime, zone: str) -> str:
    """A moment for the audit log: the centre's local time, as operators type it."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


# --- days -----------------------------------------------------------------------------------


def _today(turn: Turn, zone: str) -> date:
    return turn.now.astimezone(ZoneInfo(zone)).date()


def _midnight(on: date, zone: str) -> datetime:
    return datetime.combine(on, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _day_number(on: date) -> int:
    """A day in button data: 20261202."""
    return on.year * 10000 + on.month * 100 + on.day


def _from_number(number: int) -> date | None:
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


def _typed_day(text: str) -> date | None:
    found = _DAY.fullmatch(text.strip())
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _typed_time(text: str) -> str | None:
    """ "14:30", "9:05" or "9.05" as "HH:MM"."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        return None
    hours, minutes = (int(part) for part in found.groups())
    return f"{hours:02d}:{minutes:02d}" if hours < 24 and minutes < 60 else None


def _day_rows(turn: Turn, zone: str, data: Callable[[int], str]) -> list[list[tuple[str, str]]]:
    """Buttons for the next seven days at the centre, two to a row."""
    t, today = turn.t, _today(turn, zone)
    buttons = []
    for offset in range(7):
        on = today + timedelta(days=offset)
        label = day(t, _midnight(on, zone) + timedelta(hours=12), zone, turn.now)
        buttons.append((label, data(_day_number(on))))
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


# --- the week ---------------------------------------------------------------------------------


def _week_of(turn: Turn, found: Found) -> int:
    """The week page a session is on (0: the seven days before today)."""
    zone = found.centre.timezone
    days = (found.session.starts_at.astimezone(ZoneInfo(zone)).date() - _today(turn, zone)).days
    return max(0, min(MAX_WEEKS, days // 7 + 1))


def show_week(turn: Turn, week: int = 1, part: int = 0) -> None:
    """Sessions at the staff member's centre over seven days: week 1 starts today, week 0 is
    the seven days before (to mark who came)."""
    found = _own_centre(turn, write=False)
    if found is None:
        return
    member, centre = found
    assert centre.id is not None
    t, zone = turn.t, centre.timezone
    week = min(week, MAX_WEEKS)
    first = _today(turn, zone) + timedelta(days=7 * (week - 1))
    start, end = _midnight(first, zone), _midnight(first + timedelta(days=7), zone)
    sessions = q.sessions_between(turn.db, centre.id, start, end)
    part = min(part, max(0, (len(sessions) - 1) // WEEK_PAGE))
    shown = sessions[part * WEEK_PAGE : (part + 1) * WEEK_PAGE]
    lines = [
        "📅 " + t._(
            "Sessions at {centre}, {first} to {last}:", centre=centre.name,
            first=day(t, start + timedelta(hours=12), zone, turn.now),
            last=day(t, end - timedelta(hours=12), zone, turn.now),
        )
    ]  # fmt: skip
    if not sessions:
        lines.append(t._("There are no sessions on these days."))
    else:
        lines.append(t._("Tap a session to see it or change it."))
    rows = [
        [(_week_label(t, item, zone, turn.now), SESSION.data(item.session.id))] for item in shown
    ]
    rows.append(_week_moves(t, week, part, len(sessions)))
    if member.role in WRITERS:
        rows.append([("➕ " + t._("New session"), NEW.data())])
    rows.append([(back(t) + " " + t._("Staff tools"), home.MENU.data())])
    turn.show(WEEK_STATE, make_reply(t, lines, [row for row in rows if row], replace=True))


def _week_label(t: Translator, item: q.SessionCounts, zone: str, now: datetime) -> str:
    """ "Tue, Dec 1 11:00: Sewing workshop · 8/12 +2"."""
    label = session_label(t, item.session, zone, now) + " · " + t._(
        "{taken}/{seats}", taken=t.number(item.confirmed), seats=t.number(item.session.capacity)
    )  # fmt: skip
    if item.waitlisted:
        label += " " + t.ngettext("+{count} waiting", "+{count} waiting", item.waitlisted)
    return label


def _week_moves(t: Translator, week: int, part: int, total: int) -> list[tuple[str, str]]:
    moves = []
    if part > 0:
        moves.append((back(t) + " " + t._("Earlier"), WEEK.data(week, part - 1)))
    elif week > 0:
        moves.append((back(t) + " " + t._("Week before"), WEEK.data(week - 1)))
    if (part + 1) * WEEK_PAGE < total:
        moves.append((forward(t) + " " + t._("Later"), WEEK.data(week, part + 1)))
    elif week < MAX_WEEKS:
        moves.append((forward(t) + " " + t._("Next week"), WEEK.data(week + 1)))
    return moves


def _week(turn: Turn, week: int | None = None, part: int | None = None) -> None:
    show_week(turn, 1 if week is None else week, part or 0)


WEEK = feature.action("TW", Int, Int, optional=2)(_week)


# --- one session ------------------------------------------------------------------------------


def _session_lines(turn: Turn, found: Found) -> list[str]:
    t, session, counts = turn.t, found.session, found.counts
    zone = found.centre.timezone
    lines = session_block(t, session, zone, turn.now, length=True, languages=True)
    if session.cancelled_at is not None:
        lines.append("❌ " + t._("This session is cancelled."))
    lines.append(
        "🪑 " + t._(
            "Seats taken: {taken} of {seats}", taken=t.number(counts.confirmed),
            seats=t.number(session.capacity),
        )
    )  # fmt: skip
    if counts.waitlisted:
        lines.append(
            "⏳ "
            + t.ngettext("{count} person waiting", "{count} people waiting", counts.waitlisted)
        )
    if counts.attended or session.starts_at - ATTENDANCE_OPENS <= turn.now:
        lines.append(
            "✅ " + t.ngettext("{count} person came", "{count} people came", counts.attended)
        )
    return lines


def show_session(turn: Turn, found: Found, note: str | None = None) -> None:
    """A session as staff see it, with what they may do to it."""
    t, session = turn.t, found.session
    lines = [note, ""] if note else []
    lines += _session_lines(turn, found)
    rows: list[list[tuple[str, str]]] = []
    if found.member.role in WRITERS and session.cancelled_at is None:
        sid = found.id
        rows.append(
            [("✏️ " + t._("Edit title"), TITLE.data(sid)), ("📍 " + t._("Room"), ROOM.data(sid))]
        )
        rows.append([("🌐 " + t._("Titles in other languages"), TITLES.data(sid))])
        if session.starts_at > turn.now:
            rows.append(
                [("🔁 " + t._("Move"), MOVE.data(sid)), ("🪑 " + t._("Seats"), SEATS.data(sid))]
            )
        rows.append([("✅ " + t._("Attendance"), ATTENDANCE.data(sid))])
        if session.starts_at > turn.now:
            rows.append([("❌ " + t._("Cancel session"), CANCEL.data(sid))])
    rows.append([(back(t) + " " + t._("Back"), WEEK.data(_week_of(turn, found)))])
    turn.show(SESSION_STATE, make_reply(t, lines, rows, replace=True))


SESSION = feature.action("TS", Int)(_on_session(show_session, write=False))


def _ask_value(
    turn: Turn, found: Found, state: str, question: str, extra: list[list[tuple[str, str]]],
    note: str | None = None,
) -> None:  # fmt: skip
    """Ask for one new value of a session (typed, or one of the ``extra`` buttons)."""
    t = turn.t
    lines = [note, ""] if note else []
    lines += [f"▪️ {t.iso(found.session.title)}", question]
    rows = [*extra, [(back(t) + " " + t._("Back"), SESSION.data(found.id))]]
    turn.ask(state, make_reply(t, lines, rows), session=found.id)


def _in_state(turn: Turn, state: str) -> Found | None:
    """The session of the value being asked for, authorised again (a role can be taken
    away while someone is typing)."""
    session_id = turn.data.get("session")
    if turn.person is None or turn.person.state != state or not isinstance(session_id, int):
        if staff.require(turn, write=True, roles=WRITERS) is not None:
            _step_over(turn)
        return None
    return _session(turn, session_id, write=True)


# title and room


def _ask_title(turn: Turn, found: Found, note: str | None = None) -> None:
    question = turn.t._("Please type the new title.")
    _ask_value(turn, found, EDIT_TITLE, question, [], note)


TITLE = feature.action("TT", Int)(_on_session(_ask_title))


def _known_kind(t: Translator, session: WorkshopSession, note: str) -> str:
    """A note, and if the title is a known kind's, that residents read it in their language."""
    if not session.kind:
        return note
    return note + "\n🌐 " + t._("Residents will read this title in their own language.")


@feature.on_text(EDIT_TITLE, longest=LONG_TITLE)
def _title_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, EDIT_TITLE)
    if found is None:
        return
    try:
        rules.edit_session(
            turn.db, turn.now, found.id, title=text, kinds=names.kinds(turn.services.catalogs)
        )
    except rules.Refusal as refusal:
        _ask_title(turn, found, _refused(turn, refusal))
        return
    staff.audit(turn, found.member, "session edited", found.centre.id, f"session {found.id}: title")
    note = "✅ " + turn.t._("The title is changed.")
    show_session(turn, _again(turn, found), _known_kind(turn.t, found.session, note))


# titles in other languages


def _titles(turn: Turn, found: Found, note: str | None = None) -> None:
    """The title in each language staff gave; a language to give or change one."""
    t, session = turn.t, found.session
    given = names.parse(session.titles)
    lines = [note, ""] if note else []
    lines.append(f"▪️ {t.iso(session.title)}")
    if session.kind:
        lines.append("🌐 " + t._("Residents will read this title in their own language."))
    lines.append("")
    if given:
        lines.append(t._("Residents who read one of these languages see the title given for it:"))
        lines += [f"• {t.language_name(code)}: {t.iso(text)}" for code, text in given.items()]
    else:
        lines.append(t._("No titles in other languages yet."))
    lines.append(t._("Choose a language to give or change its title."))
    codes = turn.services.catalogs.codes
    buttons = [(("✅ " if code in given else "") + t.language_name(code),
                TITLE_IN.data(found.id, code)) for code in codes]  # fmt: skip
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(back(t) + " " + t._("Back"), SESSION.data(found.id))])
    turn.show(SESSION_STATE, make_reply(t, lines, rows, replace=True))


TITLES = feature.action("TTL", Int)(_on_session(_titles))


def _ask_title_in(turn: Turn, found: Found, code: str, note: str | None = None) -> None:
    t = turn.t
    if not turn.services.catalogs.supports(code):
        home.stale(turn)
        return
    language = t.language_name(code)
    lines = [note, ""] if note else []
    lines += [f"▪️ {t.iso(found.session.title)}", t._("Please type the title in {language}.",
                                                        language=language)]  # fmt: skip
    given = names.parse(found.session.titles).get(code)
    rows = []
    if given:
        lines.append(f"• {t.iso(given)}")
        rows.append([("🚫 " + t._("Remove this title"), NO_TITLE_IN.data(found.id, code))])
    rows.append([(back(t) + " " + t._("Back"), TITLES.data(found.id))])
    turn.ask(EDIT_TITLE_IN, make_reply(t, lines, rows), session=found.id, language=code)


TITLE_IN = feature.action("TTI", Int, Locale)(_on_session(_ask_title_in))


def _set_title_in(turn: Turn, found: Found, code: str, text: str | None) -> None:
    """Give the title in a language (None: remove it)."""
    t = turn.t
    try:
        rules.set_title_version(turn.db, turn.now, found.id, code, text)
    except rules.Refusal as refusal:
        _ask_title_in(turn, found, code, _refused(turn, refusal))
        return
    detail = f"session {found.id}: title ({code})"
    staff.audit(turn, found.member, "session edited", found.centre.id, detail)
    language = t.language_name(code)
    if text is not None:
        note = "✅ " + t._("The title in {language} is saved.", language=language)
    else:
        note = "✅ " + t._("The title in {language} is removed.", language=language)
    _titles(turn, _again(turn, found), note)


@feature.on_text(EDIT_TITLE_IN, longest=LONG_TITLE)
def _title_in_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, EDIT_TITLE_IN)
    code = turn.data.get("language")
    if found is not None and isinstance(code, str):
        _set_title_in(turn, found, code, text)


NO_TITLE_IN = feature.action("TTN", Int, Locale)(_on_session(partial(_set_title_in, text=None)))


def _ask_room(turn: Turn, found: Found, note: str | None = None) -> None:
    t = turn.t
    question = t._("Please type the room or place.")
    if found.session.place:
        question += " " + t._("Now: {place}", place=found.session.place)
    extra = [[("🚫 " + t._("No room"), NO_ROOM.data(found.id))]]
    _ask_value(turn, found, EDIT_ROOM, question, extra, note)


ROOM = feature.action("TR", Int)(_on_session(_ask_room))


def _set_room(turn: Turn, found: Found, place: str) -> None:
    try:
        rules.edit_session(turn.db, turn.now, found.id, place=place)
    except rules.Refusal as refusal:
        _ask_room(turn, found, _refused(turn, refusal))
        return
    staff.audit(turn, found.member, "session edited", found.centre.id, f"session {found.id}: room")
    show_session(turn, _again(turn, found), "✅ " + turn.t._("The room is changed."))


@feature.on_text(EDIT_ROOM)
def _room_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, EDIT_ROOM)
    if found is not None:
        _set_room(turn, found, text)


NO_ROOM = feature.action("TRN", Int)(_on_session(partial(_set_room, place="")))


# seats


def _ask_seats(turn: Turn, found: Found, note: str | None = None) -> None:
    t = turn.t
    question = t._("How many seats? Tap a number or type one.") + " " + t._(
        "Now: {seats}", seats=t.number(found.session.capacity)
    )  # fmt: skip
    choices = [(t.number(n), SEATS_SET.data(found.id, n)) for n in SEAT_CHOICES]
    _ask_value(turn, found, EDIT_SEATS, question, [choices], note)


SEATS = feature.action("TC", Int)(_on_session(_ask_seats))


def _change_seats(turn: Turn, found: Found, seats: int, *, demote: bool) -> None:
    before = found.session.capacity
    try:
        changed = rules.set_capacity(turn.db, turn.now, found.id, seats, demote=demote)
    except rules.SeatsTaken as taken:
        _ask_fewer(turn, found, taken, seats)
        return
    except rules.Refusal as refusal:
        _ask_seats(turn, found, _refused(turn, refusal))
        return
    moved = changed.promoted or changed.demoted
    if moved or seats != before:  # a second tap on the same number changes nothing
        detail = f"session {found.id}: {seats} seats"
        if moved:
            detail += f", {changed.promoted} from the waitlist, {changed.demoted} back to it"
        staff.audit(turn, found.member, "seats changed", found.centre.id, detail)
    turn.outcome.notify = bool(moved)
    show_session(turn, _again(turn, found), _seats_note(turn.t, changed, seats))


def _ask_fewer(turn: Turn, found: Found, taken: rules.SeatsTaken, seats: int) -> None:
    """Fewer seats than people booked: say what will happen to them, and ask."""
    t = turn.t
    lines = ["⚠️ " + taken.text(t), "", t._("Do you want fewer seats?")]
    yes = "✅ " + t.ngettext("Yes, {count} seat", "Yes, {count} seats", seats)
    rows = [
        [(yes, SEATS_YES.data(found.id, seats))],
        [(back(t) + " " + t._("No, keep them"), SESSION.data(found.id))],
    ]
    turn.show(CONFIRM_STATE, make_reply(t, lines, rows))


def _seats_note(t: Translator, changed: rules.SeatsChanged, seats: int) -> str:
    note = "✅ " + t.ngettext(
        "The session now has {count} seat.", "The session now has {count} seats.", seats
    )
    if changed.promoted:
        note += " " + t.ngettext(
            "{count} person got a seat from the waitlist and will be told.",
            "{count} people got a seat from the waitlist and will be told.",
            changed.promoted,
        )
    if changed.demoted:
        note += " " + t.ngettext(
            "{count} person moved to the top of the waitlist and will be told.",
            "{count} people moved to the top of the waitlist and will be told.",
            changed.demoted,
        )
    return note


@feature.on_text(EDIT_SEATS)
def _seats_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, EDIT_SEATS)
    if found is None:
        return
    seats = _typed_number(text)
    if seats is None:
        _ask_seats(turn, found, "⚠️ " + turn.t._("Please type a number, like 12."))
        return
    _change_seats(turn, found, seats, demote=False)


SEATS_SET = feature.action("TCS", Int, Int)(_on_session(partial(_change_seats, demote=False)))
SEATS_YES = feature.action("TCY", Int, Int)(_on_session(partial(_change_seats, demote=True)))


def _typed_number(text: str) -> int | None:
    """A whole number as typed ("12", "-3"); None for anything else."""
    text = text.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or len(digits) > 6:
        return None
    return int(text)


# moving


def _ask_move_day(turn: Turn, found: Found, note: str | None = None) -> None:
    t, zone = turn.t, found.centre.timezone
    example = f"{_today(turn, zone) + timedelta(days=7):%Y-%m-%d}"
    question = t._("Which day should it move to? Tap a day, or type one like {example}.",
                   example=example)  # fmt: skip
    extra = _day_rows(turn, zone, lambda number: MOVE_TO_DAY.data(found.id, number))
    _ask_value(turn, found, MOVE_DAY, question, extra, note)


MOVE = feature.action("TM", Int)(_on_session(_ask_move_day))


def _move_day_chosen(turn: Turn, found: Found, on: date) -> None:
    t = turn.t
    if on < _today(turn, found.centre.timezone):
        _ask_move_day(turn, found, "⚠️ " + t._("That day has passed. Please choose another day."))
        return
    _ask_move_time(turn, found, on.isoformat())


def _ask_move_time(turn: Turn, found: Found, on: str, note: str | None = None) -> None:
    t = turn.t
    lines = [note, ""] if note else []
    shown = _shown_day(turn, on, found.centre.timezone)
    lines += [
        f"▪️ {t.iso(found.session.title)}",
        t._("At what time on {day}? Please type it like 14:30.", day=shown),
    ]
    rows = [[(back(t) + " " + t._("Back"), MOVE.data(found.id))]]
    turn.ask(MOVE_TIME, make_reply(t, lines, rows), session=found.id, day=on)


def _shown_day(turn: Turn, on: str, zone: str) -> str:
    moment = _midnight(date.fromisoformat(on), zone) + timedelta(hours=12)
    return day(turn.t, moment, zone, turn.now)


def _move_to_day(turn: Turn, found: Found, number: int) -> None:
    on = _from_number(number)
    if on is None:
        home.stale(turn)
        return
    _move_day_chosen(turn, found, on)


MOVE_TO_DAY = feature.action("TMD", Int, Int)(_on_session(_move_to_day))


@feature.on_text(MOVE_DAY)
def _move_day_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, MOVE_DAY)
    if found is None:
        return
    on = _typed_day(text)
    if on is None:
        _ask_move_day(turn, found, "⚠️ " + _day_hint(turn, found.centre.timezone))
        return
    _move_day_chosen(turn, found, on)


def _day_hint(turn: Turn, zone: str) -> str:
    example = f"{_today(turn, zone) + timedelta(days=7):%Y-%m-%d}"
    return turn.t._("Please tap a day, or type one like {example}.", example=example)


@feature.on_text(MOVE_TIME)
def _move_time_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, MOVE_TIME)
    on = turn.data.get("day")
    if found is None:
        return
    if not isinstance(on, str) or _typed_day(on) is None:
        _step_over(turn)
        return
    t = turn.t
    at = _typed_time(text)
    if at is None:
        _ask_move_time(turn, found, on, "⚠️ " + t._("Please type the time like 14:30."))
        return
    try:
        moved = rules.move_session(turn.db, turn.now, found.id, f"{on} {at}")
    except rules.Refusal as refusal:
        _ask_move_time(turn, found, on, _refused(turn, refusal))
        return
    zone = found.centre.timezone
    detail = f"session {found.id}: to {_local(moved.session.starts_at, zone)}, {moved.told} told"
    staff.audit(turn, found.member, "session moved", found.centre.id, detail)
    turn.outcome.notify = moved.told > 0
    note = "✅ " + t._("Moved to {time}.", time=when(t, moved.session.starts_at, zone, turn.now))
    note += " " + _told(t, moved.told)
    if moved.note is not None:
        note += "\n" + moved.note.text(t)
    show_session(turn, _again(turn, found), note)


# cancelling


def _ask_cancel(turn: Turn, found: Found) -> None:
    t, counts = turn.t, found.counts
    people = counts.confirmed + counts.waitlisted
    lines = [
        t._("Do you want to cancel this session?"),
        *session_block(t, found.session, found.centre.timezone, turn.now),
        t.ngettext(
            "{count} person is booked or waiting. They will be told.",
            "{count} people are booked or waiting. They will be told.",
            people,
        ),
    ]
    rows = [
        [("❌ " + t._("Yes, cancel it"), CANCEL_YES.data(found.id))],
        [(back(t) + " " + t._("No, keep it"), SESSION.data(found.id))],
    ]
    turn.show(CONFIRM_STATE, make_reply(t, lines, rows, replace=True))


CANCEL = feature.action("TX", Int)(_on_session(_ask_cancel))


def _cancel(turn: Turn, found: Found) -> None:
    t = turn.t
    try:
        cancelled = rules.cancel_session(turn.db, turn.now, found.id)
    except rules.Refusal as refusal:
        show_session(turn, _again(turn, found), _refused(turn, refusal))
        return
    detail = f"session {found.id}: {cancelled.told} told"
    staff.audit(turn, found.member, "session cancelled", found.centre.id, detail)
    turn.outcome.notify = cancelled.told > 0
    note = "✅ " + t._("The session is cancelled.") + " " + _told(t, cancelled.told)
    show_session(turn, _again(turn, found), note)


CANCEL_YES = feature.action("TXY", Int)(_on_session(_cancel))


# --- attendance -------------------------------------------------------------------------------


def _attendance_closed(turn: Turn, found: Found) -> str | None:
    """Why attendance cannot be marked now, or None when it can."""
    t, session = turn.t, found.session
    if session.cancelled_at is not None:
        return t._("This session is cancelled.")
    opens = session.starts_at - ATTENDANCE_OPENS
    if turn.now < opens:
        zone = found.centre.timezone
        return t._(
            "Attendance can be marked from 1 hour before the start: from {time}.",
            time=when(t, opens, zone, turn.now),
        )
    if turn.now > session.starts_at + ATTENDANCE_CLOSES:
        return t._("Attendance can be marked until 7 days after the session. It is closed now.")
    return None


def show_attendance(turn: Turn, found: Found, page: int = 0, note: str | None = None) -> None:
    """The door numbers of the people with a seat, to tick who came; typed numbers work too."""
    closed = _attendance_closed(turn, found)
    if closed is not None:
        show_session(turn, found, "ℹ️ " + closed)
        return
    t = turn.t
    numbers = q.tickets(turn.db, found.id)
    pages = max(1, -(-len(numbers) // TICKETS_PAGE))
    page = min(page, pages - 1)
    came = sum(1 for ticket in numbers if ticket.attended)
    lines = [note, ""] if note else []
    lines += [
        "✅ " + t._("Attendance"),
        *session_block(t, found.session, found.centre.timezone, turn.now, place=False),
        "",
    ]
    if numbers:
        lines.append(
            t._("Tap the number of each person who came, or type the numbers, like 3 7 12.")
        )
        lines.append(_marked(t, came, len(numbers)))
    else:
        lines.append(t._("Nobody has a seat for this session."))
    shown = numbers[page * TICKETS_PAGE : (page + 1) * TICKETS_PAGE]
    buttons = [_ticket_button(found.id, ticket, page) for ticket in shown]
    rows = [buttons[i : i + TICKETS_ROW] for i in range(0, len(buttons), TICKETS_ROW)]
    moves = []
    if page > 0:
        moves.append((back(t) + " " + t._("Earlier numbers"), ATTENDANCE.data(found.id, page - 1)))
    if page + 1 < pages:
        moves.append((forward(t) + " " + t._("Later numbers"), ATTENDANCE.data(found.id, page + 1)))
    if moves:
        rows.append(moves)
    rows.append([("✔️ " + t._("Done"), ATTENDANCE_DONE.data(found.id))])
    turn.ask(
        ATTENDANCE_STATE, make_reply(t, lines, rows, replace=True), session=found.id, page=page
    )


def _ticket_button(session_id: int, ticket: q.Ticket, page: int) -> tuple[str, str]:
    """ "✅ 7" for someone marked; the button says what a tap does, so a double tap on an
    old keyboard marks (or unmarks) once."""
    if ticket.attended:
        return f"✅ {ticket.number}", UNMARK.data(session_id, ticket.number, page)
    return str(ticket.number), MARK.data(session_id, ticket.number, page)


def _marked(t: Translator, came: int, total: int) -> str:
    return t.ngettext(
        "Marked: {count} of {total} came.", "Marked: {count} of {total} came.", came,
        total=t.number(total),
    )  # fmt: skip


def _attendance(turn: Turn, found: Found, page: int | None = None) -> None:
    show_attendance(turn, found, page or 0)


ATTENDANCE = feature.action("TA", Int, Int, optional=1)(_on_session(_attendance))


def _mark(
    turn: Turn, found: Found, numbers: list[int], *, came: bool
) -> tuple[list[int], list[int]]:
    """Mark or unmark door numbers and audit what changed; returns (changed, unknown)."""
    changed, unknown = q.mark_attendance(turn.db, found.id, numbers, came=came, now=turn.now)
    if changed:
        what = "marked" if came else "unmarked"
        detail = f"session {found.id}: {what} " + ", ".join(str(n) for n in changed)
        staff.audit(turn, found.member, "attendance", found.centre.id, detail)
    return changed, unknown


def _tap_mark(turn: Turn, found: Found, number: int, page: int, *, came: bool) -> None:
    closed = _attendance_closed(turn, found)
    if closed is not None:
        show_session(turn, found, "ℹ️ " + closed)
        return
    _, unknown = _mark(turn, found, [number], came=came)
    note = "⚠️ " + _unknown(turn.t, unknown) if unknown else None
    show_attendance(turn, _again(turn, found), page, note)


MARK = feature.action("TAM", Int, Int, Int)(_on_session(partial(_tap_mark, came=True)))
UNMARK = feature.action("TAU", Int, Int, Int)(_on_session(partial(_tap_mark, came=False)))


def _unknown(t: Translator, numbers: list[int]) -> str:
    shown = t.join([t.number(n) for n in numbers], conjunction=False)
    return t.ngettext(
        "No booking has number {numbers}.", "No booking has the numbers {numbers}.",
        len(numbers), numbers=shown,
    )  # fmt: skip


@feature.on_text(ATTENDANCE_STATE)
def _numbers_typed(turn: Turn, text: str) -> None:
    found = _in_state(turn, ATTENDANCE_STATE)
    if found is None:
        return
    t, page = turn.t, turn.data.get("page")
    page = page if isinstance(page, int) else 0
    closed = _attendance_closed(turn, found)
    if closed is not None:
        show_session(turn, found, "ℹ️ " + closed)
        return
    parts = [part for part in _NUMBERS.split(text.strip()) if part]
    wrong = [part for part in parts if not (part.isdigit() and len(part) <= 6)]
    if wrong or not parts:
        note = "⚠️ " + t._("Please type the numbers people show at the door, like 3 7 12.")
        show_attendance(turn, found, page, note)
        return
    numbers = sorted({int(part) for part in parts})
    _, unknown = _mark(turn, found, numbers, came=True)
    known = [n for n in numbers if n not in unknown]
    notes = []
    if known:
        shown = t.join([t.number(n) for n in known], conjunction=False)
        notes.append("✅ " + t._("Marked as came: {numbers}.", numbers=shown))
    if unknown:
        notes.append("⚠️ " + _unknown(t, unknown))
    show_attendance(turn, _again(turn, found), page, "\n".join(notes))


def _attendance_done(turn: Turn, found: Found) -> None:
    numbers = q.tickets(turn.db, found.id)
    came = sum(1 for ticket in numbers if ticket.attended)
    show_session(turn, found, "✅ " + _marked(turn.t, came, len(numbers)))


ATTENDANCE_DONE = feature.action("TAD", Int)(_on_session(_attendance_done))


# --- a new session, step by step ---------------------------------------------------------------


def _new_state(step: str) -> str:
    return NEW_PREFIX + step


def _in_new(turn: Turn, *steps: str) -> tuple[StaffMember, Centre, dict[str, Any]] | None:
    """The staff member, the centre and the answers so far, when the person is at one of
    ``steps`` of a new session; authorised again at every step."""
    data = turn.data
    person = turn.person
    at = person.state if person is not None else ""
    centre_id = data.get("centre")
    if at not in {_new_state(step) for step in steps} or not isinstance(centre_id, int):
        if staff.require(turn, write=True, roles=WRITERS) is not None:
            _step_over(turn)
        return None
    member = staff.require(turn, centre_id=centre_id, write=True, roles=WRITERS)
    centre = q.centre_by_id(turn.db, centre_id) if member is not None else None
    if member is None or centre is None:
        if member is not None:
            _step_over(turn)  # the centre was removed meanwhile
        return None
    return member, centre, data


def _ask_step(
    turn: Turn, step: str, lines: list[str], rows: list[list[tuple[str, str]]],
    note: str | None = None, **answers: Any,
) -> None:  # fmt: skip
    """Ask one step: "Step 3 of 8", the question, its buttons, then Back and Cancel."""
    t = turn.t
    index = NEW_STEPS.index(step)
    head = [note, ""] if note else []
    head.append(t._("New session, step {step} of {steps}", step=index + 1, steps=len(NEW_STEPS)))
    way_back = NEW_BACK.data(index - 1) if index > 0 else home.MENU.data()
    rows = [
        *rows,
        [(back(t) + " " + t._("Back"), way_back), ("✖️ " + t._("Cancel"), home.MENU.data())],
    ]
    person = turn.person
    so_far = turn.data if person is not None and person.state.startswith(NEW_PREFIX) else {}
    turn.ask(_new_state(step), make_reply(t, [*head, *lines], rows), **{**so_far, **answers})


def _ask_new_title(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    lines = [t._("What is the session called? Please type the title residents will see.")]
    _ask_step(turn, "title", lines, [], note, centre=centre.id)


def _ask_new_day(turn: Turn, centre: Centre, note: str | None = None) -> None:
    example = f"{_today(turn, centre.timezone) + timedelta(days=7):%Y-%m-%d}"
    lines = [turn.t._("On which day? Tap a day, or type one like {example}.", example=example)]
    rows = _day_rows(turn, centre.timezone, NEW_DAY.data)
    _ask_step(turn, "day", lines, rows, note)


def _ask_new_time(turn: Turn, centre: Centre, note: str | None = None) -> None:
    shown = _shown_day(turn, str(turn.data.get("day", "")), centre.timezone)
    lines = [turn.t._("At what time on {day}? Please type it like 14:30.", day=shown)]
    _ask_step(turn, "time", lines, [], note)


def _ask_new_minutes(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    lines = [t._("How long is it? Tap one, or type the minutes.")]
    rows = [
        [(t.ngettext("{count} minute", "{count} minutes", n), NEW_MINUTES.data(n))
         for n in MINUTE_CHOICES]
    ]  # fmt: skip
    _ask_step(turn, "minutes", lines, rows, note)


def _ask_new_seats(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    lines = [t._("How many seats? Tap a number or type one.")]
    rows = [[(t.number(n), NEW_SEATS.data(n)) for n in SEAT_CHOICES]]
    _ask_step(turn, "seats", lines, rows, note)


def _ask_new_languages(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    chosen = _chosen_languages(turn)
    names = t.join([t.language_name(code) for code in chosen]) if chosen else t._("none yet")
    lines = [
        t._("Which languages are spoken in the session? Tap each one, then Done."),
        t._("Chosen: {languages}", languages=names),
    ]
    buttons = [
        (("✅ " if code in chosen else "") + t.language_name(code), NEW_LANGUAGE.data(code))
        for code in turn.services.catalogs.codes
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([("✔️ " + t._("Done"), NEW_LANGUAGES_DONE.data())])
    _ask_step(turn, "languages", lines, rows, note)


def _ask_new_room(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    lines = [t._("In which room or place? Please type it, or skip this.")]
    rows = [[("⏭️ " + t._("Skip"), NEW_NO_ROOM.data())]]
    _ask_step(turn, "room", lines, rows, note)


def _ask_new_confirm(turn: Turn, centre: Centre, note: str | None = None) -> None:
    t, data = turn.t, turn.data
    starts = f"{data.get('day')} {data.get('time')}"
    try:
        starts_at, when_note = rules.local_time(starts, centre.timezone, turn.now)
    except rules.Refusal as refusal:
        _ask_new_time(turn, centre, _refused(turn, refusal))
        return
    preview = _preview(centre, data, starts_at, turn.now)
    lines = [t._("This is how residents will see it:"), ""]
    lines += session_block(t, preview, centre.timezone, turn.now, seats_left=preview.capacity,
                           length=True, languages=True)  # fmt: skip
    if when_note is not None:
        lines += ["", "ℹ️ " + when_note.text(t)]
    lines += ["", t._("Create this session?")]
    rows = [[("✅ " + t._("Create"), NEW_CREATE.data())]]
    _ask_step(turn, "confirm", lines, rows, note)


def _preview(
    centre: Centre, data: dict[str, Any], starts_at: datetime, now: datetime
) -> WorkshopSession:
    """The session as it will be, not stored: shown the way residents will see it."""
    assert centre.id is not None
    return WorkshopSession(
        centre_id=centre.id, title=str(data.get("title", "")), starts_at=starts_at,
        minutes=int(data.get("minutes", 0)), capacity=int(data.get("seats", 0)),
        languages=",".join(_codes(data)), place=data.get("room"), created_at=now,
    )  # fmt: skip


ASK_NEW: dict[str, Callable[[Turn, Centre, str | None], None]] = {
    "title": _ask_new_title,
    "day": _ask_new_day,
    "time": _ask_new_time,
    "minutes": _ask_new_minutes,
    "seats": _ask_new_seats,
    "languages": _ask_new_languages,
    "room": _ask_new_room,
    "confirm": _ask_new_confirm,
}
# Which step asks again for the value a refusal names (see rules.Refusal.field).
STEP_OF_FIELD = {
    "title": "title",
    "starts": "time",
    "minutes": "minutes",
    "capacity": "seats",
    "languages": "languages",
    "place": "room",
}


def _new(turn: Turn) -> None:
    found = _own_centre(turn, write=True)
    if found is not None:
        _ask_new_title(turn, found[1])


NEW = feature.action("TN")(_new)


def _new_back(turn: Turn, index: int) -> None:
    found = _in_new(turn, *NEW_STEPS)
    if found is None:
        return
    if index >= len(NEW_STEPS):
        home.stale(turn)
        return
    ASK_NEW[NEW_STEPS[index]](turn, found[1], None)


NEW_BACK = feature.action("TNB", Int)(_new_back)


@feature.on_text(_new_state("title"), longest=LONG_TITLE)
def _new_title_typed(turn: Turn, text: str) -> None:
    found = _in_new(turn, "title")
    if found is None:
        return
    try:
        title = rules.check_title(text)
    except rules.Refusal as refusal:
        _ask_new_title(turn, found[1], _refused(turn, refusal))
        return
    _keep(turn, title=title)
    _ask_new_day(turn, found[1])


def _keep(turn: Turn, **answers: Any) -> None:
    """Store answers in the step in progress (the next question is asked after)."""
    person = turn.person
    assert person is not None
    q.save_state(person, person.state, {**turn.data, **answers})
    turn.db.add(person)


def _new_day_chosen(turn: Turn, centre: Centre, on: date) -> None:
    if on < _today(turn, centre.timezone):
        note = "⚠️ " + turn.t._("That day has passed. Please choose another day.")
        _ask_new_day(turn, centre, note)
        return
    _keep(turn, day=on.isoformat())
    _ask_new_time(turn, centre)


def _new_day(turn: Turn, number: int) -> None:
    found = _in_new(turn, "day")
    if found is None:
        return
    on = _from_number(number)
    if on is None:
        home.stale(turn)
        return
    _new_day_chosen(turn, found[1], on)


NEW_DAY = feature.action("TND", Int)(_new_day)


@feature.on_text(_new_state("day"))
def _new_day_typed(turn: Turn, text: str) -> None:
    found = _in_new(turn, "day")
    if found is None:
        return
    on = _typed_day(text)
    if on is None:
        _ask_new_day(turn, found[1], "⚠️ " + _day_hint(turn, found[1].timezone))
        return
    _new_day_chosen(turn, found[1], on)


@feature.on_text(_new_state("time"))
def _new_time_typed(turn: Turn, text: str) -> None:
    found = _in_new(turn, "time")
    if found is None:
        return
    centre, data = found[1], found[2]
    at = _typed_time(text)
    if at is None:
        _ask_new_time(turn, centre, "⚠️ " + turn.t._("Please type the time like 14:30."))
        return
    try:
        rules.local_time(f"{data.get('day')} {at}", centre.timezone, turn.now)
    except rules.Refusal as refusal:
        _ask_new_time(turn, centre, _refused(turn, refusal))
        return
    _keep(turn, time=at)
    _ask_new_minutes(turn, centre)


@dataclass(frozen=True)
class _NumberStep:
    """A step answered with a number, tapped or typed: its rule, and what comes next."""

    name: str  # the answer's key, and the step's state
    check: Callable[[int], object]  # raises a Refusal
    ask: Callable[[Turn, Centre, str | None], None]
    then: Callable[[Turn, Centre], None]
    example: str  # a msgid: how to type it


_MINUTES = _NumberStep(
    "minutes", rules.check_minutes, lambda turn, centre, note: _ask_new_minutes(turn, centre, note),
    lambda turn, centre: _ask_new_seats(turn, centre), N_("Please type a number, like 90."),
)  # fmt: skip
_SEATS = _NumberStep(
    "seats", rules.check_capacity, lambda turn, centre, note: _ask_new_seats(turn, centre, note),
    lambda turn, centre: _ask_new_languages(turn, centre), N_("Please type a number, like 12."),
)  # fmt: skip


def _number_chosen(turn: Turn, step: _NumberStep, value: int) -> None:
    found = _in_new(turn, step.name)
    if found is None:
        return
    centre = found[1]
    try:
        step.check(value)
    except rules.Refusal as refusal:
        step.ask(turn, centre, _refused(turn, refusal))
        return
    _keep(turn, **{step.name: value})
    step.then(turn, centre)


def _number_typed(turn: Turn, step: _NumberStep, text: str) -> None:
    value = _typed_number(text)
    if value is None:
        found = _in_new(turn, step.name)
        if found is not None:
            step.ask(turn, found[1], "⚠️ " + turn.t._(step.example))
        return
    _number_chosen(turn, step, value)


def _new_minutes(turn: Turn, minutes: int) -> None:
    _number_chosen(turn, _MINUTES, minutes)


def _new_seats(turn: Turn, seats: int) -> None:
    _number_chosen(turn, _SEATS, seats)


NEW_MINUTES = feature.action("TNM", Int)(_new_minutes)
NEW_SEATS = feature.action("TNS", Int)(_new_seats)


@feature.on_text(_new_state("minutes"))
def _new_minutes_typed(turn: Turn, text: str) -> None:
    _number_typed(turn, _MINUTES, text)


@feature.on_text(_new_state("seats"))
def _new_seats_typed(turn: Turn, text: str) -> None:
    _number_typed(turn, _SEATS, text)


def _codes(data: dict[str, Any]) -> list[str]:
    chosen = data.get("languages")
    return [code for code in chosen if isinstance(code, str)] if isinstance(chosen, list) else []


def _chosen_languages(turn: Turn) -> list[str]:
    return _codes(turn.data)


def _new_language(turn: Turn, code: str) -> None:
    found = _in_new(turn, "languages")
    if found is None:
        return
    if code not in turn.services.catalogs.codes:
        home.stale(turn)
        return
    chosen = _chosen_languages(turn)
    chosen = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
    _keep(turn, languages=chosen)
    _ask_new_languages(turn, found[1])


NEW_LANGUAGE = feature.action("TNL", Locale)(_new_language)


def _new_languages_done(turn: Turn) -> None:
    found = _in_new(turn, "languages")
    if found is not None:
        _ask_new_room(turn, found[1])


NEW_LANGUAGES_DONE = feature.action("TNO")(_new_languages_done)


def _new_room_chosen(turn: Turn, centre: Centre, room: str | None) -> None:
    try:
        place = rules.check_place(room)
    except rules.Refusal as refusal:
        _ask_new_room(turn, centre, _refused(turn, refusal))
        return
    _keep(turn, room=place)
    _ask_new_confirm(turn, centre)


@feature.on_text(_new_state("room"))
def _new_room_typed(turn: Turn, text: str) -> None:
    found = _in_new(turn, "room")
    if found is not None:
        _new_room_chosen(turn, found[1], text)


def _new_no_room(turn: Turn) -> None:
    found = _in_new(turn, "room")
    if found is not None:
        _new_room_chosen(turn, found[1], None)


NEW_NO_ROOM = feature.action("TNR")(_new_no_room)


def _create(turn: Turn) -> None:
    """Create the session, with the rules of the command line; a value refused (the time
    passed meanwhile, the same session added by someone else) is asked for again."""
    found = _in_new(turn, "confirm")
    if found is None:
        return
    member, centre, data = found
    try:
        added = rules.add_session(
            turn.db, turn.now, centre_slug=centre.slug, title=str(data.get("title", "")),
            starts=f"{data.get('day')} {data.get('time')}", minutes=int(data.get("minutes", 0)),
            capacity=int(data.get("seats", 0)), languages=_codes(data), place=data.get("room"),
            kinds=names.kinds(turn.services.catalogs),
        )  # fmt: skip
    except rules.Refusal as refusal:
        step = STEP_OF_FIELD.get(refusal.field, "confirm")
        ASK_NEW[step](turn, centre, _refused(turn, refusal))
        return
    session = added.session
    detail = f"session {session.id}: {_local(session.starts_at, centre.timezone)}"
    staff.audit(turn, member, "session added", centre.id, detail)
    t = turn.t
    note = "✅ " + t._("The session is created. Residents can book it now.")
    note = _known_kind(t, session, note)
    if added.note is not None:
        note += "\n" + added.note.text(t)
    counts = q.SessionCounts(session)
    show_session(turn, Found(member, centre, counts), note)


NEW_CREATE = feature.action("TNC")(_create)

feature.menu_entry(1, "📅", N_("This week"), WEEK, row=1, menu="staff")
feature.menu_entry(2, "➕", N_("New session"), NEW, row=1, menu="staff", roles=WRITERS)
