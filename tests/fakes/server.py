"""What the stand-in servers share: serving an app inside the test's event loop, and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Generator

import uvicorn
from starlette.types import ASGIApp


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn would take over SIGINT/SIGTERM while it serves; Ctrl-C must keep stopping pytest.
        yield

    async def main_loop(self) -> None:
        # uvicorn looks at should_exit every 0.1 s; tests stop two servers each, so look more
        # often. Ticks are counted as uvicorn does (it refreshes the Date header every 10th).
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)


class LocalServer:
    """Serves an ASGI app with uvicorn in the running event loop, on 127.0.0.1:<free port>."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.port = 0
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("already serving")
        # Port 0 lets the OS pick a free port with no race. IPPROTO_TCP explicitly: asyncio
        # only sets TCP_NODELAY on sockets that name it, and without it every answer waits
        # ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            log_config=None,  # leave the test run's logging configuration alone
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._socket = sock
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                sock.close()
                await self._task  # re-raises what stopped uvicorn
                raise RuntimeError("uvicorn stopped before it started serving")
            await asyncio.sleep(0.001)

    async def stop(self) -> None:
        task, server = self._task, self._server
        if task is None or server is None:
            return
        server.should_exit = True
        try:
            await task
        finally:
            self._task = None
            self._server = None
            if self._socket is not None:
                self._socket.close()  # uvicorn closes it too; closing twice is harmless
                self._socket = None


async def wait_until(
    predicate: Callable[[], bool], timeout: float, describe: Callable[[], str]
) -> None:
    """Poll every 5 ms until ``predicate()`` is true; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s\n{describe()}")
        await asyncio.sleep(0.005)
