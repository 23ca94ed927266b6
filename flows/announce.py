"""Announce: staff write a notice once and send it to residents of their centre, now or later.

The steps, each a state::

    menu ──Announce──► audience ──► (session | language) ──► text ──► preview
    preview ──add a version──► language ──► text ──► preview   (also: replace, remove)
    preview ──Send now──► "Sending to n people…" (the sender edits it as it goes) ──► menu
    preview ──Send later──► when ──► confirm ──► "Scheduled for …" ──► menu
    audience ──Scheduled notices──► scheduled (each with Cancel)

The notice being written is a draft row (see ``storage.queries.announcements``): its texts
may be thousands of characters, more than a step's answers may keep. Sending uses the draft
up in the same transaction that stores the notice, so two taps on "Send now" send once.

Every handler calls :func:`flows.staff.require` first (write access to the centre), so a
resident who forges these buttons, or a staff member revoked while writing, is told "not
allowed" and nothing is stored. Nothing is sent from here: :func:`flows.broadcasts.create`
stores the notice with its recipients, and the sender delivers it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from flows import broadcasts, home, rules, staff
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Action, Feature, Handler, Int, Locale, Turn
from flows.rules import Message, Refusal
from flows.ui import Rows, back, forward, make_reply, session_block, session_label, when
from storage import queries as q
from storage.models import Broadcast, BroadcastAudience, Centre, Role, StaffMember

feature = Feature("announce")

AUDIENCE_STATE = "announce.audience"
SESSION_STATE = "announce.session"
LANGUAGE_STATE = "announce.language"
TEXT_STATE = "announce.text"
PREVIEW_STATE = "announce.preview"
VERSIONS_STATE = "announce.versions"
WHEN_STATE = "announce.when"
CONFIRM_STATE = "announce.confirm"
SCHEDULED_STATE = "announce.scheduled"
PAGE = 6  # workshops on one page of the list
LONGEST = 8000  # typed text that reaches the notice step (Viber allows 7,000): it says the count
DAYS_AHEAD = 6  # a day button further ahead than this is not one the bot made
LISTED = 10  # scheduled notices shown, each with its Cancel button
EXCERPT = 60  # characters of a scheduled notice shown to recognise it
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}")

NO_DRAFT = N_("There is no notice in progress. It may have been sent or dropped already.")
NOBODY = N_("Nobody would receive this notice yet.")


# --- the notice in progress -----------------------------------------------------------------


def _open(turn: Turn) -> tuple[StaffMember, Broadcast, Centre] | None:
    """The staff member, their notice in progress and its centre. None when they may not
    (already told "not allowed") or there is no such notice (already said so)."""
    member = staff.require(turn)
    if member is None:
        return None
    centre = staff.centre_of(turn)
    draft = q.draft_of(turn.db, member.ref, turn.now)
    if draft is None or centre is None or draft.centre_id != centre.id:
        home.show_menu(turn, note="ℹ️ " + turn.t._(NO_DRAFT))
        return None
    return member, draft, centre


def _on_draft(act: Callable[..., None]) -> Handler:
    """The handler of a step of the notice in progress: :func:`_open` finds it (or has said
    why not), then ``act(turn, draft, centre, *rest)``."""

    def handler(turn: Turn, *rest: object) -> None:
        found = _open(turn)
        if found is not None:
            act(turn, found[1], found[2], *rest)

    return handler


def _staff_centre(turn: Turn) -> tuple[StaffMember, Centre] | None:
    """The staff member and the centre they work on; None after saying why not."""
    member = staff.require(turn)
    if member is None:
        return None
    centre = staff.centre_of(turn)
    if centre is None or centre.id is None:
        home.show_menu(turn, note="ℹ️ " + turn.t._("Please choose a centre first."))
        return None
    return member, centre


def _audience(draft: Broadcast) -> broadcasts.Audience:
    return broadcasts.Audience(BroadcastAudience(draft.audience), draft.session_id, draft.language)


def _counts(turn: Turn, centre: Centre, audience: broadcasts.Audience) -> tuple[int, int]:
    assert centre.id is not None
    return q.audience_count(
        turn.db, centre.id, audience.kind, audience.session_id, audience.language, turn.now
    )


def _save_texts(turn: Turn, draft: Broadcast, texts: dict[str, str]) -> None:
    draft.texts = json.dumps(texts, ensure_ascii=False)
    turn.db.add(draft)


def _ordered(texts: dict[str, str], base: str, codes: list[str]) -> list[str]:
    """The versions, the one written first leading, the rest as languages are offered."""
    rest = [code for code in codes if code in texts and code != base]
    return [base, *rest, *sorted(set(texts) - {base, *rest})]


def _fallback(texts: dict[str, str], locales: dict[str, int], codes: list[str]) -> str | None:
    """A language whose readers get the text with the "not translated" note: the most used
    one in the audience without a version, else Arabic, else any without one."""
    for code in [*locales, "ar", *codes]:
        if code in codes and code not in texts:
            return code
    return None


@dataclass(frozen=True)
class ViberCap:
    billable: int  # messages of this notice that count against the monthly cap
    left: int  # what is left of the cap this month

    @property
    def over(self) -> bool:
        return self.billable > self.left


def _viber_cap(turn: Turn, draft: Broadcast) -> ViberCap | None:
    cap = turn.services.viber_cap
    if cap is None:
        return None
    billable = q.viber_billable(
        turn.db, draft.centre_id, draft.audience, draft.session_id, draft.language, turn.now
    )
    used = q.usage(turn.db, "viber", turn.now.strftime("%Y-%m")).reserved
    return ViberCap(billable, max(0, cap - used))


def _to_whom(turn: Turn, draft: Broadcast, centre: Centre) -> str:
    t = turn.t
    if draft.audience == BroadcastAudience.SESSION:
        view = q.session_view(turn.db, draft.session_id or 0)
        label = session_label(t, view.session, centre.timezone, turn.now) if view else "?"
        return t._("To the people booked on {workshop}.", workshop=label)
    if draft.audience == BroadcastAudience.LANGUAGE:
        language = t.language_name(draft.language or "")
        return t._(
            "To the people at {centre} who use {language}.", centre=centre.name, language=language
        )
    return t._("To everyone at {centre}.", centre=centre.name)


def _back_to_preview(t: Translator) -> list[tuple[str, str]]:
    return [(back(t) + " " + t._("Back to the preview"), PREVIEW.data())]


def _to_staff_tools(t: Translator) -> list[tuple[str, str]]:
    return [(back(t) + " " + t._("Staff tools"), staff.STAFF_VIEW.data())]


def _noted(note: str | None) -> list[str]:
    return [note, ""] if note else []


# --- 1. the audience --------------------------------------------------------------------------


def _start(turn: Turn) -> None:
    """A new notice (one in progress is dropped: one draft per author)."""
    found = _staff_centre(turn)
    if found is None:
        return
    member, centre = found
    assert centre.id is not None
    draft = q.new_draft(
        turn.db, centre_id=centre.id, author=member.ref, base_locale=turn.t.code, now=turn.now
    )
    _audience_screen(turn, draft, centre)


def _audience_screen(turn: Turn, draft: Broadcast, centre: Centre, note: str | None = None) -> None:
    t = turn.t
    lines = [
        *_noted(note),
        "📢 " + t._("A notice for {centre}.", centre=centre.name),
        t._("Who should receive it?"),
    ]
    rows: list[list[tuple[str, str]]] = [
        [("👥 " + t._("Everyone at {centre}", centre=centre.name), EVERYONE.data())],
        [("📅 " + t._("People booked on one workshop"), SESSIONS.data())],
        [("🗣️ " + t._("People who use one language"), LANGUAGES.data())],
    ]
    if draft.base_locale in broadcasts.versions(draft):
        rows.append(_back_to_preview(t))
    else:
        rows.append([("🕒 " + t._("Scheduled notices"), SCHEDULED.data())])
        rows.append(_to_staff_tools(t))
    turn.show(AUDIENCE_STATE, make_reply(t, lines, rows, replace=True))


def _choose(turn: Turn, draft: Broadcast, centre: Centre, audience: broadcasts.Audience) -> None:
    """Keep the audience (when someone would receive the notice), then on to the text."""
    reachable, _unreachable = _counts(turn, centre, audience)
    if reachable == 0:
        _audience_screen(turn, draft, centre, note="ℹ️ " + turn.t._(NOBODY))
        return
    draft.audience = audience.kind
    draft.session_id = audience.session_id
    draft.language = audience.language
    turn.db.add(draft)
    if draft.base_locale in broadcasts.versions(draft):
        _preview(turn, draft, centre)
    else:
        _ask_text(turn, draft, centre, draft.base_locale)


def _sessions(turn: Turn, draft: Broadcast, centre: Centre, page: int | None = None) -> None:
    assert centre.id is not None
    t = turn.t
    listing = q.upcoming_page(turn.db, centre.id, turn.now, page=page or 0, size=PAGE)
    if not listing.views:
        note = t._("There are no upcoming workshops at {centre}.", centre=centre.name)
        _audience_screen(turn, draft, centre, note="ℹ️ " + note)
        return
    lines = [
        t._("Which workshop? The people booked on it, or waiting for a seat, will receive it.")
    ]
    rows: list[list[tuple[str, str]]] = []
    for view in listing.views:
        session = view.session
        audience = broadcasts.Audience(BroadcastAudience.SESSION, session_id=session.id)
        people = sum(_counts(turn, centre, audience))
        lines += ["", *session_block(t, session, centre.timezone, turn.now, place=False)]
        lines.append("👥 " + t.ngettext("{n} person", "{n} people", people, n=t.number(people)))
        rows.append(
            [(session_label(t, session, centre.timezone, turn.now), SESSION.data(session.id))]
        )
    moves = []
    if listing.page > 0:
        moves.append((back(t) + " " + t._("Earlier"), SESSIONS.data(listing.page - 1)))
    if listing.more:
        moves.append((forward(t) + " " + t._("Later"), SESSIONS.data(listing.page + 1)))
    if moves:
        rows.append(moves)
    rows.append([(back(t) + " " + t._("Back"), AUDIENCE.data())])
    turn.show(SESSION_STATE, make_reply(t, lines, rows, replace=True))


def _session(turn: Turn, draft: Broadcast, centre: Centre, session_id: int) -> None:
    view = q.session_view(turn.db, session_id)
    if view is None or view.session.centre_id != centre.id or view.session.cancelled_at:
        note = "⛔ " + turn.t._("That workshop was not found at this centre.")
        _audience_screen(turn, draft, centre, note=note)
        return
    _choose(turn, draft, centre, broadcasts.Audience(BroadcastAudience.SESSION, session_id))


def _languages(turn: Turn, _draft: Broadcast, centre: Centre) -> None:
    assert centre.id is not None
    t = turn.t
    used = q.audience_locales(turn.db, centre.id, BroadcastAudience.CENTRE, None, None)
    buttons = [
        (f"{t.language_name(code)} ({t.number(used.get(code, 0))})", LANGUAGE.data(code))
        for code in turn.services.catalogs.codes
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(back(t) + " " + t._("Back"), AUDIENCE.data())])
    lines = [
        t._(
            "Which language? Everyone at {centre} who uses it will receive the notice.",
            centre=centre.name,
        )
    ]
    turn.show(LANGUAGE_STATE, make_reply(t, lines, rows, replace=True))


def _language(turn: Turn, draft: Broadcast, centre: Centre, code: str) -> None:
    if not turn.services.catalogs.supports(code):
        home.stale(turn)
        return
    _choose(turn, draft, centre, broadcasts.Audience(BroadcastAudience.LANGUAGE, language=code))


START = feature.action("NWN")(_start)
AUDIENCE = feature.action("NAU")(_on_draft(_audience_screen))
EVERYONE = feature.action("NAE")(
    _on_draft(partial(_choose, audience=broadcasts.Audience(BroadcastAudience.CENTRE)))
)
SESSIONS = feature.action("NAS", Int, optional=1)(_on_draft(_sessions))
SESSION = feature.action("NAW", Int)(_on_draft(_session))
LANGUAGES = feature.action("NAL")(_on_draft(_languages))
LANGUAGE = feature.action("NAT", Locale)(_on_draft(_language))

feature.menu_entry(
    45, "📢", N_("Announce"), START, row=4, menu="staff", roles=(Role.STAFF, Role.ADMIN)
)


# --- 2. the text, and versions in other languages ------------------------------------------------


def _ask_text(
    turn: Turn, draft: Broadcast, centre: Centre, locale: str, note: str | None = None
) -> None:
    t = turn.t
    name = t.language_name(locale)
    lines = [*_noted(note), _to_whom(turn, draft, centre), ""]
    rows: list[list[tuple[str, str]]] = []
    if locale == draft.base_locale:
        lines += ["✍️ " + t._("Please write the notice, in one message.")]
        label = "🌐 " + t._("Written in: {language} — change", language=name)
        rows.append([(label, WRITTEN_IN.data())])
    else:
        lines += [
            "✍️ " + t._("Please write the notice in {language}, in one message.", language=name)
        ]
    lines.append(t._("At most {limit} characters.", limit=t.number(broadcasts.MAX_CHARS)))
    if draft.base_locale in broadcasts.versions(draft):
        rows.append(_back_to_preview(t))
    rows.append([("❌ " + t._("Cancel the notice"), DROP.data())])
    turn.ask(TEXT_STATE, make_reply(t, lines, rows, replace=True), locale=locale)


def _typed_text(turn: Turn, draft: Broadcast, centre: Centre, typed: str) -> None:
    locale = str(turn.data.get("locale") or "")
    if not turn.services.catalogs.supports(locale):
        locale = draft.base_locale
    try:
        text = broadcasts.checked_text(typed)
    except Refusal as refusal:
        _ask_text(turn, draft, centre, locale, note="⚠️ " + refusal.text(turn.t))
        return
    texts = broadcasts.versions(draft)
    texts[locale] = text
    _save_texts(turn, draft, texts)
    _preview(turn, draft, centre)


feature.on_text(TEXT_STATE, longest=LONGEST)(_on_draft(_typed_text))


def _pick_language(turn: Turn, question: str, codes: list[str], target: Action) -> None:
    """A screen of language buttons, each leading to ``target`` with its code."""
    t = turn.t
    buttons = [(t.language_name(code), target.data(code)) for code in codes]
    rows: list[list[tuple[str, str]]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(_back_to_preview(t))
    turn.show(LANGUAGE_STATE, make_reply(t, [question], rows, replace=True))


def _written_in_menu(turn: Turn, _draft: Broadcast, _centre: Centre) -> None:
    question = turn.t._("Which language is the notice written in?")
    _pick_language(turn, question, turn.services.catalogs.codes, WRITTEN)


def _written_in(turn: Turn, draft: Broadcast, centre: Centre, code: str) -> None:
    """The language the notice is written in: its text is what people without their own
    version read. An existing version in that language becomes the one written first."""
    if not turn.services.catalogs.supports(code):
        home.stale(turn)
        return
    texts = broadcasts.versions(draft)
    if draft.base_locale in texts and code not in texts:
        texts[code] = texts.pop(draft.base_locale)
        _save_texts(turn, draft, texts)
    draft.base_locale = code
    turn.db.add(draft)
    if code in texts:
        _preview(turn, draft, centre)
    else:
        _ask_text(turn, draft, centre, code)


def _add_version(turn: Turn, draft: Broadcast, centre: Centre) -> None:
    texts = broadcasts.versions(draft)
    missing = [code for code in turn.services.catalogs.codes if code not in texts]
    if not missing:
        _preview(turn, draft, centre, note="ℹ️ " + turn.t._("There is a version in every language."))
        return
    question = turn.t._("Which language would you like to add?")
    _pick_language(turn, question, missing, WRITE)


def _write(turn: Turn, draft: Broadcast, centre: Centre, code: str) -> None:
    if not turn.services.catalogs.supports(code):
        home.stale(turn)
        return
    _ask_text(turn, draft, centre, code)


def _remove(turn: Turn, draft: Broadcast, centre: Centre, code: str) -> None:
    texts = broadcasts.versions(draft)
    if code == draft.base_locale or code not in texts:
        _versions(turn, draft, centre)
        return
    del texts[code]
    _save_texts(turn, draft, texts)
    name = turn.t.language_name(code)
    note = turn.t._("The version in {language} was removed.", language=name)
    _preview(turn, draft, centre, note="✅ " + note)


def _versions(turn: Turn, draft: Broadcast, _centre: Centre) -> None:
    t = turn.t
    texts = broadcasts.versions(draft)
    lines = [t._("The versions of this notice:")]
    rows: list[list[tuple[str, str]]] = []
    for code in _ordered(texts, draft.base_locale, turn.services.catalogs.codes):
        if code not in texts:
            continue
        name, size = t.language_name(code), len(texts[code])
        lines.append(
            "• "
            + t.ngettext(
                "{language}: {n} character",
                "{language}: {n} characters",
                size,
                language=name,
                n=t.number(size),
            )
        )
        row = [("✏️ " + t._("Replace: {language}", language=name), WRITE.data(code))]
        if code == draft.base_locale:
            lines.append("   " + t._("People without a version in their language read this one."))
        else:
            row.append(("🗑 " + t._("Remove: {language}", language=name), REMOVE.data(code)))
        rows.append(row)
    name = t.language_name(draft.base_locale)
    rows.append(
        [("🌐 " + t._("Written in: {language} — change", language=name), WRITTEN_IN.data())]
    )
    rows.append(_back_to_preview(t))
    turn.show(VERSIONS_STATE, make_reply(t, lines, rows, replace=True))


WRITTEN_IN = feature.action("NBL")(_on_draft(_written_in_menu))
WRITTEN = feature.action("NBS", Locale)(_on_draft(_written_in))
ADD_VERSION = feature.action("NVA")(_on_draft(_add_version))
WRITE = feature.action("NVW", Locale)(_on_draft(_write))
REMOVE = feature.action("NVR", Locale)(_on_draft(_remove))
VERSIONS = feature.action("NVE")(_on_draft(_versions))


# --- 3. the preview -----------------------------------------------------------------------------


def _preview(turn: Turn, draft: Broadcast, centre: Centre, note: str | None = None) -> None:
    """What residents will receive, one message per version and one for everyone else
    (exactly as the sender renders them), then the summary with the ways on."""
    catalogs = turn.services.catalogs
    texts = broadcasts.versions(draft)
    if draft.base_locale not in texts:
        _ask_text(turn, draft, centre, draft.base_locale, note)
        return
    assert centre.id is not None
    base = catalogs.translator(draft.base_locale)
    audience = _audience(draft)
    locales = q.audience_locales(
        turn.db, centre.id, audience.kind, audience.session_id, audience.language
    )
    shown = _ordered(texts, draft.base_locale, catalogs.codes)
    fallback = _fallback(texts, locales, catalogs.codes)
    for code in [*shown, *([fallback] if fallback else [])]:
        turn.say(broadcasts.notice(catalogs.translator(code), texts, base, centre.name))
    turn.show(PREVIEW_STATE, _summary(turn, draft, centre, locales, note))


def _summary(
    turn: Turn, draft: Broadcast, centre: Centre, locales: dict[str, int], note: str | None
) -> Reply:
    t = turn.t
    texts = broadcasts.versions(draft)
    reachable, unreachable = _counts(turn, centre, _audience(draft))
    lines = [
        *_noted(note),
        "👁 "
        + t._("Above: the notice as residents will receive it, one message for each language."),
        "",
        _to_whom(turn, draft, centre),
        t.ngettext(
            "{n} person will receive it.",
            "{n} people will receive it.",
            reachable,
            n=t.number(reachable),
        ),
    ]
    for code, n in locales.items():
        name, count = t.language_name(code), t.number(n)
        if code in texts:
            lines.append("• " + t._("{language}: {count}", language=name, count=count))
        else:
            lines.append(
                "• " + t._("{language}: {count}, not translated", language=name, count=count)
            )
    if unreachable:
        lines.append(
            t.ngettext(
                "{n} more person cannot be reached (they left or blocked the bot).",
                "{n} more people cannot be reached (they left or blocked the bot).",
                unreachable,
                n=t.number(unreachable),
            )
        )
    cap = _viber_cap(turn, draft)
    lines += _cap_lines(t, cap)
    return make_reply(t, lines, _summary_rows(turn, texts, cap))


def _cap_lines(t: Translator, cap: ViberCap | None) -> list[str]:
    if cap is None or cap.billable == 0:
        return []
    if cap.over:
        return [
            "",
            "⚠️ "
            + t._(
                "This notice needs {needed} paid Viber messages, but only {left} are left this "
                "month. It cannot be sent. Please choose a smaller audience, or cancel the notice.",
                needed=t.number(cap.billable),
                left=t.number(cap.left),
            ),
        ]
    return [
        "💬 "
        + t.ngettext(
            "On Viber, {n} of these messages counts against this month's limit ({left} left).",
            "On Viber, {n} of these messages count against this month's limit ({left} left).",
            cap.billable,
            n=t.number(cap.billable),
            left=t.number(cap.left),
        )
    ]


def _summary_rows(turn: Turn, texts: dict[str, str], cap: ViberCap | None) -> Rows:
    t = turn.t
    rows: list[list[tuple[str, str]]] = []
    if cap is None or not cap.over:
        rows.append(
            [("📤 " + t._("Send now"), SEND_NOW.data()), ("🕒 " + t._("Send later"), LATER.data())]
        )
    if any(code not in texts for code in turn.services.catalogs.codes):
        rows.append([("➕ " + t._("Add a version in another language"), ADD_VERSION.data())])
    rows.append([("✏️ " + t._("Change the texts"), VERSIONS.data())])
    rows.append([("👥 " + t._("Change the audience"), AUDIENCE.data())])
    rows.append([("❌ " + t._("Cancel the notice"), DROP.data())])
    return rows


def _drop(turn: Turn) -> None:
    member = staff.require(turn)
    if member is None:
        return
    if q.drop_drafts(turn.db, member.ref):
        note = "🗑 " + turn.t._("The notice was dropped. Nothing was sent.")
    else:
        note = "ℹ️ " + turn.t._(NO_DRAFT)
    home.show_menu(turn, note=note)


PREVIEW = feature.action("NPV")(_on_draft(_preview))
DROP = feature.action("NDR")(_drop)


# --- 4. sending, now or later --------------------------------------------------------------------


class _Gone(Exception):
    """The notice was used up meanwhile (a second tap on "Send now")."""


def _store(
    turn: Turn, member: StaffMember, draft: Broadcast, centre: Centre, send_at: datetime | None
) -> Broadcast | None:
    """Store the notice with its recipients and use the draft up, in one go; None after
    saying why not (over the Viber cap, nothing left to send, or a rule broken)."""
    cap = _viber_cap(turn, draft)
    if cap is not None and cap.over:
        _preview(turn, draft, centre)  # says so, and offers no way to send
        return None
    assert draft.id is not None
    draft_id, texts, base = draft.id, broadcasts.versions(draft), draft.base_locale
    audience = _audience(draft)
    address = turn.incoming.address
    progress = json.dumps({"user": address.user_key, "message": turn.incoming.message_ref})
    try:
        with turn.db.begin_nested():
            if not q.take_draft(turn.db, draft_id):
                raise _Gone
            broadcast = broadcasts.create(
                turn.db,
                turn.now,
                centre=centre,
                author=member.ref,
                audience=audience,
                texts=texts,
                base_locale=base,
                send_at=send_at,
                progress_channel=address.channel,
                progress_enc=turn.services.vault.seal(progress),
                author_locale=turn.t.code,
            )
    except _Gone:
        home.show_menu(turn, note="ℹ️ " + turn.t._(NO_DRAFT))
        return None
    except Refusal as refusal:
        _refused(turn, member, centre, "⚠️ " + refusal.text(turn.t))
        return None
    _audit_created(turn, member, broadcast, scheduled=send_at is not None)
    return broadcast


def _refused(turn: Turn, member: StaffMember, centre: Centre, note: str) -> None:
    """Back to the preview of the draft, which the refusal left as it was."""
    draft = q.draft_of(turn.db, member.ref, turn.now)
    if draft is None:
        home.show_menu(turn, note=note)
    else:
        _preview(turn, draft, centre, note=note)


def _audit_created(
    turn: Turn, member: StaffMember, broadcast: Broadcast, *, scheduled: bool
) -> None:
    """Who sent what kind of notice to how many: never its text."""
    audience = {
        BroadcastAudience.SESSION: f"session {broadcast.session_id}",
        BroadcastAudience.LANGUAGE: f"language {broadcast.language}",
    }.get(BroadcastAudience(broadcast.audience), "everyone")
    detail = (
        f"broadcast {broadcast.id}: {audience}, {broadcast.recipients} people, "
        f"versions {','.join(sorted(broadcasts.versions(broadcast)))}"
    )
    if scheduled:
        detail += f", at {broadcast.send_at:%Y-%m-%d %H:%M} UTC"
    staff.audit(turn, member, "broadcast created", broadcast.centre_id, detail)


def _send_now(turn: Turn) -> None:
    found = _open(turn)
    if found is None:
        return
    member, draft, centre = found
    broadcast = _store(turn, member, draft, centre, send_at=None)
    if broadcast is None:
        return
    t = turn.t
    n = broadcast.recipients
    sending = "⏳ " + t.ngettext(
        "Sending to {n} person…", "Sending to {n} people…", n, n=t.number(n)
    )
    # This message becomes the live progress: the sender edits it as the notice goes out.
    turn.say(make_reply(t, [sending], replace=True))
    turn.outcome.notify = True
    home.show_menu(turn)


def _ask_when(turn: Turn, centre: Centre, day: date | None = None, note: str | None = None) -> None:
    t = turn.t
    zone = ZoneInfo(centre.timezone)
    lines = _noted(note)
    if day is None:
        example = (turn.now.astimezone(zone) + timedelta(days=1)).strftime("%Y-%m-%d") + " 18:00"
        lines += [
            "🕒 " + t._("When should the notice go out?"),
            t._(
                'Type the day and the time at {centre}, like "{example}".',
                centre=centre.name,
                example=example,
            ),
            t._("Or choose a day, then type the time."),
        ]
        rows = [[("📅 " + t._("Today"), DAY.data(0)), ("📅 " + t._("Tomorrow"), DAY.data(1))]]
    else:
        shown = t.day(datetime.combine(day, time(12), tzinfo=zone), centre.timezone)
        lines.append(
            "🕒 "
            + t._('{day}: at what time? Type it like "{example}".', day=shown, example="18:00")
        )
        rows = [[("📅 " + t._("Another day"), LATER.data())]]
    rows.append(_back_to_preview(t))
    reply = make_reply(t, lines, rows, replace=True)
    turn.ask(WHEN_STATE, reply, day=day.isoformat() if day else None)


def _later(turn: Turn, _draft: Broadcast, centre: Centre) -> None:
    _ask_when(turn, centre)


def _day(turn: Turn, _draft: Broadcast, centre: Centre, offset: int) -> None:
    if offset > DAYS_AHEAD:
        home.stale(turn)
        return
    today = turn.now.astimezone(ZoneInfo(centre.timezone)).date()
    _ask_when(turn, centre, today + timedelta(days=offset))


def _chosen_day(turn: Turn) -> date | None:
    try:
        return date.fromisoformat(str(turn.data.get("day")))
    except ValueError:
        return None


def _typed_when(turn: Turn, draft: Broadcast, centre: Centre, typed: str) -> None:
    day = _chosen_day(turn)
    text = typed.strip()
    if day is not None and _CLOCK.fullmatch(text):
        text = f"{day.isoformat()} {text.replace('.', ':')}"
    try:
        at, note = rules.local_time(text, centre.timezone, turn.now)
    except Refusal as refusal:
        _ask_when(turn, centre, day, note="⚠️ " + refusal.text(turn.t))
        return
    _confirm(turn, draft, centre, at, note)


feature.on_text(WHEN_STATE)(_on_draft(_typed_when))


def _confirm(
    turn: Turn, draft: Broadcast, centre: Centre, at: datetime, note: Message | None
) -> None:
    t = turn.t
    reachable, _unreachable = _counts(turn, centre, _audience(draft))
    moment = when(t, at, centre.timezone, turn.now)
    lines = [
        "🕒 "
        + t.ngettext(
            "The notice will go to {n} person on {time}.",
            "The notice will go to {n} people on {time}.",
            reachable,
            n=t.number(reachable),
            time=moment,
        ),
        t._("That is the time at {centre}.", centre=centre.name),
    ]
    if note is not None:
        lines.append("ℹ️ " + note.text(t))
    rows = [
        [("✅ " + t._("Yes, schedule it"), SCHEDULE.data(int(at.timestamp()) // 60))],
        [("🕒 " + t._("Another time"), LATER.data())],
        _back_to_preview(t),
    ]
    turn.show(CONFIRM_STATE, make_reply(t, lines, rows, replace=True))


def _schedule(turn: Turn, minutes: int) -> None:
    found = _open(turn)
    if found is None:
        return
    member, draft, centre = found
    t = turn.t
    at = datetime.fromtimestamp(minutes * 60, UTC)
    if at <= turn.now:
        note = t._("That time has already passed. Please choose a time in the future.")
        _ask_when(turn, centre, note="⚠️ " + note)
        return
    broadcast = _store(turn, member, draft, centre, send_at=at)
    if broadcast is None:
        return
    n = broadcast.recipients
    lines = [
        "🕒 " + t._("Scheduled for {time}.", time=when(t, at, centre.timezone, turn.now)),
        t.ngettext("It will go to {n} person.", "It will go to {n} people.", n, n=t.number(n)),
    ]
    turn.say(make_reply(t, lines, replace=True))
    home.show_menu(turn)


SEND_NOW = feature.action("NSN")(_send_now)
LATER = feature.action("NSL")(_on_draft(_later))
DAY = feature.action("NSD", Int)(_on_draft(_day))
SCHEDULE = feature.action("NSK", Int)(_schedule)


# --- 5. scheduled notices ------------------------------------------------------------------------


def _scheduled(turn: Turn, centre: Centre, note: str | None = None) -> None:
    assert centre.id is not None
    t = turn.t
    notices = q.scheduled_notices(turn.db, centre.id, turn.now)[:LISTED]
    lines = _noted(note)
    if not notices:
        lines.append(t._("There are no scheduled notices for {centre}.", centre=centre.name))
    else:
        lines.append(t._("Scheduled notices for {centre}:", centre=centre.name))
    rows: list[list[tuple[str, str]]] = []
    for notice in notices:
        moment = when(t, notice.send_at, centre.timezone, turn.now)
        people = t.ngettext(
            "{n} person", "{n} people", notice.recipients, n=t.number(notice.recipients)
        )
        lines += ["", f"🕒 {moment} · {people}", t.iso(_excerpt(notice))]
        label = "❌ " + t._("Cancel: {time}", time=moment)
        rows.append([(label, CANCEL.data(notice.id))])
    rows.append(_to_staff_tools(t))
    turn.show(SCHEDULED_STATE, make_reply(t, lines, rows, replace=True))


def _excerpt(notice: Broadcast) -> str:
    text = " ".join(broadcasts.versions(notice).get(notice.base_locale, "").split())
    return f"“{text}”" if len(text) <= EXCERPT else f"“{text[: EXCERPT - 1]}…”"


def _scheduled_list(turn: Turn) -> None:
    found = _staff_centre(turn)
    if found is not None:
        _scheduled(turn, found[1])


def _cancel(turn: Turn, broadcast_id: int) -> None:
    """Cancel a notice of this centre that has not started: nobody receives it."""
    found = _staff_centre(turn)
    if found is None:
        return
    member, centre = found
    assert centre.id is not None
    t = turn.t
    cancelled = q.cancel_scheduled(turn.db, broadcast_id, centre.id, turn.now)
    if cancelled is None:
        note = "ℹ️ " + t._("This notice was not found, or it has started already.")
        _scheduled(turn, centre, note=note)
        return
    staff.audit(turn, member, "broadcast cancelled", centre.id, f"broadcast {broadcast_id}")
    moment = when(t, cancelled.send_at, centre.timezone, turn.now)
    note = t._("The notice for {time} was cancelled. Nobody will receive it.", time=moment)
    _scheduled(turn, centre, note="✅ " + note)


SCHEDULED = feature.action("NQL")(_scheduled_list)
CANCEL = feature.action("NQC", Int)(_cancel)
