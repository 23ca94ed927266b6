"""The rules for centres and sessions, in one place: the command line calls them, and so does
the staff chat.

Each function takes a database session, the clock's ``now`` (aware UTC) and plain values, and
either does the change or raises :class:`Refusal` with one clear sentence. A refusal is data,
a gettext msgid and its values, so each caller shows it in its reader's language.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from flows.i18n import DEFAULT_LOCALE, N_, Translator
from flows.names import KNOWN_SCRIPTS, Kinds, with_version
from storage import queries as q
from storage.models import Centre, CentreKind, WorkshopSession

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 40
NAME_MAX = 120
TITLE_MAX = 120
PLACE_MAX = 120
CONTACT_MAX = 200
LANGUAGES_MAX = 100  # the stored, comma-separated codes
CAPACITY = range(1, 501)
MINUTES = range(5, 601)
TIME_FORMAT = "%Y-%m-%d %H:%M"
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,4})?")


@dataclass(frozen=True)
class Message:
    """Something to tell staff, in their language: a msgid marked with ``N_`` and its values."""

    message: str
    values: Mapping[str, object] = field(default_factory=dict)

    def text(self, t: Translator) -> str:
        return _render(t, self.message, self.values)


# Not frozen: contextlib sets __traceback__ on an exception leaving a ``with`` block
# (db.session()), which a frozen dataclass refuses. eq=False keeps it hashable, as
# exceptions are expected to be.
@dataclass(eq=False)
class Refusal(Exception):
    """Why a change was not made, as one translatable sentence.

    ``field`` names the value refused ("title", "starts", "minutes", "capacity",
    "languages", "place"; empty when it is not one value), so a step-by-step form can ask
    for that value again."""

    message: str
    values: Mapping[str, object] = field(default_factory=dict)
    field: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def text(self, t: Translator) -> str:
        return _render(t, self.message, self.values)

    def __str__(self) -> str:
        return self.text(_english())  # for logs and tracebacks


def _render(t: Translator, message: str, values: Mapping[str, object]) -> str:
    """Translate a message, and the messages among its values (e.g. "The title")."""
    shown = {k: v.text(t) if isinstance(v, Message) else v for k, v in values.items()}
    return t._(message, **shown)


@functools.cache
def _english() -> Translator:
    return Translator(DEFAULT_LOCALE, gettext.NullTranslations())


@dataclass(frozen=True)
class SessionAdded:
    session: WorkshopSession
    centre: Centre
    note: Message | None = None  # which of two equal local times was taken, if it mattered


@dataclass(frozen=True)
class SessionMoved:
    session: WorkshopSession
    centre: Centre
    told: int  # people booked or waiting, who will each get a message
    note: Message | None = None


@dataclass(frozen=True)
class SessionCancelled:
    session: WorkshopSession
    centre: Centre
    told: int


@dataclass(frozen=True)
class SessionEdited:
    session: WorkshopSession
    centre: Centre


@dataclass(frozen=True)
class SeatsChanged:
    session: WorkshopSession
    centre: Centre
    promoted: int  # people who got a seat from the waitlist (each will be told)
    demoted: int  # people who went back to the top of the waitlist (each will be told)


@dataclass(eq=False)
class SeatsTaken(Refusal):
    """Fewer seats than people booked: said before it is done, and done only when asked
    again with ``demote`` (a "Yes" in the chat, ``--yes`` on the command line)."""

    losing: int = 0
    seats: int = 0

    def text(self, t: Translator) -> str:
        return t.ngettext(
            "{count} person is booked after seat {seats}. "
            "They will move to the top of the waitlist and be told.",
            "{count} people are booked after seat {seats}. "
            "They will move to the top of the waitlist and be told.",
            self.losing,
            seats=t.number(self.seats),
        )


@dataclass(frozen=True)
class SessionRow:
    session: WorkshopSession
    centre: Centre
    taken: int  # confirmed seats


# --- centres -------------------------------------------------------------------------------


def add_centre(
    db: Session,
    now: datetime,
    *,
    slug: str,
    name: str,
    kind: str,
    timezone: str,
    contact: str | None = None,
) -> Centre:
    """Add a centre. ``slug`` goes into its links: a-z and 0-9 with single inner hyphens."""
    slug = slug.strip()
    if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
        raise Refusal(
            N_(
                "A slug is {limit} characters at most, of a-z and 0-9, with single hyphens "
                "between them (like krnjaca or banja-koviljaca); {slug} is not."
            ),
            {"slug": repr(slug), "limit": SLUG_MAX},
        )
    name = _required_line(name, NAME_MAX, Message(N_("The centre's name")))
    contact = _optional_line(contact, CONTACT_MAX, Message(N_("The contact")))
    if kind not in set(CentreKind):
        raise Refusal(
            N_("The kind of centre must be one of: {kinds}."),
            {"kinds": ", ".join(CentreKind)},
        )
    zone_name = timezone.strip()
    _zone(zone_name)
    if q.centre_by_slug(db, slug) is not None:
        raise _slug_taken(slug)
    try:
        return q.add_centre(
            db, slug=slug, name=name, kind=kind, timezone=zone_name, contact=contact, now=now
        )
    except IntegrityError:  # added by someone else a moment ago
        raise _slug_taken(slug) from None


def set_centre_help(
    db: Session, where: Centre, *, contact: str | None = None, psychologist: str | None = None
) -> Centre:
    """The centre's own contact and its psychologist's hours (what help shows residents):
    None leaves one as it is, an empty text removes it."""
    if contact is not None:
        where.contact = _optional_line(contact, CONTACT_MAX, Message(N_("The contact")), "contact")
    if psychologist is not None:
        where.psychologist = _optional_line(
            psychologist, CONTACT_MAX, Message(N_("The psychologist's hours")), "psychologist"
        )
    db.add(where)
    return where


def version_key(key: str, *, scripts: bool) -> str:
    """A language code ("fa", "sr-Latn") or, where ``scripts``, a script code ("Cyrl",
    "Arab", "Latn"): what a name or title in another language is filed under."""
    raw = key.strip()
    if scripts:
        for known in KNOWN_SCRIPTS:
            if raw.casefold() == known.casefold():
                return known
    codes = language_codes(raw)
    if len(codes) != 1:
        raise Refusal(N_("{code} is not a language code (like ar, fa or en)."), {"code": repr(key)})
    return codes[0]


def set_title_version(
    db: Session, now: datetime, session_id: int, code: str, title: str | None
) -> WorkshopSession:
    """The title residents reading ``code`` see (None removes that version; an empty title
    is refused, as when adding a session)."""
    session, _ = _changeable(db, now, session_id, started=True)
    key = version_key(code, scripts=False)
    text = check_title(title) if title is not None else None
    session.titles = with_version(session.titles, key, text)
    db.add(session)
    return session


def set_place_version(
    db: Session, now: datetime, session_id: int, key: str, place: str
) -> WorkshopSession:
    """The place in a language or script (an empty text removes that version)."""
    session, _ = _changeable(db, now, session_id, started=True)
    session.places = with_version(
        session.places, version_key(key, scripts=True), check_place(place)
    )
    db.add(session)
    return session


def set_centre_name(db: Session, where: Centre, key: str, name: str) -> Centre:
    """The centre's name in a language or script (an empty name removes that version)."""
    text = _optional_line(name, NAME_MAX, Message(N_("The centre's name")), "name")
    where.names = with_version(where.names, version_key(key, scripts=True), text)
    db.add(where)
    return where


def _slug_taken(slug: str) -> Refusal:
    return Refusal(N_("A centre with the slug {slug} exists already."), {"slug": slug})


def centre(db: Session, slug: str) -> Centre:
    """The centre with this slug."""
    found = q.centre_by_slug(db, slug.strip())
    if found is None:
        raise Refusal(N_("There is no centre with the slug {slug}."), {"slug": repr(slug)})
    return found


def list_centres(db: Session) -> list[Centre]:
    return q.list_centres(db)


# --- sessions ------------------------------------------------------------------------------


def add_session(
    db: Session,
    now: datetime,
    *,
    centre_slug: str,
    title: str,
    starts: str,
    minutes: int,
    capacity: int,
    languages: Sequence[str] | str = (),
    place: str | None = None,
    kinds: Kinds | None = None,
) -> SessionAdded:
    """Add a session. ``starts`` is "YYYY-MM-DD HH:MM" in the centre's time zone;
    ``languages`` are codes, or one comma-separated string of them. A title that is a known
    kind's title in one of the catalogs (``kinds``) makes the session that kind."""
    where = centre(db, centre_slug)
    assert where.id is not None
    title = check_title(title)
    place = check_place(place)
    check_capacity(capacity)
    check_minutes(minutes)
    try:
        codes = language_codes(languages)
    except Refusal as refusal:
        refusal.field = "languages"
        raise
    starts_at, note = local_time(starts, where.timezone, now)
    _not_twice(db, where, title, starts_at)
    session = q.add_session(
        db,
        centre_id=where.id,
        title=title,
        starts_at=starts_at,
        minutes=minutes,
        capacity=capacity,
        languages=codes,
        place=place,
        now=now,
        kind=kinds.recognise(title) if kinds else None,
    )
    return SessionAdded(session, where, note)


def move_session(db: Session, now: datetime, session_id: int, starts: str) -> SessionMoved:
    """Move a session that has not started; everyone booked or waiting will be told."""
    session, where = _session(db, session_id)
    if session.cancelled_at is not None:
        raise Refusal(N_("Session {id} is cancelled; it cannot be moved."), {"id": session_id})
    if session.starts_at <= now:
        raise Refusal(
            N_("Session {id} has already started; it cannot be moved."), {"id": session_id}
        )
    starts_at, note = local_time(starts, where.timezone, now)
    if starts_at == session.starts_at:
        raise Refusal(N_("Session {id} is at that time already."), {"id": session_id})
    _not_twice(db, where, session.title, starts_at)
    told = q.move_session(db, session_id, starts_at, now)
    if told is None:  # cancelled or started since we looked
        raise Refusal(N_("Session {id} cannot be moved any more."), {"id": session_id})
    return SessionMoved(session, where, told, note)


def edit_session(
    db: Session,
    now: datetime,
    session_id: int,
    *,
    title: str | None = None,
    place: str | None = None,
    kinds: Kinds | None = None,
) -> SessionEdited:
    """Change a session's title and/or place (None: unchanged; an empty place removes it),
    with the checks of :func:`add_session` (a new title also sets the kind anew). Nobody is
    told: the time and seats stay."""
    session, where = _changeable(db, now, session_id, started=True)
    new_title = check_title(title) if title is not None else session.title
    new_place = check_place(place) if place is not None else session.place
    if new_title != session.title:
        _not_twice(db, where, new_title, session.starts_at)
    kind = session.kind
    if title is not None:
        kind = kinds.recognise(new_title) if kinds else None
    q.edit_session(db, session_id, title=new_title, place=new_place, kind=kind)
    return SessionEdited(session, where)


def set_capacity(
    db: Session, now: datetime, session_id: int, seats: int, *, demote: bool = False
) -> SeatsChanged:
    """Set the number of seats of a session that has not started. More seats go to the
    people waiting at once, in queue order. Fewer seats than people booked raise
    :class:`SeatsTaken` (saying what would happen) unless ``demote``: then the last people
    to get a seat move to the top of the waitlist. Everyone moved is told."""
    session, where = _changeable(db, now, session_id, started=False)
    check_capacity(seats)
    change = q.change_capacity(db, session_id, seats, now, demote=demote)
    if change is None:  # cancelled or started since we looked
        raise Refusal(N_("Session {id} cannot be changed any more."), {"id": session_id})
    if not change.done:
        raise SeatsTaken(
            "fewer seats than people booked", field="capacity", losing=change.losing,
            seats=seats,
        )  # fmt: skip
    return SeatsChanged(session, where, len(change.promoted or []), len(change.demoted or []))


def _changeable(
    db: Session, now: datetime, session_id: int, *, started: bool
) -> tuple[WorkshopSession, Centre]:
    """A session that can still be changed (``started``: also after it began)."""
    session, where = _session(db, session_id)
    if session.cancelled_at is not None:
        raise Refusal(N_("Session {id} is cancelled; it cannot be changed."), {"id": session_id})
    if not started and session.starts_at <= now:
        raise Refusal(
            N_("Session {id} has already started; its seats cannot be changed."),
            {"id": session_id},
        )
    return session, where


def cancel_session(db: Session, now: datetime, session_id: int) -> SessionCancelled:
    """Cancel a session; everyone booked or waiting will be told, in their language."""
    session, where = _session(db, session_id)
    told = None if session.cancelled_at is not None else q.cancel_session(db, session_id, now)
    if told is None:
        raise Refusal(N_("Session {id} is cancelled already."), {"id": session_id})
    return SessionCancelled(session, where, told)


def list_sessions(
    db: Session, now: datetime, *, centre_slug: str | None = None, past: bool = False
) -> list[SessionRow]:
    """Sessions in start order: upcoming ones, or all of them with ``past``."""
    centre_id = None if centre_slug is None else centre(db, centre_slug).id
    centres = {c.id: c for c in q.list_centres(db)}
    views = q.list_sessions(db, centre_id=centre_id, since=None if past else now)
    return [SessionRow(v.session, centres[v.session.centre_id], v.taken) for v in views]


def _session(db: Session, session_id: int) -> tuple[WorkshopSession, Centre]:
    view = q.session_view(db, session_id)
    where = None if view is None else q.centre_by_id(db, view.session.centre_id)
    if view is None or where is None:
        raise Refusal(N_("There is no session {id}."), {"id": session_id})
    return view.session, where


def _not_twice(db: Session, where: Centre, title: str, starts_at: datetime) -> None:
    assert where.id is not None
    if q.same_session_exists(db, where.id, title, starts_at):
        raise Refusal(
            N_("{title} at {centre} is already on at that time."),
            {"title": title, "centre": where.name},
            "starts",
        )


def check_title(title: str) -> str:
    """A session's title, stripped (one line, not empty, at most :data:`TITLE_MAX`)."""
    return _required_line(title, TITLE_MAX, Message(N_("The title")), "title")


def check_place(place: str | None) -> str | None:
    """A session's room or place, stripped; None when empty."""
    return _optional_line(place, PLACE_MAX, Message(N_("The place")), "place")


def check_capacity(seats: int) -> None:
    if seats not in CAPACITY:
        raise Refusal(
            N_("The number of seats must be from {low} to {high}, not {value}."),
            {"low": CAPACITY.start, "high": CAPACITY.stop - 1, "value": seats},
            "capacity",
        )


def check_minutes(minutes: int) -> None:
    if minutes not in MINUTES:
        raise Refusal(
            N_("A session lasts from {low} to {high} minutes, not {value}."),
            {"low": MINUTES.start, "high": MINUTES.stop - 1, "value": minutes},
            "minutes",
        )


# --- values --------------------------------------------------------------------------------


def local_time(text: str, zone_name: str, now: datetime) -> tuple[datetime, Message | None]:
    """ "YYYY-MM-DD HH:MM" at a place, as aware UTC, and a note when that local time comes
    twice (the night the clocks go back; the first one is taken).

    A time in the past, and one the clocks jump over, are refused."""
    text = text.strip()
    try:
        if not _LOCAL_TIME.fullmatch(text):
            raise ValueError(text)
        local = datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise Refusal(
            N_('A time must look like "{example}": the date, then the local time.'),
            {"example": "2026-12-01 10:00"},
            "starts",
        ) from None
    zone = _zone(zone_name)
    first, second = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    shown = {"date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}", "zone": zone_name}
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise Refusal(
            N_(
                "There is no {time} on {date} in {zone}: the clocks jump forward that night. "
                "Choose another time."
            ),
            shown,
            "starts",
        )
    starts_at = first.astimezone(UTC)
    if starts_at <= now:
        raise Refusal(N_("{date} {time} has already passed."), shown, "starts")
    note = None
    if first.utcoffset() != second.utcoffset():
        offset = {**shown, "offset": _offset(first.utcoffset())}
        note = Message(
            N_(
                "{date} {time} comes twice that night; this is the first {time}, "
                "summer time ({offset})."
            )
            if first.dst()
            else N_("{date} {time} comes twice that night; this is the first {time} ({offset})."),
            offset,
        )
    return starts_at, note


def language_codes(codes: Sequence[str] | str) -> list[str]:
    """Language codes ("ar", "fa", "sr-Latn"), normalised as the catalogs name them; a
    comma-separated string is split."""
    if isinstance(codes, str):
        codes = codes.split(",")
    found: list[str] = []
    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        try:
            if not _LANGUAGE.fullmatch(code):
                raise ValueError(code)
            normal = str(Locale.parse(code.replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            raise Refusal(
                N_("{code} is not a language code (like ar, fa or en)."), {"code": repr(code)}
            ) from None
        if normal not in found:
            found.append(normal)
    if len(",".join(found)) > LANGUAGES_MAX:
        raise Refusal(N_("Too many languages: name the few spoken there."))
    return found


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # not found, not a valid key, or a folder of zones
        raise Refusal(
            N_("{zone} is not a time zone (like Europe/Belgrade)."), {"zone": repr(name)}
        ) from None


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _required_line(value: str, limit: int, what: Message, name: str = "") -> str:
    line = _optional_line(value, limit, what, name)
    if line is None:
        raise Refusal(N_("{what} must not be empty."), {"what": what}, name)
    return line


def _optional_line(value: str | None, limit: int, what: Message, name: str = "") -> str | None:
    """One line of text, stripped; None when empty. ``name`` is the refused field's."""
    line = (value or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in line):
        raise Refusal(N_("{what} must be one line, without line breaks."), {"what": what}, name)
    if len(line) > limit:
        raise Refusal(
            N_("{what} is {length} characters long; at most {limit} fit."),
            {"what": what, "length": len(line), "limit": limit},
            name,
        )
    return line or None
