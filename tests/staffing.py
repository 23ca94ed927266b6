"""Making staff in tests the way people become staff: an invitation, opened in the chat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.app import App
from flows import staff
from storage import queries as q
from storage.models import StaffMember
from tests.conftest import TEST_KEY
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


def operator(app: App, folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``workshopbot <args>`` run as the operator runs it (a process of its own), against the
    database and data key the test's app uses (``env``: more settings)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VIBER_", "DATABASE_", "DATA_", "TIMEZONE", "LOG_"))
    }
    url = make_url(app.database.url).render_as_string(hide_password=False)
    environment.update(DATA_DIR=str(folder / "data"), DATABASE_URL=url, DATA_KEY=TEST_KEY, **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def ref_of(app: App, person: Resident) -> str:
    """The opaque ref of a chat account's staff role (revoked or not)."""
    with app.database.session() as db:
        found = q.find_person(db, app.vault, person.channel, person.user_key)
        assert found is not None and found.id is not None
        member = db.exec(select(StaffMember).where(StaffMember.person_id == found.id)).one()
        return member.ref
