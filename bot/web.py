"""The one web application: the routes the channels offer, and a health check.

Nothing here knows a platform: each channel that receives webhooks brings its own routes
(``bot.channels.base.Webhooks``), and the composition root hands them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Health = Callable[[], Awaitable[dict[str, Any]]]


def create_web_app(routes: Sequence[Route], health: Health) -> Starlette:
    """The channels' routes plus ``GET /healthz``, which answers what ``health`` returns:
    200 when its ``status`` is ``"ok"``, 503 otherwise. Anything else gets 404."""

    async def healthz(request: Request) -> Response:
        body = await health()
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), *routes])


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
