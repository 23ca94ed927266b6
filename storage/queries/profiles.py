"""What a platform told us about the bot itself, asked once and remembered."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.models import BotProfile

__all__ = ["remember_username", "remembered_username"]


def remembered_username(db: Session, channel: str) -> str | None:
    profile = db.get(BotProfile, channel)
    return profile.username if profile else None


def remember_username(db: Session, channel: str, username: str, now: datetime) -> None:
    profile = db.get(BotProfile, channel) or BotProfile(
        channel=channel, username=username, checked_at=now
    )
    profile.username = username
    profile.checked_at = now
    db.add(profile)
