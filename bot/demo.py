"""A realistic fortnight of workshops at seven Serbian centres, for trying the bot locally."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.keys import data_secret
from bot.settings import Settings
from flows import names, staff
from flows.clock import Clock
from storage import queries as q
from storage.db import Database
from storage.identity import Vault
from storage.models import Role

# (slug, name, kind, contact, name in Cyrillic)
CENTRES = (
    ("krnjaca", "Krnjača", "asylum", "+381 11 000 0101", "Крњача"),
    ("obrenovac", "Obrenovac", "reception", "+381 11 000 0102", "Обреновац"),
    ("sjenica", "Sjenica", "asylum", "+381 20 000 0103", "Сјеница"),
    ("vranje", "Vranje", "reception", "+381 17 000 0104", "Врање"),
    ("presevo", "Preševo", "reception", "+381 17 000 0105", "Прешево"),
    ("bujanovac", "Bujanovac", "asylum", "+381 17 000 0106", "Бујановац"),
    ("principovac", "Principovac", "reception", "+381 22 000 0107", "Принциповац"),
)

# (title, kind, hour, minutes, capacity, languages, place, weekdays: 0 = Monday). A session
# of a known kind (flows/names.py) is shown in each resident's language; one without a kind
# ("Men's group talk") as staff typed it.
WORKSHOPS = (
    ("Sewing workshop", "sewing", 10, 90, 12, "ar,fa", "Workshop room", (0, 3)),
    ("IT basics", "computer", 12, 60, 8, "en,ar", "Computer room", (1, 4)),
    ("Football", "football", 16, 90, 20, "", "Sports field", (2, 5)),
    ("Art workshop", "art", 11, 90, 10, "fa,ps", "Children's room", (1, 3)),
    ("Women's group", "women", 14, 60, 8, "ar,fa,ps", "Quiet room", (0, 2, 4)),
    ("Men's group talk", None, 18, 60, 8, "ar,ur,fa", "Quiet room", (1,)),
    ("Serbian class", "serbian", 9, 60, 15, "en,ar", "Classroom", (0, 2)),
    ("Music workshop", "music", 17, 60, 12, "", "Hall", (5,)),
)

DAYS = 14


def seed(database: Database, clock: Clock, zone: str) -> tuple[int, int]:
    """Add the demo centres (in time zone ``zone``) and a fortnight of sessions from today;
    returns the counts."""
    now = clock.now()
    local_today = now.astimezone(ZoneInfo(zone)).date()
    sessions = 0
    with database.session() as db:
        for index, (slug, name, kind, contact, cyrillic) in enumerate(CENTRES):
            centre = q.centre_by_slug(db, slug) or q.add_centre(
                db, slug=slug, name=name, kind=kind, timezone=zone, contact=contact, now=now
            )
            assert centre.id is not None
            centre.names = names.with_version(centre.names, "Cyrl", cyrillic)
            for day in range(DAYS):
                date = local_today + timedelta(days=day)
                for n, (title, sort, hour, minutes, capacity, langs, place, weekdays) in enumerate(
                    WORKSHOPS
                ):
                    if date.weekday() not in weekdays or (n + index) % 3 == 2:
                        continue  # each centre runs a different mix
                    starts = datetime.combine(date, time(hour), ZoneInfo(zone))
                    if starts <= now:
                        continue
                    q.add_session(
                        db,
                        centre_id=centre.id,
                        title=title,
                        starts_at=starts,
                        minutes=minutes,
                        capacity=capacity,
                        languages=[code for code in langs.split(",") if code],
                        place=place,
                        now=now,
                        kind=sort,
                    )
                    sessions += 1
    return len(CENTRES), sessions


def staff_invitation(database: Database, settings: Settings, clock: Clock) -> str:
    """A one-time code that makes the demo's chat account staff at Krnjača."""
    with database.session() as db:
        centre = q.centre_by_slug(db, "krnjaca")
        return staff.make_invite(
            db,
            Vault(data_secret(settings)),
            role=Role.STAFF,
            centre_id=centre.id if centre else None,
            created_by=staff.CLI,
            now=clock.now(),
        )
