"""Telegram, through python-telegram-bot's typed Bot API client.

``parse`` and ``render`` are pure and tested on recorded payloads; ``TelegramChannel`` sends
through the outbox's contract and runs the long-polling loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels.base import Delivery, Receive, Sent, TooLarge, read_body, refuse, split_text
from bot.documents import DocumentError, Documents
from flows.events import Address, Choice, Event, Incoming, Unsubscribed, Unsupported, from_text
from flows.replies import Document, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
UPDATE_TYPES = ["message", "callback_query", "my_chat_member"]
# Message fields that mean "something that is not text", in the order they are checked.
NON_TEXT = (
    "sticker", "photo", "voice", "video_note", "video", "animation", "audio", "document",
    "location", "venue", "contact", "poll", "dice", "game", "story",
)  # fmt: skip


@dataclass(frozen=True)
class Parsed:
    """An update as the bot needs it: the neutral event and how to answer it."""

    incoming: Incoming
    update_id: int
    callback_query_id: str | None = None
    message_ref: str | None = None  # "chat_id:message_id" of the message a button was on


def parse_json(data: dict[str, Any]) -> Parsed | None:
    return parse(Update.de_json(data, None))


def parse(update: Update) -> Parsed | None:
    """Neutral event for a private-chat update, or None for updates the bot ignores.

    Names, usernames and phone numbers in the update are never read.
    """
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is not None and message.chat.type != ChatType.PRIVATE:
            return None
        event: Event = Choice(query.data) if query.data else Unsupported("game")
        ref = f"{message.chat.id}:{message.message_id}" if message is not None else None
        return Parsed(
            _incoming(query.from_user.id, event, query.from_user.language_code),
            update.update_id,
            callback_query_id=query.id,
            message_ref=ref,
        )
    if update.message is not None:
        message = update.message
        if message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return None
        return Parsed(
            _incoming(
                message.from_user.id, _message_event(message), message.from_user.language_code
            ),
            update.update_id,
        )
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status in (
            ChatMemberStatus.BANNED,
            ChatMemberStatus.LEFT,
        ):
            return Parsed(_incoming(member.from_user.id, Unsubscribed(), None), update.update_id)
    return None


def _incoming(user_id: int, event: Event, language: str | None) -> Incoming:
    return Incoming(Address(CHANNEL, str(user_id)), event, language_hint=language)


def _message_event(message: Any) -> Event:
    text: str | None = message.text
    if text is None:
        kind = next((name for name in NON_TEXT if getattr(message, name, None)), "other")
        return Unsupported(kind)
    return from_text(text)


def render(reply: Reply) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Messages to send for one reply; the buttons go with the last part."""
    parts = split_text(reply.text or "…", TEXT_LIMIT)
    markup = None
    if reply.buttons:
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                for row in reply.buttons
            ]
        )
    return [(part, markup if i == len(parts) - 1 else None) for i, part in enumerate(parts)]


def _seconds(error: RetryAfter) -> float:
    # Read the timedelta directly: the public attribute warns while PTB migrates its type.
    value = getattr(error, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(str(error.retry_after).split()[0]) if error.retry_after else 1.0


def _utf16_length(text: str) -> int:
    """Length as Telegram counts it (emoji take two)."""
    return len(text.encode("utf-16-le")) // 2


UpdateHandler = Callable[[Parsed], Awaitable[object]]


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        rate_limit: float = 30.0,
        poll_timeout: int = 25,
        webhook_secret: str | None = None,
        documents: Documents | None = None,
    ) -> None:
        self.rate_limit: float | None = rate_limit
        self.documents = documents  # renders the files replies name (the poster)
        self.poll_timeout = poll_timeout
        # Set: updates come by webhook, with this secret in each call. None: long polling.
        self.webhook_secret = webhook_secret
        self.bot = Bot(
            token,
            base_url=f"{api_url}/bot",
            request=HTTPXRequest(connection_pool_size=64, read_timeout=15, connect_timeout=10),
            get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=15),
        )
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.bot.initialize()  # getMe: fails fast on a wrong token
        log.info("telegram: connected as @%s", self.bot.username)

    async def set_commands(self, by_language: dict[str, list[tuple[str, str]]]) -> None:
        """The "/" menu in each language; the default (no language) is English."""
        for code, commands in by_language.items():
            language = None if code == "en" else code.split("_")[0]
            try:
                await self.bot.set_my_commands(
                    [BotCommand(name, description) for name, description in commands],
                    language_code=language,
                )
            except TelegramError as error:  # cosmetic: never stop the bot for it
                log.warning("telegram: setMyCommands(%s) failed: %s", code, error)

    async def close(self) -> None:
        self._running = False
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    async def send(self, delivery: Delivery) -> Sent:
        try:
            document = delivery.reply.document
            if document is not None and self.documents is not None:
                await self._send_document(int(delivery.address.user_key), delivery.reply, document)
                return Sent.success()
            messages = render(delivery.reply)
            if delivery.edit and len(messages) == 1:
                chat_id, message_id = (int(x) for x in delivery.edit.split(":"))
                text, markup = messages[0]
                if await self._edit(chat_id, message_id, text, markup):
                    return Sent.success()
            chat = int(delivery.address.user_key)
            for text, markup in messages:
                await self.bot.send_message(chat, text, reply_markup=markup)
            return Sent.success()
        except RetryAfter as error:
            return Sent(ok=False, retry_after=_seconds(error))
        except Forbidden as error:
            return Sent(ok=False, unreachable=True, error=error.message)
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                return Sent(ok=False, unreachable=True, error=error.message)
            return Sent.failed(error.message)
        except (TimeoutError, NetworkError) as error:
            return Sent.failed(str(error), retry=True)

    async def _send_document(self, chat: int, reply: Reply, document: Document) -> None:
        """The file with the reply's text as its caption (or, when the text is longer than a
        caption may be, the text first); the buttons go with the file, the last message."""
        assert self.documents is not None
        messages = render(reply)
        try:
            file = await self.documents.get(document)
        except DocumentError as error:  # the text still goes, so the person is not left waiting
            log.error(
                "telegram: the %s %r could not be made: %s", document.kind, document.key, error
            )
            for text, markup in messages:
                await self.bot.send_message(chat, text, reply_markup=markup)
            return
        markup = messages[-1][1]
        caption: str | None = reply.text
        if _utf16_length(reply.text) > CAPTION_LIMIT:
            for text, _ in messages:
                await self.bot.send_message(chat, text)
            caption = None
        if file.mime.startswith("image/"):  # a chart: shown in the chat, not as a file
            await self.bot.send_photo(
                chat, file.data, filename=file.filename, caption=caption or None,
                reply_markup=markup,
            )  # fmt: skip
            return
        await self.bot.send_document(
            chat, file.data, filename=file.filename, caption=caption or None, reply_markup=markup
        )

    async def _edit(
        self, chat: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit in place; False when the message cannot be edited (then a new one is sent)."""
        try:
            await self.bot.edit_message_text(text, chat, message_id, reply_markup=markup)
        except BadRequest as error:
            return "not modified" in error.message.lower()
        return True

    async def answer_callback(self, callback_query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as error:  # too old, or already answered: nothing to do
            log.debug("answerCallbackQuery: %s", error)

    def answer_soon(self, callback_query_id: str) -> None:
        """Stop the tapped button's spinner at once; the answer itself follows."""
        task = asyncio.create_task(self.answer_callback(callback_query_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def routes(self, receive: Receive) -> list[Route]:
        """``POST /telegram``, when the channel was given a webhook secret."""
        secret = self.webhook_secret
        if secret is None:
            return []
        expected = secret.encode()

        async def webhook(request: Request) -> Response:
            given = request.headers.get("x-telegram-bot-api-secret-token")
            if not given:
                return refuse(401, "missing secret")
            if not hmac.compare_digest(given.encode(), expected):
                return refuse(403, "bad secret")
            try:
                body = await read_body(request)
            except TooLarge:
                return refuse(413, "body too large")
            try:
                data: Any = json.loads(body)
                update = Update.de_json(data, None)
            except (ValueError, TypeError, KeyError, AttributeError):
                return refuse(400, "not a Telegram update")
            parsed = parse(update)
            if parsed is not None:
                if parsed.callback_query_id:
                    self.answer_soon(parsed.callback_query_id)
                # Telegram retries a delivery it thinks failed: the update_id makes it harmless.
                receive.submit(
                    dataclasses.replace(parsed.incoming, delivery=str(parsed.update_id)),
                    edit=parsed.message_ref,
                )
            return JSONResponse({})

        return [Route("/telegram", webhook, methods=["POST"])]

    async def register_webhook(self, public_url: str) -> None:
        if self.webhook_secret is None:
            raise RuntimeError("telegram: a webhook needs a secret (the channel polls)")
        await self.bot.set_webhook(
            f"{public_url}/telegram",
            secret_token=self.webhook_secret,
            allowed_updates=UPDATE_TYPES,
        )
        log.info("telegram: webhook set to %s/telegram", public_url)

    async def poll(self, handle: UpdateHandler) -> None:
        """Long polling until ``close``. ``handle`` starts handling an update and returns what
        to await for it to be handled; a batch is confirmed only when all of it is."""
        await self.bot.delete_webhook()
        self._running = True
        offset: int | None = None
        failures = 0
        while self._running:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=UPDATE_TYPES
                )
                failures = 0
            except InvalidToken:
                raise
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error))
                continue
            except (Conflict, NetworkError) as error:
                failures += 1
                log.warning("telegram: getUpdates failed (%s); retrying", error)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            handled: list[Awaitable[object]] = []
            for update in updates:
                offset = update.update_id + 1
                try:
                    parsed = parse(update)
                except Exception:
                    log.exception("telegram: could not parse update %s", update.update_id)
                    continue
                if parsed is not None:
                    if parsed.callback_query_id:
                        self.answer_soon(parsed.callback_query_id)
                    handled.append(handle(parsed))
            # The next getUpdates (with the new offset) confirms this batch to Telegram: only
            # once every update in it is handled and its answer durably owed (keep_replies), so
            # a crash now loses no one's message. People are still handled concurrently.
            await asyncio.gather(*handled, return_exceptions=True)
