"""Viber parse, render and signatures on recorded callbacks: pure functions, no network."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from bot.channels.viber import Kind, keyboard, parse, render, signature_ok
from flows.events import (
    Address,
    Choice,
    Command,
    Start,
    Subscribed,
    Text,
    Unsubscribed,
    Unsupported,
)
from flows.features import build_router
from flows.replies import Button, Reply

FIXTURES = Path(__file__).parent / "fixtures" / "viber"
USER = "01234567890A+bcdEFGhij=="


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


@pytest.mark.parametrize(
    ("name", "kind", "event"),
    [
        ("conversation_started", Kind.WELCOME, Start("krnjaca")),
        ("conversation_started_no_context", Kind.WELCOME, Start("")),
        ("message_text", Kind.EVENT, Text("متى ورشة الخياطة؟")),
        ("message_button", Kind.EVENT, Choice("B:12")),
        ("message_command", Kind.EVENT, Command("help")),
        ("message_picture", Kind.EVENT, Unsupported("picture")),
        ("message_sticker", Kind.EVENT, Unsupported("sticker")),
        ("message_contact", Kind.EVENT, Unsupported("contact")),
        ("message_location", Kind.EVENT, Unsupported("location")),
        ("message_file", Kind.EVENT, Unsupported("file")),
        ("subscribed", Kind.EVENT, Subscribed()),
        ("unsubscribed", Kind.EVENT, Unsubscribed()),
    ],
)
def test_recorded_callbacks_become_neutral_events(name: str, kind: Kind, event: object) -> None:
    parsed = parse(load(name))
    assert parsed.kind is kind
    assert parsed.incoming is not None
    assert parsed.incoming.event == event
    assert parsed.incoming.address == Address("viber", USER)
    assert parsed.incoming.delivery == str(load(name)["message_token"])


def test_names_avatars_and_countries_are_not_kept() -> None:
    parsed = parse(load("message_text"))
    assert parsed.incoming is not None
    assert parsed.incoming.language_hint == "ar"
    text = repr(parsed)
    assert "Amina" not in text and "SY" not in text and "avatar" not in text


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("webhook", Kind.WEBHOOK),
        ("delivered", Kind.RECEIPT),
        ("seen", Kind.RECEIPT),
        ("failed", Kind.RECEIPT),
        ("unknown_event", Kind.IGNORED),
        ("message_without_sender", Kind.IGNORED),
    ],
)
def test_callbacks_without_an_answer(name: str, kind: Kind) -> None:
    parsed = parse(load(name))
    assert parsed.kind is kind
    assert parsed.incoming is None


@pytest.mark.parametrize("data", [None, [], "text", 42, {"event": None}, {"event": "message"}])
def test_garbage_is_ignored_not_raised(data: Any) -> None:
    assert parse(data).incoming is None


def test_signatures_are_hmac_sha256_of_the_raw_body() -> None:
    body = json.dumps(load("message_text")).encode()
    good = hmac.new(b"token", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, "token")
    assert signature_ok(body, good.upper(), "token")
    assert not signature_ok(body, good, "other-token")
    assert not signature_ok(body + b" ", good, "token")
    assert not signature_ok(body, None, "token")
    assert not signature_ok(body, "", "token")


def test_render_builds_a_keyboard_of_opaque_silent_reply_buttons() -> None:
    reply = Reply(
        "مرحبا",
        (
            (
                Button("العربية", "L:ar:1"),
                Button("English", "L:en:1"),
                Button("Srpski", "L:sr_Latn:1"),
            ),
            (Button("🆘 Help", "H:en:1"),),
        ),
    )
    [message] = render(reply, {"name": "Workshops"})
    assert message["type"] == "text" and message["text"] == "مرحبا"
    buttons = message["keyboard"]["Buttons"]
    assert [(b["Text"], b["ActionBody"], b["Columns"]) for b in buttons] == [
        ("العربية", "L:ar:1", 2),
        ("English", "L:en:1", 2),
        ("Srpski", "L:sr_Latn:1", 2),
        ("🆘 Help", "H:en:1", 6),
    ]
    assert all(b["ActionType"] == "reply" and b["Silent"] for b in buttons)


def test_long_text_is_split_under_viber_limit_with_the_keyboard_last() -> None:
    text = "\n".join("z" * 99 for _ in range(150))
    messages = render(Reply(text, ((Button("Menu", "M"),),)), {"name": "W"})
    assert len(messages) == 3
    assert all(len(m["text"]) <= 7000 for m in messages)
    assert ["keyboard" in m for m in messages] == [False, False, True]


def test_no_buttons_no_keyboard() -> None:
    assert keyboard(Reply("hi")) is None


def test_typed_text_that_looks_like_a_code_is_text_when_the_router_knows_no_such_button() -> None:
    router = build_router()

    def message(text: str) -> dict[str, object]:
        return {
            "event": "message",
            "timestamp": 1,
            "message_token": 5,
            "sender": {"id": "u1", "name": "Someone", "language": "en"},
            "message": {"type": "text", "text": text},
        }

    typed = parse(message("OK"), router.is_button_data)
    assert typed.incoming is not None and typed.incoming.event == Text("OK")
    tapped = parse(message("B:12"), router.is_button_data)
    assert tapped.incoming is not None and tapped.incoming.event == Choice("B:12")
