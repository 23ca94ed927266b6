"""The one web application: Telegram and Viber webhooks, and a health check.

Each webhook is authenticated before its body is parsed (Telegram's secret header, Viber's
HMAC signature, both compared in constant time), refused when larger than 1 MB, and answered
at once: the conversation runs in the background (except Viber's welcome message, which Viber
only accepts in the HTTP response).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.channels import telegram as tg
from bot.channels import viber
from flows.replies import Reply

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
OK = JSONResponse({})


class TooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


def create_web_app(app: App) -> Starlette:
    async def healthz(request: Request) -> Response:
        database = await asyncio.to_thread(app.database.ping)
        body = {
            "status": "ok" if database else "unavailable",
            "database": database,
            "channels": app.channel_modes(),
        }
        return JSONResponse(body, status_code=200 if database else 503)

    async def viber_webhook(request: Request) -> Response:
        channel = app.viber
        if channel is None:
            return _refuse(404, "viber is not configured")
        try:
            body = await read_body(request)
        except TooLarge:
            return _refuse(413, "body too large")
        signature = request.headers.get("x-viber-content-signature")
        if not signature:
            return _refuse(401, "missing signature")
        if not viber.signature_ok(body, signature, channel.token):
            return _refuse(403, "bad signature")
        try:
            data = json.loads(body)
        except ValueError:
            return _refuse(400, "body is not JSON")
        parsed = viber.parse(data)
        if parsed.incoming is None:
            return OK
        if parsed.kind is viber.Kind.WELCOME:
            outcome = await app.dispatcher.handle(parsed.incoming, deliver=False)
            if not outcome.replies:
                return OK
            return JSONResponse(channel.welcome(_one(outcome.replies)))
        if parsed.kind is viber.Kind.EVENT:
            app.dispatcher.submit(parsed.incoming)
        return OK

    async def telegram_webhook(request: Request) -> Response:
        channel = app.telegram
        if channel is None or app.telegram_secret is None:
            return _refuse(404, "telegram webhook is not configured")
        secret = request.headers.get("x-telegram-bot-api-secret-token")
        if not secret:
            return _refuse(401, "missing secret")
        if not hmac.compare_digest(secret.encode(), app.telegram_secret.encode()):
            return _refuse(403, "bad secret")
        try:
            body = await read_body(request)
        except TooLarge:
            return _refuse(413, "body too large")
        try:
            data: Any = json.loads(body)
            update = Update.de_json(data, None)
        except (ValueError, TypeError, KeyError, AttributeError):
            return _refuse(400, "not a Telegram update")
        parsed = tg.parse(update)
        if parsed is not None:
            incoming = parsed.incoming
            if parsed.callback_query_id:
                channel.answer_soon(parsed.callback_query_id)
            # Telegram retries a delivery it thinks failed: the update_id makes it harmless.
            app.dispatcher.submit(
                dataclasses.replace(incoming, delivery=str(parsed.update_id)),
                edit=parsed.message_ref,
            )
        return OK

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/viber", viber_webhook, methods=["POST"]),
            Route("/telegram", telegram_webhook, methods=["POST"]),
        ]
    )


def _one(replies: list[Reply]) -> Reply:
    """Viber takes a single welcome message: join the texts, keep the last buttons."""
    if len(replies) == 1:
        return replies[0]
    return Reply(
        text="\n\n".join(reply.text for reply in replies),
        buttons=replies[-1].buttons,
        rtl=replies[-1].rtl,
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The bot handles SIGINT/SIGTERM itself (bot/cli.py) and shuts everything down in
        # order; uvicorn must not take the signals over and re-raise them half-way.
        yield


class WebServer:
    """uvicorn inside the bot's own event loop, so webhooks and the outbox share one loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self._server = _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
                proxy_headers=True,
            )
        )

    async def serve(self) -> None:
        config = self._server.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that name it,
        # and without it every answer waits ~40 ms for a delayed ACK (Nagle's algorithm).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._done = asyncio.Event()
        try:
            sock.bind((config.host, config.port))
            sock.set_inheritable(True)
            await self._server.serve(sockets=[sock])
        finally:
            sock.close()
            self._done.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish what is in flight, close the socket."""
        self._server.should_exit = True
        with contextlib.suppress(TimeoutError, AttributeError):
            await asyncio.wait_for(self._done.wait(), timeout)

    async def started(self, timeout: float = 10.0) -> None:
        for _ in range(int(timeout / 0.01)):
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"the web server did not start on {self._server.config.port}")
