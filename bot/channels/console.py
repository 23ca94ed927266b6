"""A terminal chat: the same flows with no platform at all (the demo, and a debugging aid).

Buttons are shown as numbers; typing a number taps that button of the last message that had
buttons. Everything else is read as text or a command, as on Telegram.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.channels.base import Delivery, Sent
from bot.documents import DocumentError, Documents
from flows.events import Address, Choice, Event, Incoming, Start, from_text
from flows.replies import Document, Reply

CHANNEL = "console"
ADDRESS = Address(CHANNEL, "local")


def render(reply: Reply) -> tuple[str, list[str]]:
    """The text to print and the payloads of its buttons, in number order."""
    lines = [reply.text]
    payloads: list[str] = []
    for row in reply.buttons:
        for button in row:
            payloads.append(button.payload)
            lines.append(f"  [{len(payloads)}] {button.label}")
    return "\n".join(lines), payloads


def parse(line: str, payloads: list[str]) -> Event | None:
    text = line.strip()
    if not text:
        return None
    if text.isdigit() and payloads:
        number = int(text)
        if 1 <= number <= len(payloads):
            return Choice(payloads[number - 1])
    return from_text(text)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def language_from_environment() -> str | None:
    value = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    code = value.split(".")[0]
    return None if code in ("", "C", "POSIX") else code


class ConsoleChannel:
    name = CHANNEL
    rate_limit: float | None = None

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.payloads: list[str] = []
        self.documents: Documents | None = None  # given by build_app

    async def send(self, delivery: Delivery) -> Sent:
        text, payloads = render(delivery.reply)
        if payloads:
            self.payloads = payloads
        document = delivery.reply.document
        if document is not None:
            self.stdout.write("\n" + await self._save(document) + "\n")
        self.stdout.write("\n" + text + "\n")
        self.stdout.flush()
        return Sent.success()

    async def _save(self, document: Document) -> str:
        """A terminal cannot show a file: it is written to the documents folder instead."""
        if self.documents is None:
            return f"(a document: {document.filename or document.key})"
        try:
            file = await self.documents.get(document)
        except DocumentError as error:
            return f"The document could not be made: {error}"
        folder = self.documents.folder
        path = (folder / file.filename).absolute()
        await asyncio.to_thread(_write, path, file.data)
        return f"Document saved: {path}"

    async def run(
        self,
        handle: Callable[[Incoming], Awaitable[object]],
        settle: Callable[[], Awaitable[None]],
        *,
        start: str = "",
        language: str | None = None,
    ) -> None:
        """Chat until end of input. ``settle`` waits until the answers have been printed.
        ``language`` is what the "app" reports (the terminal's locale otherwise): it comes
        first in the language picker."""
        hint = language or language_from_environment()
        await handle(Incoming(ADDRESS, Start(start), language_hint=hint))
        await settle()
        while True:
            self.stdout.write("\n> ")
            self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                self.stdout.write("\n")
                return
            event = parse(line, self.payloads)
            if event is not None:
                await handle(Incoming(ADDRESS, event, language_hint=hint))
                await settle()
