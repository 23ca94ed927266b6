"""``workshopbot broadcast``: a notice to residents, sent now (with progress) or later.

The notice is checked by the same rules as in the chat (``flows.broadcasts.create``): empty,
too long, a time in the past, nobody to send it to, each refused in one line. Before anything
is stored the operator sees how many people it goes to and, with a Viber cap, how many billed
Viber messages it takes of what is left this month; a notice that would pass the cap is
refused. Sent now, it goes from this process with a progress bar (if this process is killed,
the running bot's scheduler finishes it once its lease runs out); with ``--at``, the running
bot's scheduler sends it then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session
from telegram.error import InvalidToken, NetworkError

from bot.app import App, build_app
from bot.billing import month_of
from bot.broadcaster import FINISHED, OPERATOR, Tally
from bot.cli.common import check_key, fail, logging_for, people, refused, settings, when
from bot.cli.common import telegram_durations_as_timedelta as durations_as_timedelta
from bot.settings import Settings
from bot.startup import StartupError
from flows import broadcasts, rules
from flows import staff as staffing
from flows.broadcasts import Audience
from storage import queries as q
from storage.models import Broadcast, BroadcastAudience, Centre

TextFiles = Annotated[
    list[Path],
    typer.Option(
        "--text-file",
        help="The notice, UTF-8 text. The first one is the base version (in --base-lang) "
        "unless every file has its --lang; each further one is the version in the next --lang.",
    ),
]
Languages = Annotated[
    list[str] | None,
    typer.Option("--lang", help="The language of a further --text-file, e.g. ar (in order)"),
]


@dataclass(frozen=True)
class Notice:
    """What the operator asked for, read and checked, before anything is stored."""

    centre: Centre
    audience: Audience
    texts: dict[str, str]
    base: str
    send_at: datetime | None


def broadcast(
    centre: Annotated[str, typer.Option(help="Centre slug")],
    text_file: TextFiles,
    lang: Languages = None,
    base_lang: Annotated[
        str, typer.Option("--base-lang", help="The language of the base version")
    ] = "en",
    audience: Annotated[
        str, typer.Option(help="centre (everyone), session:<id> (booked) or language:<code>")
    ] = "centre",
    at: Annotated[
        str | None,
        typer.Option(help='Send later: local time at the centre, "YYYY-MM-DD HH:MM"'),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before storing it")] = False,
) -> None:
    """Send a notice to the residents of a centre, in their languages."""
    config = settings()
    logging_for(config, quiet=True)
    texts, base = _versions(text_file, lang or [], base_lang)
    if at is None and config.telegram_bot_token is None and config.viber_auth_token is None:
        fail(
            "no channel is configured to send it now: set TELEGRAM_BOT_TOKEN or "
            "VIBER_AUTH_TOKEN, or give --at and let the running bot send it"
        )
    app = _app(config)
    now = app.clock.now()
    notice, costs = _checked(app, config, centre, audience, texts, base, at, now)
    if not yes:
        _ask(app, notice, costs, now)
    stored = _store(app, notice, now)
    if yes:
        _summary(stored, notice, costs)
    if notice.send_at is None:
        _send_now(app, stored)
    else:
        typer.echo(
            f"broadcast {stored.id} will go {when(notice.send_at, notice.centre.timezone, now)} "
            f"({notice.centre.timezone}); the running bot's scheduler sends it"
        )


def _checked(
    app: App,
    config: Settings,
    slug: str,
    audience: str,
    texts: dict[str, str],
    base: str,
    at: str | None,
    now: datetime,
) -> tuple[Notice, Costs]:
    """The notice as asked, and what it costs; refused when it would pass the Viber cap."""
    with app.database.session() as s:
        notice = _notice(s, app, slug, audience, texts, base, at, now)
        costs = _costs(s, config, notice, now)
    if costs.over:
        fail(
            f"this notice needs {costs.billable:,} billed Viber messages, but only "
            f"{costs.left:,} of this month's {costs.cap:,} are left "
            "(VIBER_MONTHLY_PROACTIVE_CAP); nothing was stored"
        )
    return notice, costs


def _ask(app: App, notice: Notice, costs: Costs, now: datetime) -> None:
    """Show who it goes to (checked as it would be stored), and ask before storing it."""
    _summary(_dry_run(app, notice, now), notice, costs)
    if not typer.confirm("Store it and send it " + ("then?" if notice.send_at else "now?")):
        typer.echo("Nothing was stored.")
        raise typer.Exit(1)


def _send_now(app: App, stored: Broadcast) -> None:
    durations_as_timedelta()
    tally = asyncio.run(_send(app, stored))
    if tally is None:  # cannot happen: this process took it when it stored it
        typer.echo(f"broadcast {stored.id} is being sent by another process")
        return
    typer.echo(tally.line())
    if not tally.finished:
        left = stored.recipients - tally.delivered - tally.unreachable - tally.failed
        typer.echo(
            f"{left:,} people are on a channel this process does not send on: the running "
            "bot's scheduler sends to them"
        )


def _versions(files: list[Path], langs: list[str], base_lang: str) -> tuple[dict[str, str], str]:
    """{language: text} and the base language, from --text-file/--lang in pairs."""
    if len(files) == len(langs) + 1:
        pairs = [(base_lang, files[0]), *zip(langs, files[1:], strict=True)]
    elif len(files) == len(langs) and base_lang in langs:
        pairs = list(zip(langs, files, strict=True))
    else:
        fail(
            "give one --text-file for each --lang, and one more first for the base version "
            f"(in --base-lang, now {base_lang})"
        )
    texts: dict[str, str] = {}
    for code, path in pairs:
        if code in texts:
            fail(f"--lang {code} is given twice")
        texts[code] = _read(path)
    return texts, base_lang


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror or error}")


def _app(config: Settings) -> App:
    check_key(config)
    try:
        return build_app(config)
    except StartupError as error:
        fail(str(error))


def _notice(
    s: Session,
    app: App,
    slug: str,
    audience: str,
    texts: dict[str, str],
    base: str,
    at: str | None,
    now: datetime,
) -> Notice:
    try:
        centre = rules.centre(s, slug)
        send_at = rules.local_time(at, centre.timezone, now)[0] if at is not None else None
    except rules.Refusal as refusal:
        refused(refusal)
    unknown = sorted(code for code in texts if not app.catalogs.supports(code))
    if unknown:
        fail(f"unknown language {', '.join(unknown)}; known: {', '.join(app.catalogs.codes)}")
    return Notice(centre, _audience(audience, app), texts, base, send_at)


def _audience(text: str, app: App) -> Audience:
    kind, _, value = text.strip().partition(":")
    if kind == BroadcastAudience.CENTRE and not value:
        return Audience(BroadcastAudience.CENTRE)
    if kind == BroadcastAudience.SESSION and value.isdigit():
        return Audience(BroadcastAudience.SESSION, session_id=int(value))
    if kind == BroadcastAudience.LANGUAGE and app.catalogs.supports(value):
        return Audience(BroadcastAudience.LANGUAGE, language=value)
    fail(f"--audience must be centre, session:<id> or language:<code>, not {text!r}")


@dataclass(frozen=True)
class Costs:
    """Who it reaches, and the billed Viber messages it takes against this month's cap."""

    reachable: int
    unreachable: int
    billable: int
    cap: int | None
    left: int  # of the cap, this month (the month it is sent in)

    @property
    def over(self) -> bool:
        return self.cap is not None and self.billable > self.left


def _costs(s: Session, config: Settings, notice: Notice, now: datetime) -> Costs:
    assert notice.centre.id is not None
    audience, centre_id = notice.audience, notice.centre.id
    reachable, unreachable = q.audience_count(
        s, centre_id, audience.kind, audience.session_id, audience.language, now
    )
    billable = q.viber_billable(
        s, centre_id, audience.kind, audience.session_id, audience.language, now
    )
    cap = config.viber_monthly_proactive_cap
    used = q.usage(s, "viber", month_of(notice.send_at or now)).reserved
    left = max(0, cap - used) if cap is not None else 0
    return Costs(reachable, unreachable, billable, cap, left)


def _create(s: Session, notice: Notice, now: datetime) -> Broadcast:
    try:
        return broadcasts.create(
            s, now, centre=notice.centre, author=staffing.CLI, audience=notice.audience,
            texts=notice.texts, base_locale=notice.base, send_at=notice.send_at,
        )  # fmt: skip
    except rules.Refusal as refusal:
        refused(refusal)


def _dry_run(app: App, notice: Notice, now: datetime) -> Broadcast:
    """The notice checked and counted as it would be stored, then rolled back: the question
    is asked with no transaction open (a running bot must not wait for the operator)."""
    with Session(app.database.engine, expire_on_commit=False) as s:
        try:
            return _create(s, notice, now)
        finally:
            s.rollback()


def _store(app: App, notice: Notice, now: datetime) -> Broadcast:
    """Store it with its recipients and the audit entry; sent now, this process takes it in
    the same transaction (the running bot's scheduler must not start it meanwhile)."""
    with app.database.session() as s:
        stored = _create(s, notice, now)
        assert stored.id is not None
        q.audit(
            s, now=now, actor=staffing.CLI, role=OPERATOR, action="broadcast created",
            centre_id=notice.centre.id, detail=_detail(stored, notice),
        )  # fmt: skip
        if notice.send_at is None:
            broadcaster = app.broadcaster
            q.take_broadcast(
                s, stored.id, owner=broadcaster.owner, now=now, lease=broadcaster.lease
            )
    return stored


def _audience_name(notice: Notice) -> str:
    audience = notice.audience
    if audience.kind == BroadcastAudience.SESSION:
        return f"the people booked on session {audience.session_id}"
    if audience.kind == BroadcastAudience.LANGUAGE:
        return f"the people who use {audience.language}"
    return "everyone"


def _detail(stored: Broadcast, notice: Notice) -> str:
    """For the audit log: who and how many, never the text."""
    return (
        f"broadcast {stored.id} to {_audience_name(notice)}: {stored.recipients:,} people, "
        f"versions {', '.join(sorted(notice.texts))}"
    )


def _summary(stored: Broadcast, notice: Notice, costs: Costs) -> None:
    versions = ", ".join(
        f"{code} (base)" if code == notice.base else code for code in sorted(notice.texts)
    )
    line = (
        f"Notice to {_audience_name(notice)} at {notice.centre.name}: {people(stored.recipients)}"
    )
    if costs.unreachable:
        line += f" ({costs.unreachable:,} of them cannot be reached: counted, not sent)"
    typer.echo(f"{line}; versions {versions}")
    if costs.cap is not None:
        typer.echo(
            f"Viber: {costs.billable:,} billed messages; {costs.left:,} of this month's "
            f"{costs.cap:,} are left"
        )
    elif costs.billable:
        typer.echo(f"Viber: {costs.billable:,} billed messages (no monthly cap is set)")


async def _send(app: App, stored: Broadcast) -> Tally | None:
    """Send it from here, with a progress bar; the channels as `workshopbot run` builds them."""
    assert stored.id is not None
    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task("sending", total=stored.recipients)

    def show(counts: Mapping[str, int], total: int) -> None:
        done = sum(counts.get(state, 0) for state in FINISHED)
        progress.update(task, completed=min(done, total))

    try:
        if app.telegram is not None:
            await app.telegram.start()
        with progress:
            return await app.broadcaster.send(stored.id, on_progress=show)
    except (InvalidToken, NetworkError, httpx.TransportError) as error:
        fail(f"cannot send: {error}")
    finally:
        await app.aclose()
