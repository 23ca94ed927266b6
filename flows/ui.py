"""Building blocks every screen uses: replies from lines and button rows, and the one block
that shows a workshop session (title, time, length, place, languages, seats).

Pure functions: data and a translator in, text or a :class:`Reply` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from flows import names
from flows.i18n import Translator
from flows.replies import Button, Reply
from storage.models import WorkshopSession

TITLE_ON_BUTTON = 26  # characters of a title shown on a button: phones are narrow

Rows = Sequence[Sequence[tuple[str, str]]]


def make_reply(
    t: Translator, lines: Sequence[str], rows: Rows = (), *, replace: bool = False
) -> Reply:
    return Reply(
        text=t.lines(lines),
        buttons=tuple(tuple(Button(t.label(label), data) for label, data in row) for row in rows),
        replace=replace,
        rtl=t.rtl,
    )


def back(t: Translator) -> str:
    """The arrow of "back" and "earlier": it points the way the language reads from."""
    return "➡️" if t.rtl else "⬅️"


def forward(t: Translator) -> str:
    return "⬅️" if t.rtl else "➡️"


def short(title: str) -> str:
    return title if len(title) <= TITLE_ON_BUTTON else title[: TITLE_ON_BUTTON - 1] + "…"


def other_year(moment: datetime, zone: str, now: datetime) -> bool:
    """Whether a moment falls in another calendar year than now, where it happens."""
    local = ZoneInfo(zone)
    return moment.astimezone(local).year != now.astimezone(local).year


def when(t: Translator, moment: datetime, zone: str, now: datetime) -> str:
    """ "Tue, Dec 1, 10:00", with the year when it is not this year's."""
    return t.when(moment, zone, year=other_year(moment, zone, now))


def day(t: Translator, moment: datetime, zone: str, now: datetime) -> str:
    return t.day(moment, zone, year=other_year(moment, zone, now))


def seats(t: Translator, seats_left: int) -> str:
    if seats_left <= 0:
        return t._("No seats left. You can join the waitlist.")
    return t.ngettext("{count} seat left", "{count} seats left", seats_left)


def spoken(t: Translator, session: WorkshopSession) -> str | None:
    codes = [code for code in session.languages.split(",") if code]
    if not codes:
        return None
    names = t.join([t.language_called(code) for code in codes])
    return t._("Languages: {languages}", languages=names)


def session_block(
    t: Translator,
    session: WorkshopSession,
    zone: str,
    now: datetime,
    *,
    seats_left: int | None = None,
    length: bool = False,
    place: bool = True,
    languages: bool = False,
    centre: str | None = None,
) -> list[str]:
    """The lines that show one session, everywhere a session is shown."""
    lines = [f"▪️ {t.iso(names.title(t, session))}", f"🕒 {when(t, session.starts_at, zone, now)}"]
    if length:
        lines.append("⏱️ " + t.ngettext("{count} minute", "{count} minutes", session.minutes))
    if centre:
        lines.append(f"🏠 {t.iso(centre)}")
    where = names.place(t, session) if place else None
    if where:
        lines.append(f"📍 {t.iso(where)}")
    if languages:
        said = spoken(t, session)
        if said:
            lines.append(f"🗣️ {said}")
    if seats_left is not None:
        lines.append(f"🪑 {seats(t, seats_left)}")
    return lines


def session_label(t: Translator, session: WorkshopSession, zone: str, now: datetime) -> str:
    """A session on a button: "Tue, Dec 1 10:00: Sewing workshop"."""
    return t._(
        "{day} {time}: {title}",
        day=day(t, session.starts_at, zone, now),
        time=t.time(session.starts_at, zone),
        title=short(names.title(t, session)),
    )
