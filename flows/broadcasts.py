"""Notices from staff to many residents: the rules for writing one, and what a resident reads.

A broadcast is stored with all its recipients (ledger entries) in one transaction before
anything is sent; the sender (``bot/broadcaster.py``) then claims them like every other
unprompted message. Each resident reads the version in their own language, or the author's
text with a one-line note, in their language, that it was not translated.

Text is sent as plain text: ``*``, ``_`` and ``<`` mean nothing special, so a notice can never
break the message it travels in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.rules import Refusal
from storage import queries as q
from storage.models import Broadcast, BroadcastAudience, BroadcastState, Centre

# What staff may write: the header and the "not translated" note must still fit into
# Telegram's 4,096 characters (Viber allows 7,000).
MAX_CHARS = 3500
GRACE = timedelta(minutes=1)  # "now" typed a moment ago is not in the past


@dataclass(frozen=True)
class Audience:
    kind: BroadcastAudience
    session_id: int | None = None
    language: str | None = None


def checked_text(text: str) -> str:
    """The notice as it will be sent, or a :class:`Refusal` saying what is wrong with it."""
    cleaned = text.strip()
    if not cleaned:
        raise Refusal(N_("The notice is empty. Please write the text of the notice."))
    if len(cleaned) > MAX_CHARS:
        raise Refusal(
            N_(
                "The notice has {count} characters, and the limit is {limit}. "
                "Please make it shorter, or send it as two notices."
            ),
            {"count": len(cleaned), "limit": MAX_CHARS},
        )
    return cleaned


def create(
    db: Session,
    now: datetime,
    *,
    centre: Centre,
    author: str,
    audience: Audience,
    texts: Mapping[str, str],
    base_locale: str,
    send_at: datetime | None = None,
    progress_channel: str | None = None,
    progress_enc: str | None = None,
    author_locale: str | None = None,
) -> Broadcast:
    """Store a notice and one ledger entry per recipient; raise :class:`Refusal` when it
    cannot go (empty or too long, a time in the past, nobody to send it to)."""
    assert centre.id is not None
    versions = {locale: checked_text(text) for locale, text in texts.items()}
    if base_locale not in versions:
        raise Refusal(N_("The notice is empty. Please write the text of the notice."))
    when = send_at or now
    if when < now - GRACE:
        raise Refusal(N_("That time has already passed. Please choose a time in the future."))
    if audience.kind == BroadcastAudience.SESSION:
        session = q.session_view(db, audience.session_id or 0)
        if session is None or session.session.centre_id != centre.id:
            raise Refusal(N_("That workshop was not found at this centre."))
    reachable, unreachable = q.audience_count(
        db, centre.id, audience.kind, audience.session_id, audience.language, now
    )
    if reachable + unreachable == 0:
        raise Refusal(N_("Nobody would receive this notice yet."))
    broadcast = Broadcast(
        centre_id=centre.id,
        author=author,
        audience=audience.kind,
        session_id=audience.session_id,
        language=audience.language,
        base_locale=base_locale,
        texts=json.dumps(versions, ensure_ascii=False),
        send_at=when,
        state=BroadcastState.SCHEDULED,
        progress_channel=progress_channel,
        progress_enc=progress_enc,
        author_locale=author_locale,
        created_at=now,
    )
    db.add(broadcast)
    db.flush()
    q.fan_out(db, broadcast, now)
    broadcast.recipients = sum(q.broadcast_counts(db, broadcast.id or 0).values())
    db.add(broadcast)
    return broadcast


def versions(broadcast: Broadcast) -> dict[str, str]:
    loaded = json.loads(broadcast.texts)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def notice(t: Translator, texts: Mapping[str, str], base: Translator, centre_name: str) -> Reply:
    """What a resident reading ``t``'s language receives; ``base`` is the translator of the
    language the author wrote in (the fallback keeps that language's direction)."""
    header = "📢 " + t._("Notice from {centre}:", centre=centre_name)
    own = texts.get(t.code)
    if own is not None:
        return Reply(text=t.lines([header, "", *own.split("\n")]), rtl=t.rtl)
    note = "ℹ️ " + t._("This notice was not translated into your language.")
    body = base.lines(texts[base.code].split("\n"))
    if t.rtl and not base.rtl:  # a left-to-right text in a right-to-left message
        body = "\n".join("\u200e" + line for line in body.split("\n"))
    return Reply(text=t.lines([header, note]) + "\n\n" + body, rtl=t.rtl)


def tally(t: Translator, counts: Mapping[str, int], total: int, *, done: bool) -> str:
    """The author's progress line: "Sent 1,240 of 4,000." and, at the end, the outcome."""
    delivered = counts.get("sent", 0)
    unreachable = counts.get("unreachable", 0)
    failed = counts.get("failed", 0) + counts.get("dropped", 0)
    if not done:
        return "⏳ " + t._(
            "Sending: {sent} of {total} done.",
            sent=t.number(delivered + unreachable + failed),
            total=t.number(total),
        )
    return t.lines(
        [
            "✅ " + t._("The notice has gone out."),
            t.ngettext(
                "Delivered to {n} person.", "Delivered to {n} people.", delivered,
                n=t.number(delivered),
            ),
            t.ngettext(
                "{n} person could not be reached (they left or blocked the bot).",
                "{n} people could not be reached (they left or blocked the bot).",
                unreachable, n=t.number(unreachable),
            ),
            t.ngettext(
                "{n} message failed.", "{n} messages failed.", failed, n=t.number(failed)
            ),
        ]
    )  # fmt: skip
