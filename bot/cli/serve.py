"""The long-running commands: ``run``, ``scheduler``, ``chat`` and ``demo``.

Each stops at once, and in order, on Ctrl-C (SIGINT) or SIGTERM: the running task is
cancelled, the application closes its channels, scheduler and database, and the process
exits without a traceback.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import gc
import os
import queue
import signal
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TextIO, cast

import httpx
import typer
from telegram.error import InvalidToken, NetworkError

from bot import demo as demo_data
from bot.app import build_app
from bot.channels.console import ConsoleChannel
from bot.cli.common import (
    database,
    fail,
    logging_for,
    settings,
    telegram_durations_as_timedelta,
)
from bot.settings import Settings
from bot.startup import StartupError, make_clock
from flows.clock import Clock
from flows.i18n import Catalogs
from storage.db import Database

CentreOption = Annotated[str, typer.Option(help="Open as if through this centre's link")]


def run(
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Extra web workers: leave reminders to one")
    ] = False,
) -> None:
    """Run the configured channels: Telegram (long polling, or a webhook when PUBLIC_URL is
    set) and Viber (webhook), with the web server they need, and the reminders."""
    _serve(scheduler=not no_scheduler, receive=True)


def scheduler() -> None:
    """Run only the reminders and notifications (when the web workers run --no-scheduler)."""
    _serve(scheduler=True, receive=False)


def _serve(*, scheduler: bool, receive: bool) -> None:
    config = settings()
    logging_for(config)
    if config.telegram_bot_token is None and config.viber_auth_token is None:
        fail(
            "no channel is configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN "
            "(or try `workshopbot demo`)"
        )
    telegram_durations_as_timedelta()
    # The event loop answers webhooks while worker threads run conversations; a short GIL
    # switch interval (0.1 ms, not 5 ms) keeps a busy worker from holding up each answer
    # (bench/viber.py: p99 of the webhook answers 25-34 ms instead of 31-64 ms).
    sys.setswitchinterval(0.0001)
    try:
        app = build_app(config)  # checks the data key before it opens the database
        _until_signalled(app.run(scheduler=scheduler, receive=receive, on_started=_freeze))
    except StartupError as error:
        fail(str(error))
    except (InvalidToken, NetworkError, httpx.TransportError) as error:
        # A wrong token, an unreachable API: one line, not a traceback (and fail() shows a
        # token's bot id at most).
        fail(f"cannot start: {error}")


def _freeze() -> None:
    # Everything built by now lives as long as the process: keep the collector from walking
    # it again and again (a full collection of it pauses the loop ~60 ms). Process-wide, so
    # done here, by the entry point, once the bot has started.
    gc.collect()
    gc.freeze()


def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` until it is done, or until SIGINT/SIGTERM cancels it and it has shut down
    in order."""

    async def supervise() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(supervise())


LangOption = Annotated[
    str | None,
    typer.Option("--lang", help="Chat as someone whose phone reads this language (e.g. fa)"),
]


def chat(centre: CentreOption = "", lang: LangOption = None) -> None:
    """Chat with the bot in this terminal, on the configured database."""
    config = settings()
    logging_for(config, quiet=True)
    _chat(config, database(config), make_clock(), centre, _language(config, lang))


def _language(config: Settings, lang: str | None) -> str | None:
    if lang is None:
        return None
    catalogs = Catalogs.load(config.locales_dir)
    code = catalogs.match(lang)
    if code is None:
        fail(f"no catalog for {lang!r}; there are: {', '.join(catalogs.codes)}")
    return code


def demo(centre: CentreOption = "", lang: LangOption = None) -> None:
    """Seed a demo database (7 centres, two weeks of workshops) and open the terminal chat."""
    config = settings()
    logging_for(config, quiet=True)
    language = _language(config, lang)
    path = config.data_dir / "demo.sqlite3"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)  # a fresh fortnight from today, every time
    config = config.model_copy(update={"database_url": f"sqlite:///{path}"})
    db = database(config)
    clock = make_clock()
    centres, sessions = demo_data.seed(db, clock, config.timezone)
    typer.echo(f"Demo: {centres} centres, {sessions} sessions in {path}", err=True)
    code = demo_data.staff_invitation(db, config, clock)
    typer.echo(f"To try the staff tools of Krnjača, type: /start staff-{code}", err=True)
    _chat(config, db, clock, centre, language)


def _chat(
    config: Settings, db: Database, clock: Clock, start: str, language: str | None = None
) -> None:
    lines = _Lines(sys.stdin)
    console = ConsoleChannel(cast(TextIO, lines), sys.stdout)
    try:
        app = build_app(config, clock=clock, channels=[console], database=db)
    except StartupError as error:
        fail(str(error))

    async def main() -> None:
        app.scheduler.start()  # reminders and notifications reach the terminal too
        try:
            await console.run(app.dispatcher.handle, app.settle, start=start, language=language)
        finally:
            lines.close()  # a Ctrl-C while waiting for a line: stop waiting
            await app.aclose()

    typer.echo(
        "Terminal chat: type the number of a button, or text and /commands. Ctrl-D ends.", err=True
    )
    _until_signalled(main())


class _Lines:
    """Standard input, line by line, read by a daemon thread.

    A thread blocked in ``readline()`` cannot be interrupted, and the interpreter waits for
    it before exiting: Ctrl-C would hang until Enter. Here the reading thread is a daemon
    that reads the file descriptor itself (holding no lock the interpreter needs at exit),
    and ``close()`` answers a waiting ``readline()`` with end of input at once.
    """

    def __init__(self, stream: TextIO) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        encoding = getattr(stream, "encoding", None) or "utf-8"
        reader = threading.Thread(
            target=self._read, args=(stream.fileno(), encoding), name="stdin", daemon=True
        )
        reader.start()

    def _read(self, fd: int, encoding: str) -> None:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                self._lines.put(line + "\n")
            if not chunk:
                if pending:
                    self._lines.put(pending)
                self.close()
                return

    def readline(self) -> str:
        """The next line with its newline; "" at the end of input or once closed."""
        line = self._lines.get()
        if not line:
            self.close()  # every later call sees the end too
        return line

    def close(self) -> None:
        self._lines.put("")
