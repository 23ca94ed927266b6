"""Small, explicit test data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import queries as q
from storage.db import Database
from storage.identity import Vault


@dataclass
class World:
    krnjaca: int
    obrenovac: int
    sewing: int  # Krnjača, tomorrow, 12 seats
    it: int  # Krnjača, in two days, 2 seats
    past: int  # Krnjača, started an hour ago
    cancelled: int  # Krnjača, cancelled by the operator
    elsewhere: int  # Obrenovac


def seed(database: Database, now: datetime) -> World:
    with database.session() as db:
        krnjaca = q.add_centre(
            db,
            slug="krnjaca",
            name="Krnjača",
            kind="asylum",
            timezone="Europe/Belgrade",
            contact="+381 11 000 0101",
            now=now,
        )
        obrenovac = q.add_centre(
            db,
            slug="obrenovac",
            name="Obrenovac",
            kind="reception",
            timezone="Europe/Belgrade",
            contact=None,
            now=now,
        )
        assert krnjaca.id and obrenovac.id

        def add(centre: int, title: str, hours: float, capacity: int, langs: str = "") -> int:
            session = q.add_session(
                db,
                centre_id=centre,
                title=title,
                starts_at=now + timedelta(hours=hours),
                minutes=90,
                capacity=capacity,
                languages=[c for c in langs.split(",") if c],
                place="Room 2",
                now=now,
            )
            assert session.id is not None
            return session.id

        world = World(
            krnjaca=krnjaca.id,
            obrenovac=obrenovac.id,
            sewing=add(krnjaca.id, "Sewing workshop", 26, 12, "ar,fa"),
            it=add(krnjaca.id, "IT basics", 50, 2),
            past=add(krnjaca.id, "Yesterday's art", -1, 10),
            cancelled=add(krnjaca.id, "Cancelled football", 30, 10),
            elsewhere=add(obrenovac.id, "Obrenovac sewing", 26, 10),
        )
    with database.session() as db:
        q.cancel_session(db, world.cancelled, now)
    return world


def booked_people(
    database: Database,
    vault: Vault,
    keys: list[str],
    *,
    starts_at: datetime,
    capacity: int,
    now: datetime,
    booked_at: datetime | None = None,
    book: bool = True,
) -> int:
    """One centre (krnjaca), one session, and people who agreed (and booked, in order)."""
    with database.session() as db:
        centre = q.add_centre(
            db,
            slug="krnjaca",
            name="Krnjača",
            kind="asylum",
            timezone="Europe/Belgrade",
            contact=None,
            now=now,
        )
        assert centre.id
        session = q.add_session(
            db,
            centre_id=centre.id,
            title="Sewing",
            starts_at=starts_at,
            minutes=90,
            capacity=capacity,
            languages=[],
            place="Room 2",
            now=now,
        )
        assert session.id
        for key in keys:
            person = q.create_person(
                db,
                vault,
                channel="telegram",
                user_key=key,
                locale="en",
                centre_id=centre.id,
                now=booked_at or now,
            )
            assert person.id
            if book:
                q.book(
                    db,
                    person_id=person.id,
                    session_id=session.id,
                    centre_id=centre.id,
                    now=booked_at or now,
                )
    return session.id


@dataclass
class SmallWorld:
    """Two centres whose sessions have 1 to 3 seats, so waitlists form and move constantly."""

    slugs: list[str]
    centres: list[int]
    sessions: list[int]  # every session, bookable or not


def small_world(database: Database, now: datetime) -> SmallWorld:
    """Krnjača: seven upcoming sessions of 1 to 3 seats (soonest in 2 h; more than one page
    of the list) and one that started an hour ago; Obrenovac: two (1 and 2 seats). Advancing
    the clock a few hours starts them one by one."""
    plan = {
        "krnjaca": [(2, 1), (5, 2), (9, 1), (30, 3), (-1, 2), (50, 2), (75, 1), (100, 3)],
        "obrenovac": [(3, 1), (26, 2)],
    }
    world = SmallWorld(slugs=[], centres=[], sessions=[])
    with database.session() as db:
        for slug, sessions in plan.items():
            centre = q.add_centre(
                db,
                slug=slug,
                name=slug.capitalize(),
                kind="asylum",
                timezone="Europe/Belgrade",
                contact="+381 11 000 0101",
                now=now,
            )
            assert centre.id is not None
            world.slugs.append(slug)
            world.centres.append(centre.id)
            for number, (hours, capacity) in enumerate(sessions, start=1):
                session = q.add_session(
                    db,
                    centre_id=centre.id,
                    title=f"Workshop {number} at {slug}",
                    starts_at=now + timedelta(hours=hours),
                    minutes=90,
                    capacity=capacity,
                    languages=[],
                    place=None,
                    now=now,
                )
                assert session.id is not None
                world.sessions.append(session.id)
    return world
