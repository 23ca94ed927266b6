"""Staff: roles, one-time invites, failed invite attempts, and the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.models import AuditEntry, Centre, Invite, InviteAttempt, Person, Role, StaffMember

__all__ = [
    "MemberView",
    "add_attempt",
    "add_member",
    "audit",
    "audit_entries",
    "count_attempts",
    "create_invite",
    "focal_points",
    "forget_attempts",
    "invite_by_hash",
    "list_members",
    "member_by_ref",
    "membership",
    "revoke_member",
    "use_invite",
]


def membership(db: Session, person_id: int | None) -> StaffMember | None:
    """The person's active staff role (None for residents and revoked staff)."""
    if person_id is None:
        return None
    return db.exec(
        select(StaffMember).where(
            StaffMember.person_id == person_id, col(StaffMember.revoked_at).is_(None)
        )
    ).first()


def member_by_ref(db: Session, ref: str) -> StaffMember | None:
    return db.exec(select(StaffMember).where(StaffMember.ref == ref)).first()


def focal_points(db: Session, centre_id: int | None) -> list[StaffMember]:
    """Who receives an abuse report from this centre: its own protection focal points, or,
    where it has none, those for every centre (no centre of their own)."""
    active = [col(StaffMember.role) == Role.FOCAL, col(StaffMember.revoked_at).is_(None)]
    if centre_id is not None:
        own = list(
            db.exec(select(StaffMember).where(*active, col(StaffMember.centre_id) == centre_id))
        )
        if own:
            return own
    return list(db.exec(select(StaffMember).where(*active, col(StaffMember.centre_id).is_(None))))


def add_member(
    db: Session, *, person_id: int, role: str, centre_id: int | None, now: datetime
) -> StaffMember:
    """Make a person staff (again): one row per person, its role and centre replaced."""
    member = db.exec(select(StaffMember).where(StaffMember.person_id == person_id)).first()
    if member is None:
        member = StaffMember(
            ref=secrets.token_hex(4), person_id=person_id, role=role, centre_id=centre_id,
            created_at=now,
        )  # fmt: skip
    member.role = role
    member.centre_id = centre_id
    member.revoked_at = None
    member.view = "staff"
    db.add(member)
    db.flush()
    return member


def revoke_member(db: Session, ref: str, now: datetime) -> StaffMember | None:
    """Take the role away; their next staff action is refused. None if there is none."""
    member = member_by_ref(db, ref)
    if member is None or member.revoked_at is not None:
        return None
    member.revoked_at = now
    db.add(member)
    db.flush()
    return member


@dataclass(frozen=True)
class MemberView:
    member: StaffMember
    channel: str
    centre_slug: str | None


def list_members(
    db: Session, centre_id: int | None = None, *, revoked: bool = False
) -> list[MemberView]:
    statement = (
        select(StaffMember, Person.channel, Centre.slug)
        .join(Person, col(Person.id) == StaffMember.person_id)
        .outerjoin(Centre, col(Centre.id) == StaffMember.centre_id)
        .order_by(col(StaffMember.created_at), col(StaffMember.id))
    )
    if centre_id is not None:
        statement = statement.where(StaffMember.centre_id == centre_id)
    if not revoked:
        statement = statement.where(col(StaffMember.revoked_at).is_(None))
    return [MemberView(m, channel, slug) for m, channel, slug in db.exec(statement).all()]


def create_invite(
    db: Session,
    *,
    code_hash: str,
    role: str,
    centre_id: int | None,
    created_by: str,
    now: datetime,
    expires_at: datetime,
) -> Invite:
    invite = Invite(
        code_hash=code_hash, role=role, centre_id=centre_id, created_by=created_by,
        created_at=now, expires_at=expires_at,
    )  # fmt: skip
    db.add(invite)
    db.flush()
    return invite


def invite_by_hash(db: Session, code_hash: str) -> Invite | None:
    return db.exec(select(Invite).where(Invite.code_hash == code_hash)).first()


def use_invite(db: Session, invite_id: int, *, now: datetime) -> bool:
    """Spend an invite; False when it was spent (or expired) meanwhile: one winner only.
    The caller then records who it made (``used_by``)."""
    result = db.execute(
        update(Invite)
        .where(
            col(Invite.id) == invite_id,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def count_attempts(db: Session, key_hash: str, since: datetime) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(InviteAttempt)
            .where(InviteAttempt.key_hash == key_hash, col(InviteAttempt.at) >= since)
        ).one()
    )


def add_attempt(db: Session, key_hash: str, now: datetime) -> None:
    db.add(InviteAttempt(key_hash=key_hash, at=now))


def forget_attempts(db: Session, before: datetime) -> int:
    result = db.execute(delete(InviteAttempt).where(col(InviteAttempt.at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


def audit(
    db: Session,
    *,
    now: datetime,
    actor: str,
    role: str,
    action: str,
    centre_id: int | None,
    detail: str = "",
) -> None:
    db.add(
        AuditEntry(
            at=now, actor=actor, role=role, action=action, centre_id=centre_id,
            detail=detail[:300],
        )
    )  # fmt: skip


def audit_entries(
    db: Session, *, centre_id: int | None = None, since: datetime | None = None, limit: int = 1000
) -> list[AuditEntry]:
    """The newest ``limit`` entries, oldest first."""
    statement = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if centre_id is not None:
        statement = statement.where(AuditEntry.centre_id == centre_id)
    if since is not None:
        statement = statement.where(col(AuditEntry.at) >= since)
    return list(reversed(db.exec(statement.limit(limit)).all()))
