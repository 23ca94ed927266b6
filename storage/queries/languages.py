"""The languages residents of a centre read: what a printed poster should speak first."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from storage.models import Person, StaffMember

__all__ = ["centre_locales"]


def centre_locales(db: Session, centre_id: int) -> list[tuple[str, int]]:
    """(locale, residents) at a centre, most residents first (ties by code: a stable order).

    Counts people, not conversations; staff accounts are left out (the poster is not for them).
    """
    count = func.count(col(Person.id))
    staff = select(StaffMember.person_id)
    rows = db.exec(
        select(Person.locale, count)
        .where(Person.centre_id == centre_id, col(Person.id).not_in(staff))
        .group_by(col(Person.locale))
        .order_by(count.desc(), col(Person.locale))
    ).all()
    return [(locale, int(people)) for locale, people in rows]
