"""The bot as a real process (`python -m bot ...`) against a stand-in Telegram."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import TEST_KEY
from tests.fakes.telegram_api import FakeTelegram


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
