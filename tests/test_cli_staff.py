"""``workshopbot invite``, ``staff list|revoke`` and ``audit``, run as the operator runs them:
a process of its own against a real database, the code then opened in a real chat."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.test_cli import run_cli, workshopbot

CODE = re.compile(r"^code: ([a-z0-9]{16})$", re.MULTILINE)
REF = re.compile(r"\b[0-9a-f]{8}\b")


def stored(folder: Path, table: str) -> int:
    """Rows of a table of the embedded database the commands use."""
    with contextlib.closing(sqlite3.connect(folder / "data" / "workshopbot.sqlite3")) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def expiry(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose embedded database knows Krnjača (and nothing else)."""
    folder = tmp_path_factory.mktemp("operator")
    added = workshopbot(folder, "centre", "add", "--slug", "krnjaca", "--name", "Krnjača")
    assert added.returncode == 0, added.stderr
    return folder


def test_invite_list_revoke_and_audit(tmp_path: Path) -> None:
    added = workshopbot(tmp_path, "centre", "add", "--slug", "krnjaca", "--name", "Krnjača")
    assert added.returncode == 0, added.stderr
    zone = "America/New_York"  # the operator's TIMEZONE, not the centre's, dates the expiry
    before = datetime.now(ZoneInfo(zone))
    made = workshopbot(
        tmp_path, "invite", "--role", "staff", "--centre", "krnjaca", "--expires", "2d",
        TIMEZONE=zone,
    )  # fmt: skip
    after = datetime.now(ZoneInfo(zone))
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    found = CODE.search(made.stdout)
    assert found is not None, made.stdout
    code = found.group(1)
    assert lines[0] == "invitation for staff at Krnjača (krnjaca); it works once"
    assert lines[2] in {
        f"expires: {expiry(moment + timedelta(days=2), zone)} ({zone})"
        for moment in (before, after)
    }
    assert f"https://t.me/<bot username>?start=staff-{code}" in lines[3]
    assert "set TELEGRAM_BOT_TOKEN, or run the bot once" in lines[3]
    assert f"viber://pa?chatURI=<uri>&context=staff-{code}" in lines[4]
    assert "set VIBER_CHAT_URI" in lines[4]
    assert stored(tmp_path, "invite") == 1

    # The code opened in a chat (the terminal one), agreed to: staff at Krnjača.
    chat = workshopbot(tmp_path, "chat", stdin=f"/start staff-{code}\n1\n")
    assert chat.returncode == 0, chat.stderr
    assert "You are now staff at Krnjača" in chat.stdout
    again = workshopbot(tmp_path, "chat", stdin=f"/start staff-{code}\n")
    assert "You are already staff" in again.stdout  # the same account: it worked, once

    listed = workshopbot(tmp_path, "staff", "list")
    refs = REF.findall(listed.stdout)
    assert len(refs) == 1, listed.stdout
    ref = refs[0]
    row = next(line for line in listed.stdout.splitlines() if ref in line)
    assert "staff" in row and "krnjaca" in row and "console" in row
    assert workshopbot(tmp_path, "staff", "list", "--centre", "krnjaca").stdout.count(ref) == 1

    revoked = workshopbot(tmp_path, "staff", "revoke", ref)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == f"revoked {ref} (staff); their next staff action is refused\n"
    assert ref not in workshopbot(tmp_path, "staff", "list").stdout
    everyone = workshopbot(tmp_path, "staff", "list", "--all").stdout
    assert ref in everyone and everyone.count(":") >= 2  # since, and revoked, as times
    twice = workshopbot(tmp_path, "staff", "revoke", ref)
    assert twice.returncode == 2 and "was revoked already" in twice.stderr
    refused = workshopbot(tmp_path, "chat", stdin="/staff\n")
    assert "not allowed" in refused.stdout

    log = workshopbot(tmp_path, "audit").stdout.splitlines()
    assert log[0].split() == ["time", "actor", "role", "action", "centre", "detail"]
    entries = [line.split(None, 2)[2] for line in log[1:]]  # without the time
    assert [" ".join(entry.split()) for entry in entries] == [
        "cli operator invite created krnjaca role staff, expires in 2d",
        f"{ref} staff invite used krnjaca invite 1, role staff",
        f"cli operator staff revoked krnjaca staff {ref}, role staff",
    ]
    newest = workshopbot(tmp_path, "audit", "--limit", "1", "--centre", "krnjaca").stdout
    assert newest.count("\n") == 2 and "staff revoked" in newest
    assert workshopbot(tmp_path, "audit", "--since", "2099-01-01").stdout.endswith("(no entries)\n")
    assert "invite used" in workshopbot(tmp_path, "audit", "--since", "1h").stdout

    # Another data key could not make a code the bot can open: refused, nothing made.
    other = workshopbot(
        tmp_path, "invite", "--role", "admin",
        DATA_KEY="another-key-0123456789abcdefghijklmnopq",
    )  # fmt: skip
    assert other.returncode == 2 and "DATA_KEY does not match" in other.stderr
    assert stored(tmp_path, "invite") == 1


def test_coordinator_and_admin_invitations_are_for_all_centres(centre: Path) -> None:
    for role in ("coordinator", "admin"):
        made = workshopbot(centre, "invite", "--role", role, "--expires", "1h")
        assert made.returncode == 0, made.stderr
        assert made.stdout.startswith(f"invitation for {role} for all centres; it works once\n")
    with contextlib.closing(sqlite3.connect(centre / "data" / "workshopbot.sqlite3")) as db:
        rows = db.execute("SELECT role, centre_id, created_by FROM invite ORDER BY id").fetchall()
        lasts = db.execute("SELECT expires_at, created_at FROM invite").fetchall()
    assert rows == [("coordinator", None, "cli"), ("admin", None, "cli")]
    for expires, created in lasts:
        assert datetime.fromisoformat(expires) - datetime.fromisoformat(created) == timedelta(
            hours=1
        )
    assert stored(centre, "invite") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invite", "--role", "staff", "--centre", "nowhere"], "no centre with the slug 'nowhere'"),
        (["invite", "--role", "staff"], "--centre is needed for a staff invitation"),
        (["invite", "--role", "admin", "--centre", "krnjaca"], "--centre is only for staff"),
        (["invite", "--role", "staff", "--centre", "krnjaca", "--expires", "0"], "not a duration"),
        (["invite", "--role", "staff", "--centre", "krnjaca", "--expires", "99d"], "1h and 30d"),
        (["invite", "--role", "staff", "--centre", "krnjaca", "--expires", "30m"], "1h and 30d"),
        (["invite", "--role", "boss"], "Invalid value for '--role'"),
        (["staff", "revoke", "nobody"], "there is no staff member 'nobody'"),
        (["staff", "list", "--centre", "nowhere"], "no centre with the slug 'nowhere'"),
        (["audit", "--centre", "nowhere"], "no centre with the slug 'nowhere'"),
        (["audit", "--since", "yesterday"], "--since must be a duration like 7d"),
        (["audit", "--since", "2026-02-30"], "2026-02-30 is not a day"),
        (["audit", "--limit", "0"], "Invalid value for '--limit'"),
    ],
)
def test_operator_mistakes_get_one_line_and_change_nothing(
    centre: Path, args: list[str], message: str
) -> None:
    invites, logged = stored(centre, "invite"), stored(centre, "audit_log")
    done = workshopbot(centre, *args)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("workshopbot: "), done.stderr
    assert message in lines[0]
    assert (stored(centre, "invite"), stored(centre, "audit_log")) == (invites, logged)


async def test_invite_shows_the_bots_real_links(tmp_path: Path) -> None:
    async with FakeTelegram(bot_username="radionice_bot") as fake:
        telegram = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
        code, out, err = await run_cli(
            tmp_path, "invite", "--role", "admin", VIBER_CHAT_URI="radionice", **telegram
        )
    assert code == 0, err
    found = CODE.search(out)
    assert found is not None, out
    assert out.splitlines()[-2:] == [
        f"Telegram link: https://t.me/radionice_bot?start=staff-{found.group(1)}",
        f"Viber link: viber://pa?chatURI=radionice&context=staff-{found.group(1)}",
    ]
