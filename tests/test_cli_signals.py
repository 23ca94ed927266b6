"""Stopping the long-running commands, as real processes: Ctrl-C (SIGINT) stops `chat`, `demo`
and `run` at once, and the end of input ends a terminal chat, never with a traceback. Each is
repeated a few times: the old failures were races that showed about half the time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram

STOPS_WITHIN = 3.0  # seconds from SIGINT to exit


def environment(folder: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VIBER_", "DATABASE_", "DATA_", "LOG_"))
    }
    env.update({"DATA_DIR": str(folder / "data"), "LANG": "C.UTF-8", **extra})
    return env


async def start(
    folder: Path, *args: str, stdin: int | None, **extra: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=folder,
        env=environment(folder, **extra),
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(stream: asyncio.StreamReader, marker: bytes, seen: bytearray) -> None:
    """Read ``stream`` into ``seen`` until ``marker`` has appeared."""
    while marker not in seen:
        chunk = await asyncio.wait_for(stream.read(4096), 30)
        if not chunk:
            raise AssertionError(f"ended before {marker!r}: {bytes(seen)!r}")
        seen += chunk


async def interrupt(process: asyncio.subprocess.Process) -> tuple[bytes, bytes, float]:
    """SIGINT; returns the rest of stdout, stderr and how long the process took to exit."""
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    return out, err, time.monotonic() - began


def assert_quiet(err: bytes) -> None:
    text = err.decode()
    assert "Traceback" not in text and "Error" not in text and "raised" not in text, text


async def chat_until_end_of_input(folder: Path, command: str) -> tuple[bytes, bytes]:
    process = await start(folder, command, stdin=asyncio.subprocess.DEVNULL)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert b"[1] English" in out  # it did answer before the input ended
    return out, err


async def chat_until_interrupted(folder: Path, command: str) -> float:
    process = await start(folder, command, stdin=asyncio.subprocess.PIPE)
    assert process.stdout is not None and process.stdin is not None
    seen = bytearray()
    await read_until(process.stdout, b"\n> ", seen)  # waiting for a line that never comes
    _, err, took = await interrupt(process)
    process.stdin.close()
    assert process.returncode == 0, err
    assert_quiet(err)
    return took


@pytest.mark.parametrize("command", ["chat", "demo"])
async def test_the_end_of_input_ends_the_chat_quietly(tmp_path: Path, command: str) -> None:
    # A few at once, each in its own folder: the scheduler's first sweep is still running
    # in some of them when the input ends.
    folders = [tmp_path / str(n) for n in range(3)]
    for folder in folders:
        folder.mkdir()
    for _, err in await asyncio.gather(*(chat_until_end_of_input(f, command) for f in folders)):
        assert_quiet(err.replace(b"Demo:", b""))


@pytest.mark.parametrize("command", ["chat", "demo"])
async def test_ctrl_c_stops_the_terminal_chat_at_once(tmp_path: Path, command: str) -> None:
    folders = [tmp_path / str(n) for n in range(2)]
    for folder in folders:
        folder.mkdir()
    took = await asyncio.gather(*(chat_until_interrupted(f, command) for f in folders))
    assert max(took) < STOPS_WITHIN, f"took {took} s"


async def test_ctrl_c_stops_the_running_bot_at_once(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        for attempt in range(3):
            polls = fake.calls_to("getUpdates")
            bot = await start(
                tmp_path,
                "run",
                stdin=asyncio.subprocess.DEVNULL,
                TELEGRAM_BOT_TOKEN=fake.token,
                TELEGRAM_API_URL=fake.base_url,
                REMINDER_SWEEP_SECONDS="1",
            )
            await fake.wait_for(lambda: fake.calls_to("getUpdates") > polls, timeout=30)  # noqa: B023
            # Stop it in the middle of different things: the first sweep, a long poll.
            await asyncio.sleep(0.3 * attempt)
            _, err, took = await interrupt(bot)
            assert bot.returncode == 0, err
            assert took < STOPS_WITHIN, f"took {took:.1f} s"
            assert b"Traceback" not in err and b"ERROR" not in err, err.decode()
            assert b"telegram: connected as @workshop_test_bot" in err
    # It remembered the bot's username: the centre links are known without a token.
    add = await start(tmp_path, "centre", "add", "--slug", "a", "--name", "A", stdin=None)
    out, err = await asyncio.wait_for(add.communicate(), 60)
    assert b"Telegram link: https://t.me/workshop_test_bot?start=a" in out, err
