"""Nothing personal in the logs: whole conversations on Telegram (long polling and webhook) and
Viber (the webhook on the real web server) with the root logger at DEBUG and logging set up as
``workshopbot run`` sets it up, then every line made is searched for the platform ids used,
what people typed, the tokens, the data key, the invitation codes, the document links and the
webhook secret.

Two views of each line: as written (after the ``Redactor``: what reaches stderr or any other
handler), and, for our own code (``bot``, ``flows``, ``storage``), as the call made it, before
the ``Redactor``: our code leaves personal values out at the source, the filter is only a net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.cli.logs import Redactor, setup_logging
from flows.clock import FakeClock
from storage import queries as q
from storage.db import Database
from tests import e2e
from tests.conftest import TEST_KEY
from tests.e2e import Served, serve, web_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber
from tests.seeding import World
from tests.staffing import invitation
from tests.test_e2e_telegram import Person_
from tests.test_e2e_viber import onboard, until

TELEGRAM_TOKEN = "6029384756:AAFq8ZxPrivacyTestToken_k3Jd9sLw2Qv7"
VIBER_TOKEN = "5a1b2c3d4e5f6071-8293a4b5c6d7e8f9-0a1b2c3d4e5f6a7b"
SENTENCE = "my secret sentence 7421"  # what a person types that is no command and no button
COMMENT = "my secret feedback 9315"  # a feedback comment: free text the bot keeps
AMINA, SARA = 583920174, 610847293  # Telegram user ids (and private chat ids)
OURS = ("bot", "flows", "storage")
# One person takes many steps here: let their messages out faster than the 1 a second people
# get (it changes nothing of what is logged, and keeps each test to a few seconds).
FAST = {"chat_rate_limit": 50.0, "chat_burst": 10}


def _text(record: logging.LogRecord, *, cleaned: bool) -> str:
    """A record's line as a handler would write it: message, traceback, stack."""
    try:
        parts = [record.getMessage()]
    except Exception:  # a malformed call: the raw pieces
        parts = [str(record.msg), repr(record.args)]
    if cleaned and record.exc_text:
        parts.append(record.exc_text)
    elif record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


@dataclass
class Lines:
    """Every record made in the process while the test runs: ``raw`` as the call made it,
    ``written`` after the ``Redactor``."""

    raw: list[tuple[str, str]] = field(default_factory=list)
    written: list[tuple[str, str]] = field(default_factory=list)

    def ours(self) -> list[str]:
        return [line for name, line in self.raw if name.split(".")[0] in OURS]

    def leaks(self, secrets: dict[str, str], caplog: pytest.LogCaptureFixture) -> list[str]:
        """What of ``secrets`` (what → value) shows in a written line, a line caplog
        captured, or a raw line of our code."""
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        views = {
            "written": [line for _, line in self.written],
            "caplog": [formatter.format(r) for r in caplog.get_records("call")],
            "raw, our code": self.ours(),
        }
        return [
            f"{what} in a line ({view}): {line[:300]!r}"
            for view, lines in views.items()
            for line in lines
            for what, value in secrets.items()
            if value in line
        ]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Iterator[Lines]:
    """The root logger at DEBUG, ``setup_logging`` as the entry point calls it (the secrets the
    settings name: tokens, data key), and every record made captured raw and as written."""
    root = logging.getLogger()
    names = ["", "httpx", "telegram", "httpcore", "viberbot", *OURS]
    names += ["uvicorn.access", "uvicorn.error", "uvicorn.asgi"]
    levels = {name: logging.getLogger(name).level for name in names}
    factory = logging.getLogRecordFactory()
    captured = Lines()

    def raw_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        captured.raw.append((record.name, _text(record, cleaned=False)))
        return record

    caplog.set_level(logging.DEBUG)
    for name in OURS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.setLogRecordFactory(raw_record)
    setup_logging("DEBUG", Redactor([TELEGRAM_TOKEN, VIBER_TOKEN, TEST_KEY]))
    cleaning = logging.getLogRecordFactory()

    def written_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = cleaning(*args, **kwargs)
        captured.written.append((record.name, _text(record, cleaned=True)))
        return record

    logging.setLogRecordFactory(written_record)
    try:
        yield captured
    finally:
        logging.setLogRecordFactory(factory)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for handler in root.handlers:
            for found in [f for f in handler.filters if isinstance(f, Redactor)]:
                handler.removeFilter(found)


@pytest.fixture
async def telegram(lines: Lines) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TELEGRAM_TOKEN, rate_limit=30, bot_username="radionice_bot") as fake:
        yield fake


@pytest.fixture
async def viber(lines: Lines) -> AsyncIterator[FakeViber]:
    async with FakeViber(VIBER_TOKEN, rate_limit=50) as fake:
        yield fake


def always(**more: str) -> dict[str, str]:
    """What no line may show on any platform, and ``more``."""
    secret = TELEGRAM_TOKEN.partition(":")[2]
    return {
        "the bot token": TELEGRAM_TOKEN,
        "the bot token's secret": secret,
        "the Viber token": VIBER_TOKEN,
        "the data key": TEST_KEY,
        "typed text": SENTENCE,
        **more,
    }


def polling(
    telegram: FakeTelegram, database: Database, clock: FakeClock, tmp_path: Path
) -> contextlib.AbstractAsyncContextManager[tuple[App, World]]:
    """``tests.e2e.polling_bot`` with :data:`FAST` chats."""
    return e2e.polling_bot(telegram, database, clock, tmp_path, **FAST)


@contextlib.asynccontextmanager
async def on_viber(
    viber: FakeViber, database: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Served]:
    """The bot serving ``viber``'s webhook (with :data:`FAST`), stopped in order on leaving."""
    async for served in serve(viber, database, clock, tmp_path, viber_chat_uri="radionice", **FAST):
        yield served


def username_known(app: App) -> bool:
    with app.database.session() as db:
        return q.remembered_username(db, "telegram") is not None


async def test_a_telegram_conversation_logs_nothing_personal(
    telegram: FakeTelegram,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
    lines: Lines,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with polling(telegram, database, clock, tmp_path) as (app, world):
        amina = Person_(telegram, telegram.user("Amina", "en", user_id=AMINA))
        await amina.join()
        await amina.book("IT basics")
        await amina.say(SENTENCE, expect="did not understand")
        await amina.say("/mydata", expect="everything the bot keeps")

        await telegram.wait_for(lambda: username_known(app), timeout=10)
        code = invitation(app, "staff", world.krnjaca)
        sara = Person_(telegram, telegram.user("Sara", "en", user_id=SARA))
        await sara.say(f"/start staff-{code}", expect="Do you agree?")
        await sara.press("I agree", expect="You are now staff")
        telegram.press(sara.user, "Poster")
        await telegram.wait_for(lambda: bool(telegram.documents(sara.user)), timeout=20)
        await sara.say(SENTENCE)
        await telegram.wait_idle()
    assert len(lines.ours()) > 0 and any(n == "httpx" for n, _ in lines.written)  # it listened
    secrets = always(
        **{"Amina's id": str(AMINA), "Sara's id": str(SARA), "the invitation code": code}
    )
    assert lines.leaks(secrets, caplog) == []


async def test_a_viber_conversation_logs_nothing_personal(
    viber: FakeViber,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
    lines: Lines,
    caplog: pytest.LogCaptureFixture,
) -> None:
    links: list[str] = []
    async with on_viber(viber, database, clock, tmp_path) as (app, world, base):
        nour = viber.user("Nour", "en")
        await onboard(viber, nour)
        await viber.tap(nour, "Upcoming workshops")
        await until(viber, nour, "Sewing workshop")
        await viber.tap(nour, "Sewing workshop")
        await until(viber, nour, "90 minutes")
        await viber.tap(nour, "Book a seat")
        await until(viber, nour, "Your seat is booked")
        await viber.send_text(nour, SENTENCE)
        await until(viber, nour, "did not understand")
        await viber.send_text(nour, "/mydata")
        await until(viber, nour, "everything the bot keeps")

        clock.advance(timedelta(hours=29))  # the workshop is over: a comment, typed
        await viber.send_text(nour, "/feedback")
        await until(viber, nour, "Question 1 of 4")
        for answer, then in (("😄", "2 of 4"), ("Skip", "3 of 4"), ("Maybe", "4 of 4")):
            await viber.tap(nour, answer)
            await until(viber, nour, f"Question {then}")
        await viber.send_text(nour, COMMENT)
        await until(viber, nour, "Thank you! Your answers were saved")

        code = invitation(app, "staff", world.krnjaca)
        milos = viber.user("Miloš", "en")
        await viber.open(milos, f"staff-{code}")
        await viber.tap(milos, "✅")
        await until(viber, milos, "Staff tools for Krnjača")
        await viber.tap(milos, "Poster")
        await until(viber, milos, "The poster for Krnjača")
        [file] = viber.files(milos)
        links.append(str(file["media"]))
        async with httpx.AsyncClient(trust_env=False) as client:  # Viber fetching it
            assert (await client.get(links[0])).status_code == 200
        await app.settle()
    [link] = links
    assert link.startswith(f"{base}/files/")
    token = link.rpartition("/")[2]
    assert any(n == "httpx" and "/files/***" in line for n, line in lines.written)
    secrets = always(
        **{
            "Nour's id": nour.id,
            "Miloš's id": milos.id,
            "a feedback comment": COMMENT,
            "the invitation code": code,
            "a document link's token": token,
            "a document link's signature": token.rpartition(".")[2],
        }
    )
    assert lines.leaks(secrets, caplog) == []


async def test_telegram_webhook_calls_log_neither_people_nor_the_secret(
    telegram: FakeTelegram,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
    lines: Lines,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings: dict[str, Any] = {
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.base_url,
        **FAST,
    }
    ready = lambda: telegram.webhook is not None  # noqa: E731
    async with web_bot(database, clock, tmp_path, ready, telegram.wait_for, **settings) as (
        app, _, _,
    ):  # fmt: skip
        assert isinstance(app.telegram, TelegramChannel) and app.telegram.webhook_secret
        secret = app.telegram.webhook_secret
        amina = telegram.user("Amina", "en", user_id=AMINA)

        async def step(update: dict[str, Any], expect: str) -> None:
            assert (await telegram.deliver(update)).status_code == 200
            await telegram.wait_for(lambda: expect in str(telegram.texts(amina)), timeout=10)

        await step(telegram.send_text(amina, "/start krnjaca"), "Please choose")
        await step(telegram.press(amina, "English"), "Do you agree?")
        await step(telegram.press(amina, "I agree"), "What would you like to do?")
        await step(telegram.send_text(amina, SENTENCE), "did not understand")
        await app.settle()
    secrets = always(**{"Amina's id": str(AMINA), "the webhook secret": secret})
    assert lines.leaks(secrets, caplog) == []


async def test_web_server_access_lines_hide_document_tokens_and_webhook_secrets(
    lines: Lines,
) -> None:
    """Should an operator turn uvicorn's access log on, its lines name no document link's
    token and no secret in a webhook path."""

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/{where}/{rest}", ok, methods=["GET", "POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, log_level="info", access_log=True, lifespan="off", http="h11"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    token = "poster.krnjaca.1796112000.Zm9vYmFyYmF6cXV4cXV1eA"
    try:
        while not server.started:
            await asyncio.sleep(0.005)
        async with httpx.AsyncClient(trust_env=False) as client:
            for method, path in (
                ("GET", f"/files/{token}"),
                ("POST", "/viber/s3cret-path-part"),
                ("POST", "/telegram/s3cret-path-part"),
            ):
                response = await client.request(method, f"http://127.0.0.1:{port}{path}")
                assert response.status_code == 200
    finally:
        server.should_exit = True
        await task
        sock.close()
    access = [line for name, line in lines.written if name == "uvicorn.access"]
    assert len(access) == 3, access
    assert '"GET /files/*** HTTP/1.1" 200' in access[0]
    assert '"POST /viber/*** HTTP/1.1" 200' in access[1]
    assert '"POST /telegram/*** HTTP/1.1" 200' in access[2]
    written = "\n".join(line for _, line in lines.written)
    assert token not in written and "s3cret" not in written
    assert token.rpartition(".")[2] not in written


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # Ctrl-C keeps stopping pytest


def test_the_redactor_keeps_file_paths_and_hides_sql_parameters() -> None:
    redact = Redactor()
    traceback = 'File "/srv/app/.venv/lib/python3.12/site-packages/telegram/_bot.py", line 1'
    assert redact(traceback) == traceback
    assert redact("GET http://example.org/files/a.b.1.sig?x=1 done") == (
        "GET http://example.org/files/***?x=1 done"
    )
    error = (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: person.key_hash\n"
        "[SQL: INSERT INTO person (key_hash, state) VALUES (?, ?)]\n"
        "[parameters: ('abc', '{\"typed\": \"my secret sentence 7421\"}')]\n"
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
    )
    cleaned = redact(error)
    assert SENTENCE not in cleaned and "[parameters: ***]" in cleaned
    assert "[SQL: INSERT INTO person (key_hash, state) VALUES (?, ?)]" in cleaned
