"""A stand-in for the Telegram Bot API, for the tests and benchmarks of workshopbot.

:class:`FakeTelegram` is a real HTTP server (a Starlette app served by uvicorn inside
the test's own event loop, on 127.0.0.1 and a port the OS picks) that answers like
``https://api.telegram.org/bot<token>/<method>`` does for one bot. It keeps state and
enforces the rules that matter to a chatbot, so the bot under test meets the same
successes and failures it would meet in production:

* long polling with ``getUpdates``: offset confirmation, a real wait of up to
  ``timeout`` seconds, 409 Conflict for an older poll when a newer one arrives and
  while a webhook is set; webhook bookkeeping, and :meth:`FakeTelegram.deliver` to
  push an update to the bot's webhook;
* ``sendMessage``, ``editMessageText`` and ``editMessageReplyMarkup`` with the real
  limits (1..4096 characters, callback_data of 1..64 bytes of UTF-8, "message is not
  modified", "chat not found"); ``parse_mode=HTML`` turned into plain text plus
  entities the way Telegram does it (and rejected when the HTML is broken);
  ``deleteMessage``, ``sendChatAction``, ``answerCallbackQuery`` (once per query),
  ``getMe``, ``setMyCommands``/``getMyCommands``/``deleteMyCommands``;
* ``sendDocument`` with a multipart upload: the file's name, size and bytes are kept
  (:attr:`FakeTelegram.uploads`), the caption is checked (at most 1024 characters) and the
  message carries a ``document`` as Telegram's does;
* flood control (a sliding window answering 429 with ``retry_after``), users who
  block the bot (403), and failures injected with :meth:`FakeTelegram.fail_next`;
* simulated people who send text, stickers, photos, voice notes and locations and
  tap inline buttons, producing updates of the real Bot API shapes.

What it does not fake: groups, channels, inline mode, payments and business
features; files other than documents (``sendPhoto`` and friends answer 404 like any
unknown method; a document cannot be sent again by its file_id or from a URL, and nothing
can be downloaded); Markdown and MarkdownV2 (such text is stored as
sent, unchecked); automatic detection of URLs, mentions and commands in the bot's
text; Telegram's per-chat and per-group flood limits; the 48-hour editing window and
the deadline for answering a callback query; inline messages (``inline_message_id``);
the HTTPS and port rules for webhook URLs (``http://127.0.0.1`` is accepted so tests
can run a local receiver).

Everything here must be used from the thread that runs the event loop ``start()`` ran
in; the server and the test share that loop and its state without locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import LocalServer, wait_until

JSON = dict[str, Any]
Handler = Callable[[JSON], Awaitable[Any]]

DEFAULT_TOKEN = "123456:TEST-token"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_UPDATES_PER_CALL = 100
MAX_COMMANDS = 100

# Flood control counts every message the bot sends or edits, like the real API does.
SENDS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
)
# Where a call's uploaded files reach its handler (never a Bot API parameter name).
_UPLOADS = "__uploads__"

# Telegram leaves these out when allowed_updates was never set, or was set to [].
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BLOCKED = "Forbidden: bot was blocked by the user"

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class ApiError(Exception):
    """An error answer of the Bot API: raised inside a handler, sent as the HTTP response."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class FakeUser:
    """A simulated Telegram user. Their private chat with the bot has the same id."""

    id: int
    first_name: str
    language_code: str | None
    username: str | None = None


@dataclass
class _Chat:
    """What the fake knows about the private chat between one user and the bot."""

    user: FakeUser
    # One counter for the user's and the bot's messages, as in a real private chat.
    last_message_id: int = 0
    # Bot message id -> every version of it (sent, then each edit), oldest first.
    versions: dict[int, list[JSON]] = field(default_factory=dict)
    user_message_ids: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    blocked: bool = False
    reply_keyboard: JSON | None = None

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def current(self, message_id: Any) -> JSON | None:
        """The bot message as it is now, or None if there is no such (undeleted) one."""
        if message_id in self.deleted or message_id not in self.versions:
            return None
        return self.versions[message_id][-1]

    def current_messages(self) -> list[JSON]:
        return [v[-1] for mid, v in self.versions.items() if mid not in self.deleted]


@dataclass(frozen=True)
class Upload:
    """A document the bot uploaded with sendDocument, as the fake received it."""

    chat_id: int
    message_id: int
    filename: str
    mime_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class _Poll:
    """A getUpdates request that is waiting for an update."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    conflict: bool = False


# --------------------------------------------------------------------------------------
# Reading parameters


# Parameters that arrive as strings in query strings and forms but are numbers,
# booleans or JSON values in the Bot API.
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "from_chat_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "link_preview_options",
        "entities",
        "caption_entities",
        "reply_parameters",
        "commands",
        "scope",
    }
)

_DISPOSITION_NAME = re.compile(r'(?:^|;)\s*name="([^"]*)"', re.IGNORECASE)
_DISPOSITION_FILENAME = re.compile(r'(?:^|;)\s*filename="([^"]*)"', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


async def _read_params(request: Request, uploads: dict[str, bytes] | None = None) -> JSON:
    """All parameters of a call, from the query string and the body, as they were sent;
    the bytes of uploaded files go to ``uploads`` (by parameter name)."""
    params: JSON = dict(parse_qsl(request.url.query, keep_blank_values=True))
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise _bad_request("can't parse JSON request body") from None
        if not isinstance(decoded, dict):
            raise _bad_request("JSON request body must be an object")
        params.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(body, content_type, uploads))
    return params


async def _until_disconnected(request: Request) -> None:
    """Return once the client has closed the connection (the body was read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _forever() -> None:
    await asyncio.Event().wait()


def _parse_multipart(
    body: bytes, content_type: str, uploads: dict[str, bytes] | None = None
) -> JSON:
    """Fields of a multipart/form-data body; file parts become {"filename", "size"} (their
    bytes go to ``uploads``, when given).

    Written by hand because Starlette's form parser needs python-multipart, which the
    project does not depend on.
    """
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        raise _bad_request("multipart boundary is missing")
    params: JSON = {}
    for part in body.split(b"--" + boundary.group(1).encode("latin-1"))[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        name = _DISPOSITION_NAME.search(disposition)
        if name is None:
            continue
        filename = _DISPOSITION_FILENAME.search(disposition)
        if filename is not None:
            params[name.group(1)] = {"filename": filename.group(1), "size": len(content)}
            if uploads is not None:
                uploads[name.group(1)] = content
        else:
            params[name.group(1)] = content.decode("utf-8", "replace")
    return params


def _normalise(raw: JSON) -> JSON:
    """Give every parameter the type the Bot API documents, whatever encoding it came in."""
    params = dict(raw)
    for name, value in raw.items():
        if name in _INT_PARAMS:
            params[name] = _as_int(name, value)
        elif name in _BOOL_PARAMS:
            params[name] = _as_bool(name, value)
        elif name in _JSON_PARAMS and isinstance(value, str):
            params[name] = _as_json(name, value)
    return params


def _as_int(name: str, value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
        if name == "chat_id":
            # "@channelname" is a valid chat_id; it simply names no chat of this fake.
            return value
    raise _bad_request(f"invalid {name} specified")


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0", ""):
        return False
    raise _bad_request(f"invalid {name} specified")


def _as_json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        what = "reply keyboard markup" if name == "reply_markup" else name
        raise _bad_request(f"can't parse {what} JSON object") from None


# --------------------------------------------------------------------------------------
# Message text: HTML parse mode, trimming, limits


_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)\s*>")
_HTML_ATTRIBUTE = re.compile(r"""([A-Za-z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?""")
_HTML_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|(lt|gt|amp|quot));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


@dataclass
class _OpenTag:
    name: str
    offset: int  # where the tag's content starts in the plain text, in UTF-16 units
    entity: JSON | None  # None for a tag that makes no entity (a link without href)
    language: str | None = None  # <code class="language-x"> inside <pre>


def _utf16_len(text: str) -> int:
    # Entity offsets and lengths are counted in UTF-16 code units by the Bot API.
    return len(text.encode("utf-16-le")) // 2


def _entity_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


def _parse_html(source: str) -> tuple[str, list[JSON]]:
    """Turn Telegram-flavoured HTML into plain text and entities, as the Bot API does."""
    pieces: list[str] = []
    offset = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i = 0
    while i < len(source):
        if source[i] == "<":
            # Telegram wants every '<' that is not a tag written as &lt;.
            tag = _HTML_TAG.match(source, i)
            byte_offset = len(source[:i].encode("utf-8"))
            if tag is None:
                raise _entity_error(f'Unsupported start tag "" at byte offset {byte_offset}')
            name = tag.group(2).lower()
            if tag.group(1):
                _close_tag(stack, name, offset, entities, byte_offset)
            else:
                stack.append(_open_tag(name, tag.group(3), offset, byte_offset))
            i = tag.end()
            continue
        text = source[i]
        entity = _HTML_ENTITY.match(source, i) if text == "&" else None
        if entity is not None:
            text = _decode_html_entity(entity)
            i = entity.end()
        else:
            i += 1
        pieces.append(text)
        offset += _utf16_len(text)
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(pieces), entities


def _decode_html_entity(match: re.Match[str]) -> str:
    decimal, hexadecimal, named = match.groups()
    if named:
        return _HTML_NAMED[named]
    code_point = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code_point) if code_point <= 0x10FFFF else "\ufffd"


def _open_tag(name: str, attribute_text: str, offset: int, byte_offset: int) -> _OpenTag:
    if name not in _HTML_TAGS:
        raise _entity_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    attributes = {
        m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
        for m in _HTML_ATTRIBUTE.finditer(attribute_text)
    }
    entity: JSON | None = {"type": _HTML_TAGS[name]}
    language = None
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
    if name == "a":
        href = attributes.get("href")
        entity = {"type": "text_link", "url": href} if href else None
    elif name == "blockquote" and "expandable" in attributes:
        entity = {"type": "expandable_blockquote"}
    elif name == "tg-emoji":
        entity = {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id", "")}
    elif name == "code" and attributes.get("class", "").startswith("language-"):
        language = attributes["class"].removeprefix("language-")
    return _OpenTag(name, offset, entity, language)


def _close_tag(
    stack: list[_OpenTag], name: str, offset: int, entities: list[JSON], byte_offset: int
) -> None:
    if not stack or stack[-1].name != name:
        expected = f'"</{stack[-1].name}>"' if stack else "no end tag"
        raise _entity_error(
            f"Unmatched end tag at byte offset {byte_offset}, expected {expected}, "
            f'found "</{name}>"'
        )
    tag = stack.pop()
    parent = stack[-1] if stack else None
    if tag.language and parent is not None and parent.name == "pre" and parent.entity:
        # <pre><code class="language-x"> is one pre entity with a language, not two.
        parent.entity["language"] = tag.language
    elif tag.entity is not None and offset > tag.offset:
        entities.append({**tag.entity, "offset": tag.offset, "length": offset - tag.offset})


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Drop leading and trailing whitespace, as Telegram does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip())])
    end = _utf16_len(stripped)
    trimmed = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - lead, 0)
        stop = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - lead, end)
        if stop > start:
            trimmed.append({**entity, "offset": start, "length": stop - start})
    return stripped, trimmed


def _message_text(params: JSON) -> tuple[str, list[JSON]]:
    """The text a message will show and its entities, or the error Telegram would give."""
    text = params.get("text")
    if not isinstance(text, str) or not text:
        raise _bad_request("message text is empty")
    entities = params.get("entities")
    parse_mode = params.get("parse_mode")
    if entities is not None:
        # Explicit entities win over parse_mode, as in the Bot API.
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise _bad_request("can't parse entities JSON object")
    elif parse_mode:
        mode = str(parse_mode).lower()
        if mode == "html":
            text, entities = _parse_html(text)
        elif mode not in ("markdown", "markdownv2"):
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
    text, entities = _trim(text, entities or [])
    if not text:
        raise _bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return text, entities


def _uploaded_document(params: JSON, field: str = "document") -> tuple[str, bytes]:
    """The name and bytes of the file uploaded as ``document`` (or ``photo``), or Telegram's
    error."""
    value = params.get(field)
    data = params.get(_UPLOADS, {}).get(field)
    if isinstance(value, str) and value:
        # A file_id or an HTTP URL: the fake keeps no files to send again.
        raise _bad_request("wrong remote file identifier specified: can't unserialize it")
    if not isinstance(value, dict) or data is None:
        raise _bad_request("there is no document in the request")
    if not data:
        raise _bad_request("file must be non-empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    return str(value.get("filename") or "document"), data


def _picture_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, as Telegram would read them; None if it is neither."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.format not in ("PNG", "JPEG"):
                return None
            return picture.size
    except (UnidentifiedImageError, OSError):
        return None


def _caption(params: JSON) -> tuple[str, list[JSON]]:
    """A media message's caption and its entities (both may be empty)."""
    caption = params.get("caption")
    if caption is None or caption == "":
        return "", []
    as_text = {
        "text": caption,
        "entities": params.get("caption_entities"),
        "parse_mode": params.get("parse_mode"),
    }
    try:
        text, entities = _message_text({k: v for k, v in as_text.items() if v is not None})
    except ApiError as error:
        if "too long" not in error.description:
            raise
        raise _bad_request("message caption is too long") from None
    if len(text) > MAX_CAPTION_LENGTH:
        raise _bad_request("message caption is too long")
    return text, entities


# --------------------------------------------------------------------------------------
# Keyboards


_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL = re.compile(r"^(?:https?|tg)://\S+$")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [action for action in _INLINE_ACTIONS if action in button]
    if not actions:
        raise _bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise _bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not (
        isinstance(button["url"], str) and _BUTTON_URL.match(button["url"])
    ):
        raise _bad_request("BUTTON_URL_INVALID")


def _inline_keyboard(markup: JSON) -> JSON | None:
    """Check an InlineKeyboardMarkup; return it, or None if it shows no button."""
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            _check_inline_button(button)
    return markup if any(rows) else None


def _check_reply_keyboard(markup: JSON) -> None:
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text.strip():
                raise _bad_request("can't parse keyboard button: Text must be non-empty")


def _reply_markup(params: JSON, *, inline_only: bool) -> tuple[JSON | None, JSON | None]:
    """Check reply_markup; return (inline markup for the message, reply-keyboard markup).

    Only inline keyboards belong to a message; a reply keyboard (or its removal) changes
    what the user's app shows under the input field instead.
    """
    markup = params.get("reply_markup")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline_keyboard(markup), None
    if inline_only:
        raise _bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup)
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise _bad_request("can't parse reply keyboard markup JSON object")
    return None, markup


def _message_content(message: JSON) -> tuple[Any, ...]:
    # What "message is not modified" compares: what the user sees, not edit_date.
    return message.get("text"), message.get("entities"), message.get("reply_markup")


# --------------------------------------------------------------------------------------
# The fake


def _now() -> int:
    return int(time.time())


def _user_json(person: FakeUser) -> JSON:
    user: JSON = {"id": person.id, "is_bot": False, "first_name": person.first_name}
    if person.username is not None:
        user["username"] = person.username
    if person.language_code is not None:
        user["language_code"] = person.language_code
    return user


def _chat_json(person: FakeUser) -> JSON:
    chat: JSON = {"id": person.id, "type": "private", "first_name": person.first_name}
    if person.username is not None:
        chat["username"] = person.username
    return chat


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


_BOT_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_URL = re.compile(r"^https?://[^\s/]+")


class FakeTelegram:
    """The Telegram Bot API for one bot, over real HTTP, with simulated users.

    Use it as ``async with FakeTelegram() as fake:``; point the bot at ``fake.base_url``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        rate_limit: int | None = None,
        rate_window: float = 1.0,
        bot_username: str = "workshop_test_bot",
    ) -> None:
        bot_id, colon, _ = token.partition(":")
        if not colon or not bot_id.isdigit():
            raise ValueError(f"a bot token looks like '<bot id>:<secret>', not {token!r}")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be at least 1 (or None for no limit)")
        if rate_window <= 0:
            raise ValueError("rate_window must be positive")
        self.token = token
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.bot_user: JSON = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": "Workshop Test Bot",
            "username": bot_username,
        }
        self.base_url = ""

        # What tests and benchmarks read.
        self.calls: list[tuple[str, JSON]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, error_code, description)
        self.webhook: JSON | None = None
        self.callback_answers: dict[str, JSON] = {}
        self.sent_count = 0  # accepted sendMessage + edits ("sends")
        self.send_delay = 0.0  # seconds each send takes: a slow platform
        self.too_many_requests = 0  # sends refused by the rate limit
        self.uploads: list[Upload] = []  # documents received by sendDocument, oldest first

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._next_user_id = 1000
        self._updates: list[JSON] = []  # queued, not yet confirmed by an offset
        self._next_update_id = 500_000_001  # far from user and message ids, to catch mix-ups
        self._fetched_up_to = 0  # highest update_id handed to the bot
        self._allowed_updates: list[str] = []
        self._polls: list[_Poll] = []
        self._issued_callbacks: list[str] = []
        self._next_callback = 1
        self._next_file = 1
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._send_times: deque[float] = deque()
        self._failures: dict[str, deque[ApiError]] = {}
        self._in_flight = 0
        self._last_activity = time.monotonic()

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
        }
        # Method names are case-insensitive in the Bot API.
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}
        every_method = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/{path:path}", self._not_found, methods=every_method),
            ]
        )
        self._server: LocalServer | None = None
        self._stopping = False

    # ----------------------------------------------------------------------------------
    # Lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 and a free port; sets ``base_url``."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._stopping = False
        self._server = LocalServer(self._app)
        await self._server.start()
        self.base_url = self._server.url
        self._touch()

    async def stop(self) -> None:
        """Answer waiting getUpdates with [], then shut the server down."""
        if self._server is None:
            return
        self._stopping = True
        for poll in self._polls:
            poll.wake.set()
        try:
            await self._server.stop()
        finally:
            self._server = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------------------------
    # HTTP layer

    async def _not_found(self, request: Request) -> JSONResponse:
        body = {"ok": False, "error_code": 404, "description": "Not Found"}
        return JSONResponse(body, status_code=404)

    async def _endpoint(self, request: Request) -> JSONResponse:
        raw_method = str(request.path_params["method"])
        name, handler = self._handlers.get(raw_method.lower(), (raw_method, None))
        # A long poll may legitimately wait; only other calls make the bot "busy".
        busy = name != "getUpdates"
        if busy:
            self._in_flight += 1
        try:
            uploads: dict[str, bytes] = {}
            params = await self._record_call(request, name, uploads)
            if request.path_params["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._raise_injected_failure(name)
            if name in SENDS:
                self._check_rate_limit()
                if self.send_delay:
                    await asyncio.sleep(self.send_delay)
            if name == "getUpdates":
                # A long poll also watches its connection, to stop waiting for a bot that left.
                result = await self._get_updates(params, request)
            else:
                result = await handler({**params, _UPLOADS: uploads} if uploads else params)
        except ApiError as error:
            self.errors.append((name, error.code, error.description))
            return JSONResponse(error.body(), status_code=error.code)
        finally:
            if busy:
                self._in_flight -= 1
                self._touch()
        return JSONResponse({"ok": True, "result": result})

    async def _record_call(
        self, request: Request, name: str, uploads: dict[str, bytes] | None = None
    ) -> JSON:
        """Parse and normalise the parameters; every call is recorded, even a broken one."""
        try:
            raw = await _read_params(request, uploads)
        except ApiError:
            self.calls.append((name, {}))
            raise
        try:
            params = _normalise(raw)
        except ApiError:
            self.calls.append((name, raw))
            raise
        self.calls.append((name, params))
        return params

    def _raise_injected_failure(self, name: str) -> None:
        queued = self._failures.get(name)
        if queued:
            raise queued.popleft()

    def _check_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        now = time.monotonic()
        self._forget_old_sends(now)
        if len(self._send_times) >= self.rate_limit:
            # The oldest send in the window is the first to leave it and free a slot.
            wait = self._send_times[0] + self.rate_window - now
            retry_after = max(1, math.ceil(wait))
            self.too_many_requests += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _forget_old_sends(self, now: float) -> None:
        while self._send_times and self._send_times[0] <= now - self.rate_window:
            self._send_times.popleft()

    def _record_send(self) -> None:
        now = time.monotonic()
        self._send_times.append(now)
        self._forget_old_sends(now)
        self.sent_count += 1

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    # ----------------------------------------------------------------------------------
    # Bot API methods: bot and updates

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON, request: Request | None = None) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        limit = min(max(int(params.get("limit", MAX_UPDATES_PER_CALL)), 1), MAX_UPDATES_PER_CALL)
        timeout = max(int(params.get("timeout", 0)), 0)
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self._confirm(int(params.get("offset", 0)))
        # Only one poll may wait: the newer request wins, the older one gets 409.
        self._end_polls(conflict=True)
        deadline = time.monotonic() + timeout
        while True:
            batch = self._take_batch(limit)
            remaining = deadline - time.monotonic()
            if batch or self._stopping or remaining <= 0:
                return batch
            poll = _Poll()
            self._polls.append(poll)
            try:
                client_left = await self._wait(poll, remaining, request)
            finally:
                self._polls.remove(poll)
            if client_left:
                return []  # nobody is listening; and a gone bot must not block others
            if poll.conflict:
                raise ApiError(409, _POLL_CONFLICT)

    @staticmethod
    async def _wait(poll: _Poll, timeout: float, request: Request | None) -> bool:
        """Wait for the poll to be woken or time out; True if the client hung up first."""
        woken = asyncio.ensure_future(poll.wake.wait())
        hung_up = asyncio.ensure_future(_until_disconnected(request) if request else _forever())
        try:
            done, _ = await asyncio.wait(
                {woken, hung_up}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
            hung_up.cancel()
        return hung_up in done and woken not in done

    def _confirm(self, offset: int) -> None:
        """Forget updates that the bot confirmed by asking for a later offset."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            # A negative offset keeps only the last -offset updates, as documented.
            self._updates = self._updates[offset:]

    def _take_batch(self, limit: int) -> list[JSON]:
        batch = self._updates[:limit]
        if batch:
            self._fetched_up_to = max(self._fetched_up_to, batch[-1]["update_id"])
            self._touch()
        return batch

    def _is_allowed(self, update: JSON) -> bool:
        kind = _update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _set_allowed_updates(self, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad_request("allowed_updates must be an Array of String")
        self._allowed_updates = list(value)

    def _end_polls(self, *, conflict: bool) -> None:
        for poll in self._polls:
            poll.conflict = conflict
            poll.wake.set()

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url", "")
        if not isinstance(url, str):
            raise _bad_request("invalid url specified")
        if url and not _WEBHOOK_URL.match(url):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._updates.clear()
        # An empty url removes the webhook, as in the Bot API.
        self.webhook = {"url": url, "secret_token": secret} if url else None
        if self.webhook is not None:
            self._end_polls(conflict=True)
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = 40
            info["ip_address"] = "127.0.0.1"
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # ----------------------------------------------------------------------------------
    # Bot API methods: commands

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands is empty" if commands is None else "can't parse commands")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.match(
                str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self._commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    # ----------------------------------------------------------------------------------
    # Bot API methods: messages

    def _target_chat(self, params: JSON) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        if chat.blocked:
            raise ApiError(403, _BLOCKED)
        return chat

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        text, entities = _message_text(params)
        inline_markup, reply_keyboard = _reply_markup(params, inline_only=False)
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": self.bot_user,
            "chat": _chat_json(chat.user),
            "date": _now(),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if inline_markup is not None:
            message["reply_markup"] = inline_markup
        if reply_keyboard is not None:
            chat.reply_keyboard = reply_keyboard if "keyboard" in reply_keyboard else None
        chat.versions[message["message_id"]] = [message]
        self._record_send()
        return message

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        filename, data = _uploaded_document(params)
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        document = {
            "file_name": filename,
            "mime_type": mime,
            **self._file_ids("BQAC"),
            "file_size": len(data),
        }
        return self._file_message(chat, params, "document", document, filename, mime, data)

    async def _send_photo(self, params: JSON) -> JSON:
        """A picture: kept with the uploads (``mime`` says it is an image), shown as a photo."""
        chat = self._target_chat(params)
        filename, data = _uploaded_document(params, "photo")
        size = _picture_size(data)
        if size is None:
            raise _bad_request("IMAGE_PROCESS_FAILED")
        # Telegram gives the sizes it made; the fake, the one it was sent (a PhotoSize
        # without width and height is not a PhotoSize: python-telegram-bot refuses it).
        photo = [{**self._file_ids("AgAC"), "file_size": len(data), "width": size[0],
                  "height": size[1]}]  # fmt: skip
        mime = mimetypes.guess_type(filename)[0] or "image/png"
        return self._file_message(chat, params, "photo", photo, filename, mime, data)

    def _file_message(
        self, chat: _Chat, params: JSON, kind: str, content: Any, filename: str, mime: str,
        data: bytes,
    ) -> JSON:  # fmt: skip
        """A sent file as Telegram shows it (``kind`` is "document" or "photo"), with its
        caption and buttons; kept with the uploads."""
        caption, entities = _caption(params)
        inline_markup, reply_keyboard = _reply_markup(params, inline_only=False)
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": self.bot_user,
            "chat": _chat_json(chat.user),
            "date": _now(),
            kind: content,
        }
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if inline_markup is not None:
            message["reply_markup"] = inline_markup
        if reply_keyboard is not None:
            chat.reply_keyboard = reply_keyboard if "keyboard" in reply_keyboard else None
        chat.versions[message["message_id"]] = [message]
        self.uploads.append(Upload(chat.user.id, message["message_id"], filename, mime, data))
        self._record_send()
        return message

    def _message_to_edit(self, params: JSON) -> tuple[_Chat, JSON]:
        if "inline_message_id" in params and "chat_id" not in params:
            raise _bad_request("inline messages are not supported by the fake")
        chat = self._target_chat(params)
        if params.get("message_id") is None:
            raise _bad_request("message identifier is not specified")
        message = chat.current(params["message_id"])
        if message is None:
            raise _bad_request("message to edit not found")
        return chat, message

    def _apply_edit(self, chat: _Chat, old: JSON, new: JSON) -> JSON:
        if _message_content(new) == _message_content(old):
            raise ApiError(400, _NOT_MODIFIED)
        new["edit_date"] = _now()
        chat.versions[old["message_id"]].append(new)
        self._record_send()
        return new

    async def _edit_message_text(self, params: JSON) -> JSON:
        chat, old = self._message_to_edit(params)
        if "text" not in old:
            raise _bad_request("there is no text in the message to edit")
        text, entities = _message_text(params)
        inline_markup, _ = _reply_markup(params, inline_only=True)
        new = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        new["text"] = text
        if entities:
            new["entities"] = entities
        # Like the real API: an edit without reply_markup removes the inline keyboard.
        if inline_markup is not None:
            new["reply_markup"] = inline_markup
        return self._apply_edit(chat, old, new)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, old = self._message_to_edit(params)
        inline_markup, _ = _reply_markup(params, inline_only=True)
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if inline_markup is not None:
            new["reply_markup"] = inline_markup
        return self._apply_edit(chat, old, new)

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        if chat.current(message_id) is not None:
            chat.deleted.add(message_id)
        elif message_id in chat.user_message_ids:
            chat.user_message_ids.discard(message_id)
        else:
            raise _bad_request("message to delete not found")
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id:
            raise _bad_request("callback_query_id is empty")
        if query_id not in self._issued_callbacks or query_id in self.callback_answers:
            raise ApiError(400, _QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        keys = ("text", "show_alert", "url", "cache_time")
        self.callback_answers[query_id] = {k: params[k] for k in keys if k in params}
        return True

    # ----------------------------------------------------------------------------------
    # Failure injection and blocking

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error."""
        known = self._handlers.get(method.lower())
        if known is None:
            raise ValueError(f"the fake does not implement {method!r}")
        queued = self._failures.setdefault(known[0], deque())
        for _ in range(times):
            queued.append(ApiError(error_code, description, retry_after=retry_after))

    def block(self, user: FakeUser | int) -> None:
        """The user blocks the bot: sends to them answer 403 until they unblock it."""
        chat = self._chat_of(user)
        if not chat.blocked:
            chat.blocked = True
            self._queue_membership(chat, "member", "kicked")

    def unblock(self, user: FakeUser | int) -> None:
        chat = self._chat_of(user)
        if chat.blocked:
            chat.blocked = False
            self._queue_membership(chat, "kicked", "member")

    def _queue_membership(self, chat: _Chat, old: str, new: str) -> None:
        # Telegram tells the bot about (un)blocking with a my_chat_member update.
        def member(status: str) -> JSON:
            member: JSON = {"user": self.bot_user, "status": status}
            if status == "kicked":
                member["until_date"] = 0
            return member

        self._queue(
            {
                "my_chat_member": {
                    "chat": _chat_json(chat.user),
                    "from": _user_json(chat.user),
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # ----------------------------------------------------------------------------------
    # Simulated people

    def user(
        self,
        first_name: str = "Amina",
        language_code: str | None = "en",
        *,
        user_id: int | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """A new person with a private chat with the bot; ids count up from 1000."""
        if user_id is None:
            while self._next_user_id in self._users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id in self._users:
            raise ValueError(f"user id {user_id} is already taken")
        person = FakeUser(user_id, first_name, language_code, username)
        self._users[user_id] = person
        self._chats[user_id] = _Chat(person)
        return person

    def _chat_of(self, user: FakeUser | int) -> _Chat:
        user_id = user if isinstance(user, int) else user.id
        chat = self._chats.get(user_id)
        if chat is None:
            raise AssertionError(f"user {user_id} was not created with FakeTelegram.user()")
        return chat

    def _user_message(self, user: FakeUser | int, content: JSON) -> JSON:
        chat = self._chat_of(user)
        # A person can only write to a bot they have not blocked: writing unblocks it.
        self.unblock(user)
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": _user_json(chat.user),
            "chat": _chat_json(chat.user),
            "date": _now(),
            **content,
        }
        chat.user_message_ids.add(message["message_id"])
        if chat.reply_keyboard is not None and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        return self._queue({"message": message})

    def send_text(self, user: FakeUser | int, text: str) -> JSON:
        """The user writes ``text``; returns the queued update."""
        content: JSON = {"text": text}
        command = _BOT_COMMAND.match(text)
        if command is not None:
            length = _utf16_len(command.group(0))
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._user_message(user, content)

    def _file_ids(self, prefix: str) -> JSON:
        number = self._next_file
        self._next_file += 1
        return {
            "file_id": f"{prefix}ACAgIAAxkBAAI{number:06d}fake",
            "file_unique_id": f"AgAD{number:06d}",
        }

    def _photo_size(self, width: int, height: int) -> JSON:
        return {**self._file_ids("AgAC"), "width": width, "height": height, "file_size": width * 40}

    def send_sticker(self, user: FakeUser | int, *, emoji: str = "👍") -> JSON:
        sticker: JSON = {
            **self._file_ids("CAAC"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "WorkshopFakeStickers",
            "thumbnail": self._photo_size(128, 128),
            "file_size": 24_576,
        }
        return self._user_message(user, {"sticker": sticker})

    def send_photo(self, user: FakeUser | int, *, caption: str | None = None) -> JSON:
        sizes = [(90, 68), (320, 240), (800, 600), (1280, 960)]
        content: JSON = {"photo": [self._photo_size(w, h) for w, h in sizes]}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, content)

    def send_voice(self, user: FakeUser | int, *, duration: int = 4) -> JSON:
        voice = {
            **self._file_ids("AwAC"),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4_000 * duration,
        }
        return self._user_message(user, {"voice": voice})

    def send_location(
        self, user: FakeUser | int, *, latitude: float = 52.5200, longitude: float = 13.4050
    ) -> JSON:
        return self._user_message(
            user, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def tap(
        self,
        user: FakeUser | int,
        message: JSON | int,
        callback_data: str,
        *,
        check: bool = True,
    ) -> JSON:
        """The user taps an inline button of a bot message; returns the queued update.

        With ``check`` the data must be on one of the message's current buttons; pass
        ``check=False`` to forge data (an old or tampered button).
        """
        chat = self._chat_of(user)
        message_id = message if isinstance(message, int) else message.get("message_id")
        if isinstance(message, dict) and message.get("chat", {}).get("id") != chat.user.id:
            raise AssertionError(f"message {message_id} is not in the chat of user {chat.user.id}")
        current = chat.current(message_id)
        if current is None:
            raise AssertionError(f"no bot message {message_id} in the chat of user {chat.user.id}")
        if check and callback_data not in [data for _, data in self.buttons(current)]:
            raise AssertionError(
                f"no button with callback_data {callback_data!r} on message {message_id}; "
                f"it has {self.buttons(current)}"
            )
        query_id = str(4_000_000_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._issued_callbacks.append(query_id)
        query = {
            "id": query_id,
            "from": _user_json(chat.user),
            "message": copy.deepcopy(current),
            "chat_instance": str(-7_000_000_000_000_000_000 + chat.user.id),
            "data": callback_data,
        }
        return self._queue({"callback_query": query})

    def press(self, user: FakeUser | int, label: str, *, message: JSON | None = None) -> JSON:
        """Tap the button whose text contains ``label`` (case-insensitive).

        The button is looked for on ``message`` (as it is now), or else on the newest bot
        message in the chat that has callback buttons.
        """
        chat = self._chat_of(user)
        if message is not None:
            target = chat.current(message.get("message_id"))
            if target is None:
                raise AssertionError(f"no bot message {message.get('message_id')} in this chat")
        else:
            with_buttons = [
                m for m in chat.current_messages() if any(d for _, d in self.buttons(m))
            ]
            if not with_buttons:
                raise AssertionError(
                    f"no bot message with buttons in the chat of user {chat.user.id}; "
                    f"texts: {[m.get('text') for m in chat.current_messages()]}"
                )
            target = with_buttons[-1]
        data = self._find_button(target, label)
        return self.tap(user, target, data)

    def _find_button(self, message: JSON, label: str) -> str:
        buttons = self.buttons(message)
        wanted = label.casefold()
        exact = [(text, data) for text, data in buttons if text.casefold() == wanted]
        matches = exact or [(text, data) for text, data in buttons if wanted in text.casefold()]
        labels = [text for text, _ in buttons]
        if not matches:
            raise AssertionError(
                f"no button matching {label!r} on message {message['message_id']}; "
                f"buttons: {labels}"
            )
        if len(matches) > 1:
            raise AssertionError(f"{label!r} matches several buttons: {labels}")
        text, data = matches[0]
        if not data:
            raise AssertionError(f"button {text!r} opens a link; it sends no callback_data")
        return data

    def post_update(self, update: JSON) -> JSON:
        """Queue a raw update (e.g. a recorded payload); update_id is added if missing.

        Like every update, it is dropped if its type is not in the bot's allowed_updates.
        """
        return self._queue(copy.deepcopy(update))

    def _queue(self, update: JSON) -> JSON:
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        # Telegram does not even create updates of types the bot did not subscribe to
        # (allowed_updates); a changed setting does not touch updates already queued.
        if self._is_allowed(update):
            self._updates.append(update)
        self._touch()
        for poll in self._polls:
            poll.wake.set()
        return copy.deepcopy(update)

    # ----------------------------------------------------------------------------------
    # Inspection

    def messages(self, user: FakeUser | int) -> list[JSON]:
        """The bot's messages in the chat as they are now (after edits), oldest first."""
        return copy.deepcopy(self._chat_of(user).current_messages())

    def last_message(self, user: FakeUser | int) -> JSON:
        messages = self.messages(user)
        if not messages:
            raise AssertionError(f"the bot has sent nothing to user {self._chat_of(user).user.id}")
        return messages[-1]

    def texts(self, user: FakeUser | int) -> list[str]:
        return [str(m.get("text", "")) for m in self._chat_of(user).current_messages()]

    def documents(self, user: FakeUser | int) -> list[Upload]:
        """The documents the bot sent to the user, oldest first."""
        chat_id = self._chat_of(user).user.id
        return [upload for upload in self.uploads if upload.chat_id == chat_id]

    def calls_to(self, method: str) -> int:
        """How many calls of one Bot API method arrived (broken ones included)."""
        return sum(1 for name, _ in self.calls if name == method)

    @property
    def sends_in_flight(self) -> int:
        """Calls other than getUpdates that arrived and are not answered yet."""
        return self._in_flight

    def history(self, user: FakeUser | int, message: JSON | int) -> list[JSON]:
        """Every version of a bot message: as sent, then after each edit."""
        message_id = message if isinstance(message, int) else message.get("message_id", 0)
        versions = self._chat_of(user).versions.get(int(message_id))
        if versions is None:
            raise AssertionError(f"the bot never sent message {message_id} to this user")
        return copy.deepcopy(versions)

    @staticmethod
    def buttons(message: JSON) -> list[tuple[str, str]]:
        """(text, callback_data) of the inline buttons, row by row; "" for URL buttons."""
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def keyboard(self, user: FakeUser | int) -> list[str]:
        """Labels of the reply keyboard the user's app shows now (empty when none)."""
        markup = self._chat_of(user).reply_keyboard
        rows = markup.get("keyboard", []) if markup else []
        return [b["text"] if isinstance(b, dict) else str(b) for row in rows for b in row]

    def is_blocked(self, user: FakeUser | int) -> bool:
        return self._chat_of(user).blocked

    @property
    def answered_callbacks(self) -> set[str]:
        return set(self.callback_answers)

    def unanswered_callbacks(self) -> list[str]:
        return [q for q in self._issued_callbacks if q not in self.callback_answers]

    @property
    def commands(self) -> list[JSON]:
        """The commands set for the default scope and no particular language."""
        return self.commands_for()

    def commands_for(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        key = self._commands_key({"scope": scope, "language_code": language_code})
        return copy.deepcopy(self._commands.get(key, []))

    def calls_of(self, method: str) -> list[JSON]:
        """The parameters of every call of one method, in arrival order."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by the bot."""
        return copy.deepcopy(self._updates)

    @property
    def waiting_polls(self) -> int:
        """How many getUpdates requests are waiting right now."""
        return len(self._polls)

    def _unfetched(self) -> int:
        return sum(1 for u in self._updates if u["update_id"] > self._fetched_up_to)

    def summary(self) -> str:
        """What happened so far, for failure messages."""
        lines = [
            f"sends accepted: {self.sent_count}, refused by the rate limit: "
            f"{self.too_many_requests}, updates queued: {len(self._updates)} "
            f"(not yet fetched: {self._unfetched()}), waiting polls: {len(self._polls)}",
        ]
        for chat in self._chats.values():
            texts = [t if len(t) <= 60 else t[:57] + "..." for t in self.texts(chat.user)]
            lines.append(f"chat {chat.user.id} ({chat.user.first_name}): {texts[-5:]}")
        lines.append(f"last calls: {[name for name, _ in self.calls[-10:]]}")
        if self.errors:
            lines.append(f"last errors: {self.errors[-5:]}")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------
    # Waiting

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll every 5 ms until ``predicate()`` is true; AssertionError after ``timeout``."""
        await wait_until(predicate, timeout, self.summary)

    async def wait_for_messages(
        self, user: FakeUser | int, count: int, timeout: float = 5.0
    ) -> list[JSON]:
        """Wait until the bot has sent ``count`` messages to the chat (edits do not count)."""
        chat = self._chat_of(user)
        try:
            await self.wait_for(lambda: len(chat.versions) >= count, timeout)
        except AssertionError as error:
            raise AssertionError(
                f"user {chat.user.id} got {len(chat.versions)} of {count} messages; {error}"
            ) from None
        return self.messages(user)

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until every queued update was fetched and no call came for ``quiet`` s."""

        def idle() -> bool:
            quiet_for = time.monotonic() - self._last_activity
            return self._unfetched() == 0 and self._in_flight == 0 and quiet_for >= quiet

        try:
            await self.wait_for(idle, timeout)
        except AssertionError as error:
            raise AssertionError(f"the bot did not go idle; {error}") from None

    # ----------------------------------------------------------------------------------
    # Webhook delivery

    async def deliver(self, update: JSON) -> httpx.Response:
        """POST an update to the webhook the bot set, as Telegram would.

        A delivered update leaves the queue once the bot answers 2xx.
        """
        if self.webhook is None:
            raise AssertionError("the bot has not set a webhook")
        if "update_id" not in update:
            update = self._queue(update)
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
        self._touch()
        # trust_env=False: a proxy from the environment must never see local traffic.
        async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
            response = await client.post(self.webhook["url"], json=update, headers=headers)
        if response.is_success:
            self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
            self._fetched_up_to = max(self._fetched_up_to, int(update["update_id"]))
        self._touch()
        return response

    async def deliver_pending(self) -> list[httpx.Response]:
        """Deliver every queued update to the webhook, oldest first."""
        return [await self.deliver(update) for update in copy.deepcopy(self._updates)]
