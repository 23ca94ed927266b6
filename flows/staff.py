"""Staff: who may do what, the staff menu, invitations, and the audit log.

Roles (``storage.models.Role``): ``staff`` runs one centre; ``coordinator`` reads every centre;
``admin`` does everything, including inviting. The stored role is the only authority: every
staff handler calls :func:`require` (or :func:`can`) first, whatever buttons were shown, and a
resident who forges a staff button or command is told "not allowed" and nothing changes. Every
staff action that changes something is written to the audit log with :func:`audit`.

A staff member is a person too. They see the staff menu; "Resident view" shows the menu
residents see (to book a workshop for themselves), and "Staff tools" goes back.

Invitations: an operator (``workshopbot invite``) or an admin in the chat makes a one-time
code; only its keyed hash is stored. Opening ``staff-<code>`` (a Telegram or Viber link)
makes that chat account staff, after the same kind of notice residents agree to. Failed
tries are counted per chat account: after :data:`MAX_ATTEMPTS` in an hour, no more.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from flows import home
from flows.i18n import N_, Translator
from flows.router import Feature, Int, Turn
from flows.ui import back, make_reply
from storage import queries as q
from storage.identity import Vault
from storage.models import Centre, Invite, Role, StaffMember, StaffView

feature = Feature("staff")

ROLES = (Role.STAFF, Role.COORDINATOR, Role.ADMIN, Role.FOCAL)  # what an invitation makes
ANY_ROLE = tuple(str(role) for role in home.STAFF_TOOLS)  # the roles with staff tools
AT_ONE_CENTRE = (Role.STAFF,)  # a centre is needed; a focal point may have one or not
INVITE_PREFIX = "staff-"
CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud, typed by hand
CODE_LENGTH = 16
_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_ATTEMPTS = 5  # failed invitation tries per chat account per hour
INVITE_DAYS = 7
CLI = "cli"  # the actor named in the audit log for the command line


# --- who may do what -----------------------------------------------------------------------


def can(member: StaffMember | None, centre_id: int | None, *, write: bool = True) -> bool:
    """Whether a staff role may act on a centre (``write``) or only look at it."""
    if member is None or member.revoked_at is not None:
        return False
    if member.role == Role.ADMIN:
        return True
    if member.role == Role.COORDINATOR:
        return not write
    return member.role == Role.STAFF and centre_id is not None and member.centre_id == centre_id


def require(
    turn: Turn,
    *,
    centre_id: int | None = None,
    write: bool = True,
    roles: tuple[str, ...] = ANY_ROLE,
) -> StaffMember | None:
    """The person's staff role if it allows this action, else None after saying "not allowed".

    ``centre_id`` None: the action is at the staff member's own centre (see :func:`centre_of`).
    """
    member = turn.staff
    if member is None or member.role not in roles:
        deny(turn)
        return None
    if centre_id is None:
        centre = centre_of(turn)
        centre_id = centre.id if centre is not None else None
        if centre_id is None and _everywhere(member, write=write):
            return member  # an admin (or a coordinator, to look) with no centre chosen yet
    if not can(member, centre_id, write=write):
        deny(turn)
        return None
    return member


def _everywhere(member: StaffMember, *, write: bool) -> bool:
    """Whether a role may act without a centre: admins, and coordinators when they look."""
    return member.role == Role.ADMIN or (member.role == Role.COORDINATOR and not write)


def deny(turn: Turn) -> None:
    """A staff action by someone without the role for it: nothing happens."""
    home.show_menu(turn, note="⛔ " + turn.t._("Sorry, you are not allowed to do that."))


def centre_of(turn: Turn) -> Centre | None:
    """The centre a staff member works on: their own (staff), or the one they chose (others)."""
    member = turn.staff
    if member is not None and member.role == Role.STAFF:
        return q.centre_by_id(turn.db, member.centre_id) if member.centre_id else None
    return turn.centre


def audit(
    turn: Turn, member: StaffMember, action: str, centre_id: int | None, detail: str = ""
) -> None:
    """Record a staff action: who (role and opaque ref), what, when, at which centre."""
    q.audit(
        turn.db, now=turn.now, actor=member.ref, role=member.role, action=action,
        centre_id=centre_id, detail=detail,
    )  # fmt: skip


def role_name(t: Translator, role: str) -> str:
    names = {
        Role.STAFF: N_("staff"),
        Role.COORDINATOR: N_("coordinator"),
        Role.ADMIN: N_("admin"),
        Role.FOCAL: N_("protection focal point"),
    }
    return t._(names[Role(role)]) if role in names else role


# --- the two views ---------------------------------------------------------------------------


def _set_view(turn: Turn, view: StaffView) -> None:
    member = turn.staff
    if member is None:
        deny(turn)
        return
    member.view = view
    turn.db.add(member)
    home.show_menu(turn)


def _staff_view(turn: Turn) -> None:
    _set_view(turn, StaffView.STAFF)


def _resident_view(turn: Turn) -> None:
    _set_view(turn, StaffView.RESIDENT)


STAFF_VIEW = feature.action("SV")(_staff_view)
RESIDENT_VIEW = feature.action("RV")(_resident_view)


@feature.command("staff", N_("Staff tools"), listed=False)
def staff_command(turn: Turn) -> None:
    _staff_view(turn)


feature.menu_entry(90, "🛠", N_("Staff tools"), STAFF_VIEW, row=9, roles=ANY_ROLE)
feature.menu_entry(90, "👤", N_("Resident view"), RESIDENT_VIEW, row=9, menu="staff")


# --- invitations -------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(vault: Vault, code: str) -> str:
    return vault.lookup_hash("invite", code)


def make_invite(
    db: Session,
    vault: Vault,
    *,
    role: str,
    centre_id: int | None,
    created_by: str,
    now: datetime,
    days: float = INVITE_DAYS,
) -> str:
    """Store a one-time invitation (its hash only) and return the code to hand over."""
    code = new_code()
    q.create_invite(
        db, code_hash=code_hash(vault, code), role=role, centre_id=centre_id,
        created_by=created_by, now=now, expires_at=now + timedelta(days=days),
    )  # fmt: skip
    return code


def Code(raw: str) -> str | None:
    """An invitation code as typed in a link (any case)."""
    code = raw.strip().lower()
    return code if _CODE.match(code) else None


def _attempts_left(turn: Turn) -> bool:
    key = turn.services.vault.lookup_hash(
        turn.incoming.address.channel, turn.incoming.address.user_key
    )
    return q.count_attempts(turn.db, key, turn.now - timedelta(hours=1)) < MAX_ATTEMPTS


def _failed_attempt(turn: Turn) -> None:
    address = turn.incoming.address
    q.add_attempt(
        turn.db, turn.services.vault.lookup_hash(address.channel, address.user_key), turn.now
    )


def _valid_invite(turn: Turn, code: str | None) -> Invite | None:
    """The invitation a code opens, or None after saying why not (and counting the try)."""
    t = turn.t
    if not _attempts_left(turn):
        _say(
            turn, "⏳ " + t._("Too many tries. Please wait an hour, then ask for a new invitation.")
        )
        return None
    invite = q.invite_by_hash(turn.db, code_hash(turn.services.vault, code)) if code else None
    if invite is not None and _spent_on_them(turn, invite):
        # "I agree" tapped twice, or the link opened again: it worked, nothing to refuse.
        note = t._("You are already {role}.", role=role_name(t, invite.role))
        home.show_menu(turn, note="✅ " + note)
        return None
    if invite is None or invite.used_at is not None or invite.expires_at <= turn.now:
        _failed_attempt(turn)
        _say(turn, "⛔ " + t._(NOT_VALID))
        return None
    return invite


def _spent_on_them(turn: Turn, invite: Invite) -> bool:
    """Whether this invitation already made this very person staff (and still does)."""
    member = turn.staff
    return member is not None and invite.used_at is not None and invite.used_by == member.ref


def _say(turn: Turn, text: str) -> None:
    if turn.person is None:
        turn.say(make_reply(turn.t, [text], [[("🆘 " + turn.t._("Help"), home.HELP.data())]]))
    else:
        home.show_menu(turn, note=text)


@feature.on_start(INVITE_PREFIX)
def open_invite(turn: Turn, raw: str) -> None:
    """``/start staff-<code>``: a newcomer reads the notice first; a known person becomes
    staff at once."""
    code = Code(raw)
    invite = _valid_invite(turn, code)
    if invite is None or code is None:
        return
    if turn.person is None:
        t = turn.t
        lines = [
            t._("This is an invitation to use the bot as {role}.", role=role_name(t, invite.role)),
            "",
            "• " + t._("The bot keeps only your language, your centre and your staff role."),
            "• " + t._("The bot does not keep your name, your phone number or your messages."),
            "• " + t._("What you do as staff is recorded in an audit log, without your name."),
            "",
            t._("Do you agree?"),
        ]
        rows = [
            [("✅ " + t._("I agree"), ACCEPT.data(code))],
            [("🆘 " + t._("Help"), home.HELP.data())],
        ]
        turn.say(make_reply(t, lines, rows))
        return
    _become_staff(turn, invite)


def _accept(turn: Turn, code: str) -> None:
    invite = _valid_invite(turn, code)
    if invite is not None:
        _become_staff(turn, invite)


ACCEPT = feature.action("SI", Code, consent=False)(_accept)

NOT_VALID = N_(
    "This invitation is not valid. It may have expired or been used already. "
    "Please ask for a new one."
)


def _become_staff(turn: Turn, invite: Invite) -> None:
    """Spend the invitation (one winner, even with two taps at once), then give the role."""
    assert invite.id is not None
    t = turn.t
    if not q.use_invite(turn.db, invite.id, now=turn.now):
        _say(turn, "⛔ " + t._(NOT_VALID))
        return
    if turn.person is None:
        address = turn.incoming.address
        turn.person = q.create_person(
            turn.db, turn.services.vault, channel=address.channel, user_key=address.user_key,
            locale=t.code, centre_id=invite.centre_id, now=turn.now,
        )  # fmt: skip
    person = turn.person
    assert person.id is not None
    member = q.add_member(
        turn.db, person_id=person.id, role=invite.role, centre_id=invite.centre_id, now=turn.now
    )
    invite.used_by = member.ref
    turn.db.add(invite)
    if invite.centre_id is not None:
        person.centre_id = invite.centre_id
        turn.db.add(person)
    audit(turn, member, "invite used", invite.centre_id, f"invite {invite.id}, role {invite.role}")
    turn.forget_staff()
    centre = q.centre_by_id(turn.db, invite.centre_id) if invite.centre_id else None
    role = role_name(t, invite.role)
    if centre is not None:
        note = t._("Welcome. You are now {role} at {centre}.", role=role, centre=centre.name)
    else:
        note = t._("Welcome. You are now {role} for all centres.", role=role)
    note = "✅ " + note
    if invite.role == Role.FOCAL:
        note += "\n" + t._(
            "Reports of abuse or misconduct will reach you here, in this chat. Please do not "
            "stop or block the bot."
        )
    home.show_menu(turn, note=note)


# --- inviting from the chat (admins) ---------------------------------------------------


def _invite_menu(turn: Turn) -> None:
    if require(turn, roles=(Role.ADMIN,)) is None:
        return
    t = turn.t
    rows = [
        [("👥 " + role_name(t, role), INVITE_ROLE.data(index))] for index, role in enumerate(ROLES)
    ]
    rows.append(_to_staff_tools(t))
    turn.show(
        home.MENU_STATE, make_reply(t, [t._("Whom would you like to invite?")], rows, replace=True)
    )


def _to_staff_tools(t: Translator) -> list[tuple[str, str]]:
    """The way back from an admin's screen: the staff menu, even when the screen was
    reached from an old button while in the resident view."""
    return [(back(t) + " " + t._("Staff tools"), STAFF_VIEW.data())]


INVITE = feature.action("IV")(_invite_menu)
feature.menu_entry(80, "✉️", N_("Invite staff"), INVITE, row=8, menu="staff", roles=(Role.ADMIN,))


def _invite_role(turn: Turn, index: int) -> None:
    if require(turn, roles=(Role.ADMIN,)) is None:
        return
    if index >= len(ROLES):
        home.stale(turn)
        return
    t = turn.t
    if ROLES[index] not in (Role.STAFF, Role.FOCAL):
        _invite_made(turn, index, 0)
        return
    rows = [[(c.name, INVITE_MADE.data(index, c.id))] for c in q.list_centres(turn.db)]
    if ROLES[index] == Role.FOCAL:  # one for every centre without its own
        rows.append([(t._("All centres"), INVITE_MADE.data(index, 0))])
    rows.append([(back(t) + " " + t._("Back"), INVITE.data())])
    turn.show(home.MENU_STATE, make_reply(t, [t._("For which centre?")], rows, replace=True))


INVITE_ROLE = feature.action("IR", Int)(_invite_role)


def _invite_made(turn: Turn, index: int, centre_id: int) -> None:
    member = require(turn, roles=(Role.ADMIN,))
    if member is None:
        return
    if index >= len(ROLES):
        home.stale(turn)
        return
    role = ROLES[index]
    centre = q.centre_by_id(turn.db, centre_id) if centre_id else None
    if centre_id and centre is None:
        home.stale(turn)
        return
    if role != Role.FOCAL and (role == Role.STAFF) != (centre is not None):
        home.stale(turn)  # staff belong to one centre; coordinators and admins to none
        return
    code = make_invite(
        turn.db, turn.services.vault, role=role, centre_id=centre.id if centre else None,
        created_by=member.ref, now=turn.now,
    )  # fmt: skip
    audit(turn, member, "invite created", centre.id if centre else None, f"role {role}")
    t = turn.t
    expires = t.when(turn.now + timedelta(days=INVITE_DAYS), turn.zone)
    lines = [
        "✅ " + t._("Invitation made for {role}.", role=role_name(t, role)),
        t._("It works once, until {time}.", time=expires),
        "",
        t._("Send one of these links to the person (only to them):"),
    ]
    links = turn.services.links(turn.db).all(INVITE_PREFIX + code)
    lines += [f"{name}: {link}" for name, link in links]
    if not links:
        lines.append(f"/start {INVITE_PREFIX}{code}")
    turn.show(home.MENU_STATE, make_reply(t, lines, [_to_staff_tools(t)]))


INVITE_MADE = feature.action("IM", Int, Int)(_invite_made)
