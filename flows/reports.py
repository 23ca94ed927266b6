"""Figures and exports in the chat: ``/stats`` and ``/export``, for coordinators (every
centre), admins, and staff (their own centre only). Residents are told it is not for them.

``/stats`` answers with the counts of a period as text and the activity chart as a picture;
``/export`` asks what (counts or feedback), which period and which format, then sends the
file. Both are documents the bot makes when it sends the reply (``bot.exports``): the flow
only decides who may have what and names it.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flows import figures, home, staff
from flows.figures import Period
from flows.i18n import N_, Translator
from flows.replies import Document, Reply
from flows.router import Feature, Int, Turn
from flows.ui import back, make_reply
from storage import queries as q
from storage.models import Centre, Role

feature = Feature("reports")

KIND = figures.EXPORT  # what bot.exports renders (see bot/exports.py: Export.key)
CHART = figures.CHART
# Periods offered on buttons: this month, last month, the last 3 and 12 months.
PERIODS = (1, 2, 3, 12)
WHATS = ("counts", "feedback")
FORMATS = ("xlsx", "csv")


def _today(turn: Turn) -> date:
    return turn.now.astimezone(ZoneInfo(turn.zone)).date()


def period_of(code: int, today: date) -> Period | None:
    if code == 1:
        return Period(today.replace(day=1), today)
    if code == 2:
        last = today.replace(day=1) - timedelta(days=1)
        return figures.month_period(last)
    if code in (3, 12):
        return figures.last_months(today, code)
    return None


def period_label(t: Translator, code: int) -> str:
    labels = {
        1: t._("This month"),
        2: t._("Last month"),
        3: t._("Last 3 months"),
        12: t._("Last 12 months"),
    }
    return labels.get(code, "")


def _scope(turn: Turn, member_role: str) -> tuple[str | None, str, list[int] | None] | None:
    """The centre slug the figures cover (None: all), its name, and the ids; None if a
    staff member has no centre."""
    if member_role == Role.STAFF:
        centre = staff.centre_of(turn)
        if centre is None or centre.id is None:
            return None
        return centre.slug, centre.name, [centre.id]
    return None, turn.t._("All centres"), None


# --- /stats -----------------------------------------------------------------------------------


def _stats(turn: Turn, code: int = 12) -> None:
    member = staff.require(turn, write=False)
    if member is None:
        return
    t = turn.t
    period = period_of(code, _today(turn))
    scope = _scope(turn, member.role)
    if period is None or scope is None:
        home.stale(turn)
        return
    slug, name, ids = scope
    centres = [c for c in figures.centres_by_name(turn.db) if ids is None or c.id in ids]
    counts = figures.counts(turn.db, period, centres, turn.now)
    lines = [
        "📊 " + t._("{scope}: {period}", scope=name, period=period_label(t, code)),
        t._("{first} to {last}", first=t.date_only(period.first),
            last=t.date_only(period.last)),
        "",
    ]  # fmt: skip
    for centre in counts.centres:
        tally = counts.by_centre[centre.id or 0]
        lines.append(f"• {centre.name}: " + summary(t, tally))
    if len(counts.centres) > 1:
        lines.append("")
        lines.append("Σ " + t._("All centres") + ": " + summary(t, counts.total))
    lines += ["", t._("People are counted once, however many sessions they came to.")]
    if member.role in (Role.COORDINATOR, Role.ADMIN):
        lines += crisis_lines(turn, period, centres, ids is None)
    rows = [
        [(("• " if other == code else "") + period_label(t, other), STATS.data(other))
         for other in PERIODS[:2]],
        [(("• " if other == code else "") + period_label(t, other), STATS.data(other))
         for other in PERIODS[2:]],
        [("📤 " + t._("Export a file"), EXPORT.data())],
        [(back(t) + " " + t._("Staff tools"), home.MENU.data())],
    ]  # fmt: skip
    reply = make_reply(t, lines, rows)
    chart = Document(CHART, figures.document_key(CHART, "png", period, t.code, slug), "chart.png")
    turn.show(home.MENU_STATE, dataclasses.replace(reply, document=chart))


def crisis_lines(turn: Turn, period: Period, centres: list[Centre], everywhere: bool) -> list[str]:
    """How often the bot answered a message suggesting crisis (an anonymous count per centre
    and week, see ``flows.safety``), for coordinators: where people may need more support."""
    t = turn.t
    found = q.distress_counts(
        turn.db, figures.iso_week(period.first), figures.iso_week(period.last),
        None if everywhere else [c.id for c in centres if c.id is not None],
    )  # fmt: skip
    names = {c.id: c.name for c in centres}
    shown = [
        t._("{centre}: {count}", centre=names.get(cid) or t._("centre not known"), count=n)
        for cid, n in sorted(found.items(), key=lambda item: -item[1])
        if cid in names or (everywhere and cid == 0)
    ]
    if not shown:
        return []
    return ["", "💛 " + t._("Answers to messages that suggested crisis (anonymous):"),
            t.join(shown, conjunction=False)]  # fmt: skip


def summary(t: Translator, tally: figures.Tally) -> str:
    parts = [
        t.ngettext("{count} session held", "{count} sessions held", tally.held),
        t.ngettext("{count} person came", "{count} people came", tally.distinct),
        t.ngettext("{count} attendance", "{count} attendances", tally.attended),
    ]
    if tally.rate is not None:
        parts.append(t._("{rate} of seats used", rate=t.percent(tally.rate)))
    if tally.cancelled:
        parts.append(t.ngettext("{count} cancelled", "{count} cancelled", tally.cancelled))
    if tally.feedback:
        parts.append(t.ngettext("{count} feedback", "{count} feedback", tally.feedback))
    return ", ".join(parts)


STATS = feature.action("RS", Int, optional=1)(_stats)
feature.menu_entry(55, "📊", N_("Figures"), STATS, row=5, menu="staff")


@feature.command("stats", N_("Figures for coordinators"), listed=False)
def stats_command(turn: Turn) -> None:
    _stats(turn)


# --- /export ----------------------------------------------------------------------------------


def _export(turn: Turn, what: int = 0, code: int = 0, fmt: int = 0) -> None:
    member = staff.require(turn, write=False)
    if member is None:
        return
    t = turn.t
    scope = _scope(turn, member.role)
    if scope is None:
        home.stale(turn)
        return
    slug, name, _ = scope
    way_back = [(back(t) + " " + t._("Staff tools"), home.MENU.data())]
    if not 0 <= what <= len(WHATS) or not 0 <= fmt <= len(FORMATS):
        home.stale(turn)
        return
    if what == 0:
        lines = ["📤 " + t._("Export for {scope}. What would you like?", scope=name)]
        rows = [
            [("📊 " + t._("Session counts"), EXPORT.data(1))],
            [("💬 " + t._("Anonymous feedback"), EXPORT.data(2))],
            way_back,
        ]
        turn.show(home.MENU_STATE, make_reply(t, lines, rows, replace=True))
        return
    today = _today(turn)
    period = period_of(code, today) if code else None
    if code and period is None:
        home.stale(turn)
        return
    if period is None:
        lines = ["📤 " + t._("Which period?")]
        rows = [[(period_label(t, c), EXPORT.data(what, c))] for c in PERIODS]
        turn.show(home.MENU_STATE, make_reply(t, [*lines], [*rows, way_back], replace=True))
        return
    if fmt == 0:
        lines = ["📤 " + t._("Which kind of file?")]
        rows = [
            [("📗 " + t._("Excel (.xlsx)"), EXPORT.data(what, code, 1))],
            [("📄 " + t._("CSV (.csv)"), EXPORT.data(what, code, 2))],
            way_back,
        ]
        turn.show(home.MENU_STATE, make_reply(t, lines, rows, replace=True))
        return
    kind, extension = WHATS[what - 1], FORMATS[fmt - 1]
    staff.audit(turn, member, f"export {kind}", None if slug is None else _centre_id(turn),
                f"{extension}, {period.first} to {period.last}")  # fmt: skip
    working = "⏳ " + t._("Making the file. A large one takes up to a minute.")
    names = [kind] + (["comments"] if kind == "feedback" and extension == "csv" else [])
    lines = [t._("Here is your file: {what}, {first} to {last}.", what=_what(t, kind),
                 first=t.date_only(period.first), last=t.date_only(period.last))]  # fmt: skip
    if kind == "feedback":
        lines.append(
            t._(
                "Groups of fewer than {count} answers are hidden, and the current "
                "week is not included.",
                count=turn.services.feedback_min_group,
            )
        )
    replies: list[Reply] = []
    for index, part in enumerate(names):
        # No name of its own: the file is named by what it holds, where and when
        # (``counts-krnjaca-2026-09-01_2026-11-30.xlsx``), as the command line names it.
        key = figures.document_key(part, extension, period, t.code, slug)
        document = Document(KIND, key, "", working)
        text = lines if index == len(names) - 1 else [_what(t, part)]
        rows = [way_back] if index == len(names) - 1 else []
        replies.append(dataclasses.replace(make_reply(t, text, rows), document=document))
    for reply in replies[:-1]:
        turn.say(reply)
    turn.show(home.MENU_STATE, replies[-1])


def _what(t: Translator, kind: str) -> str:
    return {
        "counts": t._("session counts"),
        "feedback": t._("anonymous feedback"),
        "comments": t._("comments"),
    }[kind]


def _centre_id(turn: Turn) -> int | None:
    centre = staff.centre_of(turn)
    return centre.id if centre else None


EXPORT = feature.action("RX", Int, Int, Int, optional=3)(_export)
feature.menu_entry(56, "📤", N_("Export"), EXPORT, row=5, menu="staff")


@feature.command("export", N_("Export counts or feedback"), listed=False)
def export_command(turn: Turn) -> None:
    _export(turn)
