"""Centres: the asylum and reception centres residents live in."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Centre

__all__ = ["add_centre", "centre_by_id", "centre_by_slug", "list_centres"]


def list_centres(db: Session) -> list[Centre]:
    return list(db.exec(select(Centre).order_by(col(Centre.name))))


def centre_by_slug(db: Session, slug: str) -> Centre | None:
    return db.exec(select(Centre).where(Centre.slug == slug)).first()


def centre_by_id(db: Session, centre_id: int) -> Centre | None:
    return db.get(Centre, centre_id)


def add_centre(
    db: Session,
    *,
    slug: str,
    name: str,
    kind: str,
    timezone: str,
    contact: str | None,
    now: datetime,
) -> Centre:
    centre = Centre(
        slug=slug, name=name, kind=kind, timezone=timezone, contact=contact, created_at=now
    )
    db.add(centre)
    db.flush()
    return centre
