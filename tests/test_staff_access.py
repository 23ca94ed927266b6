"""Roles and access, end to end through the conversation: invitations, the two views, forged
staff buttons, revoking, the audit log, and what /mydata and /delete say and do for staff.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlmodel import col, func, select

from bot.app import App
from flows import staff
from flows.clock import FakeClock
from flows.conversation import Conversation
from flows.events import Address, Choice, Incoming, Start
from flows.features import build_router
from flows.replies import Reply
from flows.router import Action, Feature, Int, Turn
from storage import queries as q
from storage.models import (
    AuditEntry,
    Booking,
    Broadcast,
    Invite,
    InviteAttempt,
    LedgerEntry,
    Person,
    Role,
    StaffMember,
    StaffView,
    WorkshopSession,
)
from tests.conftest import T0
from tests.dialogue import Resident, Step, verify_dialog
from tests.seeding import World, seed
from tests.staffing import invitation, operator, ref_of, staff_member

NOT_ALLOWED = "not allowed"
NOT_VALID = "This invitation is not valid"
# The features whose every action and command is for staff only. Those not written yet are
# skipped, but "staff" must be there.
STAFF_FEATURES = ("staff", "staff_sessions", "announce", "posters")
# The one staff action meant for people who are not staff yet: agreeing to an invitation.
FOR_NEWCOMERS = {staff.ACCEPT.code}


@pytest.fixture
def world(app: App, clock: FakeClock) -> World:
    return seed(app.database, clock.now())


def resident(app: App, key: str, centre: str = "krnjaca") -> Resident:
    person = Resident(app.conversation, key, "en")
    person.send(f"/start {centre}")
    person.tap("English")
    person.tap("I agree")
    assert "What would you like to do?" in person.last
    return person


def said(replies: list[Reply]) -> str:
    """Everything a person read in some replies: texts and button labels."""
    return "\n".join(
        [reply.text for reply in replies]
        + [button.label for reply in replies for row in reply.buttons for button in row]
    )


def counts(app: App) -> dict[str, int]:
    """Rows in every table of the database (whatever the schema holds today)."""
    with app.database.session() as db:
        names = inspect(db.connection()).get_table_names()
        return {
            name: int(db.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in sorted(names)
            if name != "alembic_version"
        }


def staff_rows(app: App) -> list[StaffMember]:
    with app.database.session() as db:
        return list(db.exec(select(StaffMember)).all())


def audit_log(app: App) -> list[AuditEntry]:
    with app.database.session() as db:
        return q.audit_entries(db)


def invite_row(app: App, code: str) -> Invite:
    with app.database.session() as db:
        found = q.invite_by_hash(db, staff.code_hash(app.vault, code))
        assert found is not None
        return found


def people(app: App) -> int:
    with app.database.session() as db:
        return q.count_people(db)


def attempts(app: App) -> int:
    with app.database.session() as db:
        return int(db.exec(select(func.count()).select_from(InviteAttempt)).one())


def staff_features(app: App) -> list[Feature]:
    found = [feature for feature in app.router.features if feature.name in STAFF_FEATURES]
    assert "staff" in {feature.name for feature in found}
    return found


def forged(action: Action, pool: list[str], tries: int = 3) -> list[str]:
    """Button data for ``action`` made of plausible values (real ids first)."""
    accepted = [[raw for raw in pool if arg(raw) is not None] for arg in action.args]
    unfilled = [index for index, values in enumerate(accepted) if not values]
    assert not unfilled, f"{action.code}: no sample value fits argument {unfilled}; extend pool"
    return sorted(
        {action.data(*[values[n % len(values)] for values in accepted]) for n in range(tries)}
    )


def pool(world: World) -> list[str]:
    ids = [world.sewing, world.it, world.krnjaca, world.obrenovac, world.elsewhere, 1, 0, 2]
    return [str(i) for i in ids] + ["ar", "en", "abcdefghijkmnpqr", "x"]


def staff_taps(app: App, world: World, skip: set[str] = FOR_NEWCOMERS) -> Iterator[str]:
    for feature in staff_features(app):
        for action in feature.actions:
            if action.code not in skip:
                yield from forged(action, pool(world))


def at_once(app: App, calls: list[Incoming]) -> None:
    barrier = threading.Barrier(len(calls))

    def go(incoming: Incoming) -> None:
        barrier.wait()
        app.conversation.handle(incoming)

    with ThreadPoolExecutor(len(calls)) as threads:
        list(threads.map(go, calls))


# --- invitations ------------------------------------------------------------------------------


def test_a_newcomer_reads_the_notice_agrees_and_becomes_staff(app: App, world: World) -> None:
    code = invitation(app, "staff", world.krnjaca)
    newcomer = Resident(app.conversation, "5001", "en")

    def made_staff() -> None:
        [member] = staff_rows(app)
        assert (member.role, member.centre_id, member.view) == ("staff", world.krnjaca, "staff")
        with app.database.session() as db:
            person = db.get(Person, member.person_id)
            assert person is not None and person.centre_id == world.krnjaca
        used = invite_row(app, code)
        assert used.used_at == app.clock.now() and used.used_by == member.ref
        [entry] = audit_log(app)
        assert (entry.actor, entry.role, entry.action) == (member.ref, "staff", "invite used")
        assert entry.centre_id == world.krnjaca

    verify_dialog(
        newcomer,
        [
            Step(
                f"/start staff-{code}",
                ["invitation to use the bot as staff", "audit log", "Do you agree?", "I agree"],
                after={"people": 0},
            ),
            Step(("tap", "I agree"), ["You are now staff at Krnjača", "Staff tools for Krnjača"]),
            Step("/menu", ["Staff tools for Krnjača", "Resident view"], after=made_staff),
        ],
    )


def test_a_known_resident_becomes_staff_at_once(app: App, world: World) -> None:
    amina = resident(app, "5002")
    code = invitation(app, "staff", world.obrenovac)
    verify_dialog(
        amina,
        [
            Step(
                f"/start STAFF-{code.upper()}",  # typed by hand, in capitals
                ["You are now staff at Obrenovac", "Staff tools for Obrenovac"],
                absent="Do you agree?",
                after={"people": 1},
            ),
        ],
    )
    [member] = staff_rows(app)
    assert (member.role, member.centre_id) == ("staff", world.obrenovac)
    with app.database.session() as db:
        person = db.get(Person, member.person_id)
        assert person is not None and person.centre_id == world.obrenovac  # works there now


def _expired(app: App, world: World, clock: FakeClock) -> str:
    code = invitation(app, "staff", world.krnjaca, days=1)
    clock.advance(timedelta(days=1))
    return f"staff-{code}"


def _reused(app: App, world: World, clock: FakeClock) -> str:
    code = invitation(app, "staff", world.krnjaca)
    staff_member_with(app, code, "5999")
    return f"staff-{code}"


def staff_member_with(app: App, code: str, key: str) -> Resident:
    person = Resident(app.conversation, key, "en")
    person.send(f"/start staff-{code}")
    person.tap("I agree")
    assert "You are now staff" in person.last, person.last
    return person


BAD_CODES: dict[str, Callable[[App, World, FakeClock], str]] = {
    "expired": _expired,
    "reused": _reused,
    "made up": lambda app, world, clock: "staff-abcdefghijkmnpqr",
    "empty": lambda app, world, clock: "staff-",
    "not letters": lambda app, world, clock: "staff-!!",
    "200 characters": lambda app, world, clock: "staff-" + "a" * 200,
    "spaces": lambda app, world, clock: "staff- abc def ",
}


@pytest.mark.parametrize("case", sorted(BAD_CODES))
def test_a_bad_invitation_is_refused_kindly_and_nothing_is_kept(
    app: App, world: World, clock: FakeClock, case: str
) -> None:
    payload = BAD_CODES[case](app, world, clock)
    before = {name: n for name, n in counts(app).items() if name != "invite_attempt"}
    staff_before = len(staff_rows(app))
    newcomer = Resident(app.conversation, "5003", "en")
    # As a link's payload arrives (Telegram's /start, Viber's conversation_started context).
    replies = newcomer._do(Start(payload), f"/start {payload}")
    assert NOT_VALID in said(replies) and "Help" in said(replies)
    assert "Sorry, something went wrong" not in said(replies)
    after = {name: n for name, n in counts(app).items() if name != "invite_attempt"}
    assert after == before  # no person, no staff role: only the failed try is counted
    assert attempts(app) == 1

    # A resident the bot knows gets the same answer, and their menu; nobody became staff.
    amina = resident(app, "5004")
    replies = amina._do(Start(payload), f"/start {payload}")
    assert NOT_VALID in said(replies) and "Upcoming workshops" in said(replies)
    assert len(staff_rows(app)) == staff_before


def test_five_failed_tries_an_hour_then_even_a_good_code_waits(
    app: App, world: World, clock: FakeClock
) -> None:
    guesser = Resident(app.conversation, "5005", "en")
    for n in range(staff.MAX_ATTEMPTS):
        guesser.send(f"/start staff-{'abcdefghijkmnpq'}{n + 2}")
        assert NOT_VALID in guesser.last
    good = invitation(app, "staff", world.krnjaca)
    guesser.send(f"/start staff-{good}")
    assert "Too many tries" in guesser.last
    guesser.tap_data(staff.ACCEPT.data(good))  # the agree button, forged: the same limit
    assert "Too many tries" in guesser.last
    assert (people(app), attempts(app)) == (0, staff.MAX_ATTEMPTS)  # waiting adds no tries
    assert invite_row(app, good).used_at is None

    # Another chat account is not held back by this one's tries.
    other = invitation(app, "staff", world.obrenovac)
    staff_member_with(app, other, "5006")

    clock.advance(timedelta(minutes=59))
    guesser.send(f"/start staff-{good}")
    assert "Too many tries" in guesser.last
    clock.advance(timedelta(minutes=2))
    guesser.send(f"/start staff-{good}")
    guesser.tap("I agree")
    assert "You are now staff at Krnjača" in guesser.last


async def test_the_hourly_housekeeping_forgets_tries_and_drafts_older_than_a_day(
    app: App, world: World, clock: FakeClock
) -> None:
    guesser = Resident(app.conversation, "5007", "en")
    guesser.send("/start staff-abcdefghijkmnpqr")
    with app.database.session() as db:
        q.new_draft(db, centre_id=world.krnjaca, author="ref-a", base_locale="en", now=clock.now())
    clock.advance(timedelta(hours=23))
    guesser.send("/start staff-abcdefghijkmnpqs")
    with app.database.session() as db:
        q.new_draft(db, centre_id=world.krnjaca, author="ref-b", base_locale="en", now=clock.now())
    assert attempts(app) == 2
    clock.advance(timedelta(hours=2))
    await app.scheduler._forget()
    assert attempts(app) == 1  # the one a day and an hour old is gone
    with app.database.session() as db:  # so is the abandoned draft; the newer one stays
        authors = db.exec(select(Broadcast.author)).all()
    assert authors == ["ref-b"]


def test_two_taps_on_i_agree_make_one_staff_member(app: App, world: World) -> None:
    code = invitation(app, "staff", world.krnjaca)
    newcomer = Resident(app.conversation, "5008", "en")
    newcomer.send(f"/start staff-{code}")
    agree = newcomer.button("I agree")
    newcomer.tap_data(agree)
    used_at = invite_row(app, code).used_at
    newcomer.tap_data(agree)  # the second tap of a double tap, handled after the first
    assert "You are already staff" in newcomer.last and NOT_VALID not in newcomer.last
    assert "Staff tools for Krnjača" in newcomer.last
    assert len(staff_rows(app)) == 1 and people(app) == 1
    assert invite_row(app, code).used_at == used_at
    assert [e.action for e in audit_log(app)] == ["invite used"]
    assert attempts(app) == 0  # not a failed try


def test_taps_on_i_agree_at_the_same_moment_make_one_staff_member(app: App, world: World) -> None:
    code = invitation(app, "staff", world.krnjaca)
    tap = Incoming(Address("telegram", "5009"), Choice(staff.ACCEPT.data(code)), "en")
    at_once(app, [tap] * 4)
    assert len(staff_rows(app)) == 1 and people(app) == 1
    assert [e.action for e in audit_log(app)] == ["invite used"]


def test_two_people_racing_for_one_code_one_wins(app: App, world: World) -> None:
    code = invitation(app, "staff", world.krnjaca)
    keys = [str(5100 + n) for n in range(5)]
    taps = [Incoming(Address("telegram", k), Choice(staff.ACCEPT.data(code)), "en") for k in keys]
    at_once(app, taps)
    [member] = staff_rows(app)
    assert people(app) == 1  # the others were newcomers: nothing is kept about them
    assert invite_row(app, code).used_by == member.ref
    with app.database.session() as db:
        winners = [k for k in keys if q.find_person(db, app.vault, "telegram", k) is not None]
    assert len(winners) == 1


# --- forged staff buttons and commands ---------------------------------------------------------


def test_forged_staff_buttons_and_commands_from_a_resident_change_nothing(
    app: App, world: World
) -> None:
    amina = resident(app, "5010")
    amina.tap("Upcoming workshops")
    amina.tap("Sewing workshop")
    amina.tap("Book a seat")
    before = counts(app)
    taps = list(staff_taps(app, world))
    assert {data.split(":")[0] for data in taps} >= {"SV", "RV", "IV", "IR", "IM"}
    for data in taps:
        replies = amina.tap_data(data)
        assert NOT_ALLOWED in said(replies), (data, said(replies))
        assert counts(app) == before, data
    commands = [c.name for feature in staff_features(app) for c in feature.commands]
    assert "staff" in commands
    for name in commands:
        replies = amina.send(f"/{name}")
        assert NOT_ALLOWED in said(replies), (name, said(replies))
        assert "Staff tools" not in said(replies)
    assert counts(app) == before
    assert staff_rows(app) == [] and audit_log(app) == []


def test_forged_staff_buttons_from_a_newcomer_keep_nothing(app: App, world: World) -> None:
    before = counts(app)
    stranger = Resident(app.conversation, "5011", "en")
    for data in staff_taps(app, world):
        replies = stranger.tap_data(data)
        assert "Please choose your language" in said(replies), data
    assert counts(app) == before


def krnjaca_rows(app: App, world: World, person_id: int) -> list[Any]:
    """Everything of Krnjača's that staff elsewhere must not touch."""
    with app.database.session() as db:
        sessions = db.exec(
            select(WorkshopSession).where(WorkshopSession.centre_id == world.krnjaca)
        ).all()
        ids = [s.id for s in sessions]
        bookings = db.exec(select(Booking).where(col(Booking.session_id).in_(ids))).all()
        owed = db.exec(select(LedgerEntry).where(LedgerEntry.person_id == person_id)).all()
        logged = db.exec(select(AuditEntry).where(AuditEntry.centre_id == world.krnjaca)).all()
        rows: list[Any] = [*sessions, *bookings, *owed, *logged]
        return [row.model_dump() for row in rows]


def test_staff_of_one_centre_cannot_see_or_touch_another(app: App, world: World) -> None:
    amina = resident(app, "5012")
    amina.tap("Upcoming workshops")
    amina.tap("Sewing workshop")
    amina.tap("Book a seat")
    with app.database.session() as db:
        found = q.find_person(db, app.vault, "telegram", "5012")
        assert found is not None and found.id is not None
        amina_id = found.id
    milos = staff_member(app, "5013", world.obrenovac)
    before = krnjaca_rows(app, world, amina_id)
    for data in staff_taps(app, world, skip=set()):
        replies = milos.tap_data(data)
        shown = said(replies)
        for secret in ("Krnjača", "Sewing workshop", "IT basics"):
            assert secret not in shown, (data, shown)
        milos.tap_data(staff.STAFF_VIEW.data())  # back to the staff view, whatever happened
    assert krnjaca_rows(app, world, amina_id) == before


def test_a_resident_cannot_reach_staff_text_handlers(app: App, world: World) -> None:
    """A state is set by the server only; a resident typing lands in the residents' flow."""
    amina = resident(app, "5014")
    before = counts(app)
    amina.send("Sewing workshop, tomorrow 10:00, 12 seats")
    assert "did not understand" in amina.last
    assert counts(app) == before


# --- the two views -----------------------------------------------------------------------------


def test_staff_switch_to_the_resident_view_to_book_and_back(app: App, world: World) -> None:
    sara = staff_member(app, "5015", world.krnjaca)
    assert sara.has_button("Resident view") and not sara.has_button("Upcoming workshops")
    sara.tap("Resident view")
    assert "What would you like to do?" in sara.last and sara.has_button("Staff tools")
    sara.tap("Upcoming workshops")
    sara.tap("Sewing workshop")
    book = sara.button("Book a seat")
    sara.tap_data(book)
    assert "Your seat is booked" in sara.last
    sara.tap("Menu")
    sara.tap("Staff tools")
    assert "Staff tools for Krnjača" in sara.last and sara.has_button("Resident view")

    # In the staff view an old "Book" button books nothing.
    sara.tap_data(book.split(":")[0] + f":{world.it}")
    assert "This is for residents" in sara.last and "Resident view" in said(sara.replies[-1:])
    with app.database.session() as db:
        rows = db.exec(select(Booking)).all()
        assert [(b.session_id, b.status) for b in rows] == [(world.sewing, "confirmed")]
        [member] = db.exec(select(StaffMember)).all()
        assert member.view == StaffView.STAFF


# --- revoking ----------------------------------------------------------------------------------


def test_revoked_staff_lose_access_at_once(app: App, world: World, tmp_path: Path) -> None:
    sara = staff_member(app, "5016", world.krnjaca)
    ref = ref_of(app, sara)
    done = operator(app, tmp_path, "staff", "revoke", ref)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"revoked {ref}")

    before = counts(app)
    replies = sara.tap("Resident view")  # a button of the staff menu she still has
    assert NOT_ALLOWED in said(replies)
    assert "Staff tools" not in said(replies)  # the menu she sees now is the residents'
    for data in staff_taps(app, world):
        assert NOT_ALLOWED in said(sara.tap_data(data)), data
    assert NOT_ALLOWED in sara.send("/staff")[-1].text
    assert counts(app) == before
    [entry] = [e for e in audit_log(app) if e.action == "staff revoked"]
    assert (entry.actor, entry.role, entry.centre_id) == ("cli", "operator", world.krnjaca)
    assert ref in entry.detail

    # A new invitation makes her staff again (the same ref: the log follows one person).
    sara.send(f"/start staff-{invitation(app, 'staff', world.obrenovac)}")
    assert "You are now staff at Obrenovac" in sara.last
    assert ref_of(app, sara) == ref


# A staff step of our own (see the probe below), so the check runs even before the staff
# features have steps, and proves it can fail.
probe = Feature("probe")
ALLOWED = "probe: go ahead"
PROBE_STATE = "probe.answer"


@probe.on_text(PROBE_STATE)
def _probe_answer(turn: Turn, typed: str) -> None:
    if staff.require(turn) is not None:
        turn.say(Reply(text=ALLOWED))


def _probe(turn: Turn, centre_id: int, write: int) -> None:
    if staff.require(turn, centre_id=centre_id or None, write=bool(write)) is not None:
        turn.say(Reply(text=ALLOWED))


PROBE = probe.action("ZZP", Int, Int)(_probe)


def probed(app: App) -> Conversation:
    """The app's conversation with the probe feature added."""
    return Conversation(app.database, app.conversation.services, build_router((probe,)))


STAFF_STATES = sorted(
    (feature.name, state)
    for feature in build_router((probe,)).features
    if feature.name in (*STAFF_FEATURES, probe.name)
    for state in feature.text_handlers
)


@pytest.mark.parametrize(("feature", "state"), STAFF_STATES)
def test_staff_revoked_while_typing_an_answer_are_not_allowed(
    app: App, world: World, feature: str, state: str
) -> None:
    """Whatever the step (a title, a notice), the answer after revoking changes nothing."""
    sara = staff_member(app, "5017", world.krnjaca)
    sara.conversation = probed(app)
    if state == PROBE_STATE:
        _in_state(app, "5017", state)
        assert ALLOWED in said(sara.send("an answer"))  # before revoking, it goes ahead
    with app.database.session() as db:
        q.revoke_member(db, ref_of(app, sara), app.clock.now())
    before = counts(app)
    for answer in ("Sewing for beginners", "12", "3 7 12", "tomorrow 10:00", "yes"):
        _in_state(app, "5017", state)  # in the step, as if the question was just asked
        replies = sara.send(answer)
        assert NOT_ALLOWED in said(replies), (state, answer, said(replies))
    assert counts(app) == before


def _in_state(app: App, key: str, state: str) -> None:
    with app.database.session() as db:
        person = q.find_person(db, app.vault, "telegram", key)
        assert person is not None
        q.save_state(person, state)
        db.add(person)


# --- roles -------------------------------------------------------------------------------------


def test_coordinators_look_admins_invite(app: App, world: World) -> None:
    coordinator = staff_member(app, "5018", None, "coordinator")
    assert "Staff tools." in coordinator.last and not coordinator.has_button("Invite staff")
    assert NOT_ALLOWED in said(coordinator.tap_data(staff.INVITE.data()))

    admin = staff_member(app, "5019", None, "admin")
    admin.tap("Invite staff")
    assert admin.labels() == [
        "👥 staff", "👥 coordinator", "👥 admin", "👥 protection focal point", "⬅️ Staff tools"
    ]  # fmt: skip
    admin.tap("👥 staff")
    admin.tap("Obrenovac")
    assert "Invitation made for staff" in admin.last
    code = admin.last.split("/start staff-")[1].split()[0]
    newcomer = staff_member_with(app, code, "5020")
    assert "You are now staff at Obrenovac" in newcomer.last

    admin_ref = ref_of(app, admin)
    created = [e for e in audit_log(app) if e.action == "invite created"]
    assert [(e.actor, e.role, e.centre_id) for e in created] == [
        (admin_ref, "admin", world.obrenovac)
    ]
    assert invite_row(app, code).created_by == admin_ref


def test_an_admin_invites_from_the_resident_view_too(app: App, world: World) -> None:
    admin = staff_member(app, "5021", None, "admin")
    invite = admin.button("Invite staff")
    admin.tap("Resident view")
    admin.tap_data(invite)  # the button of an older message
    admin.tap("coordinator")
    assert "Invitation made for coordinator" in admin.last
    code = admin.last.split("/start staff-")[1].split()[0]
    assert invite_row(app, code).centre_id is None
    admin.tap("Staff tools")  # the way back leads to the staff menu, not the residents'
    assert "Staff tools." in admin.last and admin.has_button("Invite staff")
    # Forged: a coordinator bound to a centre, a staff invitation without one.
    for data in (staff.INVITE_MADE.data(1, world.krnjaca), staff.INVITE_MADE.data(0, 0)):
        assert "no longer valid" in said(admin.tap_data(data))
    assert len([e for e in audit_log(app) if e.action == "invite created"]) == 1


def test_invitation_links_name_both_platforms(app: App, world: World, tmp_path: Path) -> None:
    with app.database.session() as db:
        q.remember_username(db, "telegram", "radionice_bot", app.clock.now())
    conversation = Conversation(
        app.database,
        _with_viber_uri(app, "radionice"),
        app.router,
    )
    admin = staff_member(app, "5022", None, "admin")
    admin.conversation = conversation
    admin.tap("Invite staff")
    admin.tap("admin")
    code = admin.last.split("?start=staff-")[1].split()[0]
    assert f"Telegram: https://t.me/radionice_bot?start=staff-{code}" in admin.last
    assert f"Viber: viber://pa?chatURI=radionice&context=staff-{code}" in admin.last


def _with_viber_uri(app: App, uri: str) -> Any:
    from dataclasses import replace

    return replace(app.conversation.services, viber_uri=uri)


# require(), through real turns, for every role --------------------------------------------------


@pytest.mark.parametrize(
    ("role", "own", "other", "own_read", "other_read"),
    [
        ("staff", True, False, True, False),
        ("coordinator", False, False, True, True),
        ("admin", True, True, True, True),
    ],
)
def test_require_allows_what_the_role_allows(
    app: App, world: World, role: str, own: bool, other: bool, own_read: bool, other_read: bool
) -> None:
    conversation = probed(app)
    person = staff_member(app, "5023", world.krnjaca if role == "staff" else None, role)
    person.conversation = conversation

    def allowed(centre_id: int, write: bool) -> bool:
        replies = person.tap_data(PROBE.data(centre_id, int(write)))
        assert (ALLOWED in said(replies)) != (NOT_ALLOWED in said(replies))
        return ALLOWED in said(replies)

    assert allowed(world.krnjaca, True) is own
    assert allowed(world.obrenovac, True) is other
    assert allowed(world.krnjaca, False) is own_read
    assert allowed(world.obrenovac, False) is other_read
    # "At my centre" (no centre named): a staff member's own; the others have chosen none
    # yet, and an admin's action then picks one. A coordinator still only looks.
    assert allowed(0, False) is True
    assert allowed(0, True) is (role != "coordinator")
    with app.database.session() as db:
        q.revoke_member(db, ref_of(app, person), app.clock.now())
    assert not any(
        allowed(c, w) for c in (world.krnjaca, world.obrenovac, 0) for w in (False, True)
    )

    amina = Resident(conversation, "5024", "en")
    amina.send("/start krnjaca")
    amina.tap("English")
    amina.tap("I agree")
    assert NOT_ALLOWED in said(amina.tap_data(PROBE.data(world.krnjaca, 0)))


def test_can_is_the_rule_of_roles() -> None:
    def member(role: str, centre_id: int | None, revoked: bool = False) -> StaffMember:
        return StaffMember(
            ref="r", person_id=1, role=role, centre_id=centre_id, created_at=T0,
            revoked_at=T0 if revoked else None,
        )  # fmt: skip

    assert staff.can(member(Role.STAFF, 1), 1) and not staff.can(member(Role.STAFF, 1), 2)
    assert not staff.can(member(Role.STAFF, 1), None)
    assert staff.can(member(Role.COORDINATOR, None), 2, write=False)
    assert not staff.can(member(Role.COORDINATOR, None), 2)
    assert staff.can(member(Role.ADMIN, None), 2) and staff.can(member(Role.ADMIN, None), None)
    assert not staff.can(member(Role.ADMIN, None, revoked=True), 2, write=False)
    assert not staff.can(None, 1, write=False)


# --- privacy -----------------------------------------------------------------------------------


def test_mydata_tells_staff_about_their_role_and_the_log(app: App, world: World) -> None:
    sara = staff_member(app, "5025", world.krnjaca)
    ref = ref_of(app, sara)
    sara.send("/mydata")
    assert "Staff role: staff at Krnjača" in sara.last
    assert f"audit log under an anonymous id: {ref}" in sara.last
    admin = staff_member(app, "5026", None, "admin")
    admin.send("/mydata")
    assert "Staff role: admin, for all centres" in admin.last
    amina = resident(app, "5027")
    amina.send("/mydata")
    assert "Staff role" not in amina.last and "audit log" not in amina.last


def test_delete_by_staff_ends_the_role_and_the_log_keeps_only_the_ref(
    app: App, world: World
) -> None:
    sara = staff_member(app, "5028", world.krnjaca)
    ref = ref_of(app, sara)
    sara.tap("Resident view")
    sara.tap("Upcoming workshops")
    sara.tap("Sewing workshop")
    sara.tap("Book a seat")
    sara.send("/delete")
    assert "Your staff role will end too." in sara.last
    sara.tap("Yes, delete everything")
    assert "Everything is deleted" in sara.last
    assert people(app) == 0 and staff_rows(app) == []
    with app.database.session() as db:
        assert db.exec(select(Booking)).all() == []
    log = audit_log(app)
    assert [e.action for e in log] == ["invite used", "own data erased"]
    assert {e.actor for e in log} == {ref}
    # The account is a stranger now: no staff tools for it.
    assert NOT_ALLOWED not in said(sara.send("/staff"))
    assert "Please choose your language" in said(sara.replies[-1:])
