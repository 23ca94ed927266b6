"""Making staff in tests the way people become staff: an invitation, opened in the chat."""

from __future__ import annotations

from bot.app import App
from flows import staff
from tests.dialogue import Resident


def invitation(app: App, role: str = "staff", centre_id: int | None = None, days: float = 7) -> str:
    """A fresh one-time code, as ``workshopbot invite`` makes it."""
    with app.database.session() as db:
        return staff.make_invite(
            db, app.vault, role=role, centre_id=centre_id, created_by=staff.CLI,
            now=app.clock.now(), days=days,
        )  # fmt: skip


def staff_member(
    app: App,
    key: str,
    centre_id: int | None,
    role: str = "staff",
    *,
    language: str | None = "en",
    channel: str = "telegram",
) -> Resident:
    """A chat account that opened an invitation and agreed: it now sees the staff menu."""
    person = Resident(app.conversation, key, language, channel)
    person.send(f"/start staff-{invitation(app, role, centre_id)}")
    if person.replies and any(
        "I agree" in b.label for row in person.replies[-1].buttons for b in row
    ):
        person.tap("I agree")
    assert "Staff tools" in person.last, person.last
    return person
