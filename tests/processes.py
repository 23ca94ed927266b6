"""The bot as a real process (`python -m bot ...`) against the stand-in Telegram and Viber."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.conftest import TEST_KEY
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViber


async def start_bot(
    fake: FakeTelegram, folder: Path, url: str, *command: str, **settings: str
) -> asyncio.subprocess.Process:
    """``workshopbot <command>`` on the database at ``url``, talking to ``fake``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    env.update(
        {
            "DATA_DIR": str(folder),
            "DATA_KEY": TEST_KEY,
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "LOG_LEVEL": "WARNING",
            **settings,
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *command, env=env, cwd=folder
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


def platform_settings(
    telegram: FakeTelegram | None = None, viber: FakeViber | None = None
) -> dict[str, str]:
    """The settings that point a process at the stand-ins it should talk to. Viber needs a
    public address even when the process receives nothing (``workshopbot scheduler``)."""
    settings: dict[str, str] = {}
    if telegram is not None:
        settings.update(TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url)
    if viber is not None:
        port = free_port()
        settings.update(
            VIBER_AUTH_TOKEN=viber.token,
            VIBER_API_URL=viber.base_url,
            PUBLIC_URL=f"http://127.0.0.1:{port}",
            WEB_PORT=str(port),
        )
    return settings


async def start_command(
    folder: Path,
    url: str,
    *command: str,
    telegram: FakeTelegram | None = None,
    viber: FakeViber | None = None,
    **settings: str,
) -> asyncio.subprocess.Process:
    """``workshopbot <command>`` on the database at ``url``, talking to either stand-in or
    both (nothing from this process's own environment about the platforms leaks in)."""
    ours = ("TELEGRAM_", "VIBER_", "PUBLIC_URL", "WEB_", "DATABASE_URL", "DATA_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(
        {
            "DATA_DIR": str(folder),
            "DATA_KEY": TEST_KEY,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            **platform_settings(telegram, viber),
            **settings,
        }
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *command, env=env, cwd=folder
    )


async def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL: no clean-up of any kind, as when the machine loses power."""
    if process.returncode is None:
        process.kill()
        await process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
