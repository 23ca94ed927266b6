"""Reporting abuse or misconduct by anyone, staff included, to the protection focal point of
the person's centre (``Role.FOCAL``: not ordinary staff, whom a report may be about).

The person chooses to stay anonymous or to be contacted (then they write how, in the report
itself: the bot knows no names). The text is encrypted as soon as it is typed (a draft until
"Send", at most a day); once sent it is kept only until the focal points have received it
(``storage.queries.ledger.finish``), at most a week (the retention job); a ledger entry per
focal point carries it, so a crash loses nothing.
"""

from __future__ import annotations

import json

from flows import home, safety
from flows.i18n import N_, Translator
from flows.replies import Reply
from flows.router import Feature, Int, Turn
from flows.ui import back, make_reply
from storage import queries as q
from storage.models import AbuseReport, LedgerEntry, LedgerKind, LedgerState

feature = Feature("reporting")

WRITE_STATE = "report.write"
CONFIRM_STATE = "report.confirm"
LONGEST = 1000  # characters of a report


def _start(turn: Turn) -> None:
    t = turn.t
    centre = turn.centre
    if not q.focal_points(turn.db, centre.id if centre else None):
        lines = [
            t._("Reports cannot be received through the bot yet."),
            t._("Please talk to someone you trust at the centre, or call a number below."),
            "",
            *home.who_helps(t, turn.services.helplines, centre),
        ]
        turn.show(home.HELP_STATE, make_reply(t, lines, [home.back_row(t)]))
        return
    lines = [
        "🛡 " + t._("You can report abuse or bad behaviour by anyone, staff too."),
        t._("Your report goes only to the protection focal point, not to other staff."),
        t._("The bot deletes your report as soon as the focal point has received it."),
        "",
        t._("Do you want to stay anonymous?"),
    ]
    rows = [
        [("🕶 " + t._("Yes, anonymous"), WRITE.data(1))],
        [("📞 " + t._("No, I want to be contacted"), WRITE.data(0))],
        [(back(t) + " " + t._("Back"), home.HELP.data())],
    ]
    turn.show(home.HELP_STATE, make_reply(t, lines, rows, replace=True))


REPORT = feature.action("RA")(_start)


@feature.command("report", N_("Report abuse or misconduct"))
def report_command(turn: Turn) -> None:
    _start(turn)


def _write(turn: Turn, anonymous: int) -> None:
    if anonymous not in (0, 1):
        home.stale(turn)
        return
    t = turn.t
    lines = [t._("Please write what happened, in any language, all in one message.")]
    if anonymous:
        lines.append(t._("Do not write your name if you want to stay anonymous."))
    else:
        lines.append(t._("Write how the focal point can reach you: for example your name, "
                         "your room, or a phone number."))  # fmt: skip
    rows = [[(back(t) + " " + t._("Cancel"), home.MENU.data())]]
    turn.ask(WRITE_STATE, make_reply(t, lines, rows), anonymous=anonymous)


WRITE = feature.action("RW", Int)(_write)


@feature.on_text(WRITE_STATE, longest=4 * LONGEST, screened=False)
def _written(turn: Turn, text: str) -> None:
    """The text is sealed at once into a draft report (the conversation state keeps only its
    id); "Send" makes it go."""
    t = turn.t
    text = text.strip()
    if len(text) > LONGEST:
        note = t._(
            "This is too long ({length} characters). Please keep it to {limit} at most.",
            length=t.number(len(text)), limit=t.number(LONGEST),
        )  # fmt: skip
        turn.ask(WRITE_STATE, make_reply(t, [note]))
        return
    if not text:
        turn.ask(WRITE_STATE, make_reply(t, [t._("Please write what happened.")]))
        return
    centre = turn.centre
    sealed = json.dumps({"centre": centre.name if centre else "", "text": text}, ensure_ascii=False)
    draft = AbuseReport(
        centre_id=centre.id if centre else None,
        text_enc=turn.services.vault.seal(sealed),
        anonymous=bool(turn.data.get("anonymous", 1)),
        created_at=turn.now,
    )
    turn.db.add(draft)
    turn.db.flush()
    lines = [t._("Send this report to the protection focal point?"), "", t.iso(text)]
    rows = [
        [("📨 " + t._("Send"), SEND.data())],
        [(back(t) + " " + t._("Cancel"), DISCARD.data())],
    ]
    turn.ask(CONFIRM_STATE, make_reply(t, lines, rows), report=draft.id)


def _draft(turn: Turn) -> AbuseReport | None:
    """The report this person is about to send (only ever the one in their own state)."""
    person = turn.person
    report_id = turn.data.get("report")
    if person is None or person.state != CONFIRM_STATE or not isinstance(report_id, int):
        return None
    report = turn.db.get(AbuseReport, report_id)
    return report if report is not None and report.sent_at is None else None


def _discard(turn: Turn) -> None:
    report = _draft(turn)
    if report is not None:
        turn.db.delete(report)
    home.show_menu(turn, note=turn.t._("Nothing was sent."))


DISCARD = feature.action("RD")(_discard)


def _send(turn: Turn) -> None:
    report = _draft(turn)
    if report is None:
        home.stale(turn)  # a second tap, or an old button: nothing is sent twice
        return
    t = turn.t
    focal = q.focal_points(turn.db, report.centre_id)
    if not focal:
        turn.db.delete(report)
        home.show_menu(turn, note=t._("Reports cannot be received through the bot yet."))
        return
    report.sent_at = turn.now
    turn.db.add(report)
    for member in focal:
        turn.db.add(
            LedgerEntry(
                kind=LedgerKind.REPORT, person_id=member.person_id, report_id=report.id,
                state=LedgerState.PENDING, created_at=turn.now,
            )
        )  # fmt: skip
    turn.outcome.notify = True
    home.show_menu(turn, note="✅ " + t._("Your report is on its way. Thank you for telling us."))
    # The report goes on; if it suggests crisis, who can help now is said too.
    safety.screen(turn, _opened(turn.services.vault.open(report.text_enc))[1])


SEND = feature.action("RT")(_send)


def _opened(opened: str) -> tuple[str, str]:
    """The centre's name and the text of a report as sealed."""
    try:
        sealed = json.loads(opened)
        return str(sealed.get("centre", "")), str(sealed["text"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", opened


def for_focal_point(t: Translator, opened: str, *, anonymous: bool) -> Reply:
    """The report as a focal point reads it."""
    centre, text = _opened(opened)
    lines = ["🛡 " + t._("A report of abuse or misconduct")]
    if centre:
        lines.append(t._("Centre: {centre}", centre=centre))
    if anonymous:
        lines.append(t._("The person wants to stay anonymous."))
    else:
        lines.append(t._("The person wants to be contacted (see how in the report)."))
    lines += ["", t.iso(text), ""]
    lines.append(t._("The bot has now deleted this report. Please keep it safe, as your "
                     "procedures say."))  # fmt: skip
    return make_reply(t, lines)


feature.menu_entry(10, "🛡", N_("Report abuse"), REPORT, row=1, menu="help")
