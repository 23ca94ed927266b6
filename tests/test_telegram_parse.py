"""parse and render on recorded Bot API payloads: pure functions, no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.base import split_text
from bot.channels.telegram import TEXT_LIMIT, parse_json, render
from flows.events import Address, Choice, Command, Start, Text, Unsubscribed, Unsupported
from flows.replies import Button, Reply

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"


def load(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("start_deep_link", Start("krnjaca")),
        ("start_plain", Start("")),
        ("command_with_bot_name", Command("help")),
        ("text", Text("مرحبا، متى ورشة الخياطة؟")),
        ("callback_query", Choice("B:12")),
        ("sticker", Unsupported("sticker")),
        ("photo", Unsupported("photo")),
        ("voice", Unsupported("voice")),
        ("location", Unsupported("location")),
        ("contact", Unsupported("contact")),
        ("blocked", Unsubscribed()),
    ],
)
def test_recorded_updates_become_neutral_events(name: str, event: object) -> None:
    parsed = parse_json(load(name))
    assert parsed is not None
    assert parsed.incoming.event == event
    assert parsed.incoming.address == Address("telegram", "5550001")


def test_the_language_hint_and_callback_details_are_kept_and_names_are_not() -> None:
    parsed = parse_json(load("callback_query"))
    assert parsed is not None
    assert parsed.incoming.language_hint == "ar"
    assert parsed.callback_query_id == "4382bfdwdsb323b2d9"
    assert parsed.message_ref == "5550001:77"
    assert "Amina" not in repr(parsed) and "amina_k" not in repr(parsed)


@pytest.mark.parametrize("name", ["group_message", "edited_message"])
def test_updates_the_bot_ignores(name: str) -> None:
    assert parse_json(load(name)) is None


def test_render_puts_buttons_in_an_inline_keyboard_with_opaque_data() -> None:
    reply = Reply("مرحبا", ((Button("العربية", "L:ar:1"), Button("English", "L:en:1")),))
    [(text, markup)] = render(reply)
    assert text == "مرحبا"
    assert markup is not None
    row = markup.inline_keyboard[0]
    assert [(b.text, b.callback_data) for b in row] == [
        ("العربية", "L:ar:1"),
        ("English", "L:en:1"),
    ]


def test_long_text_is_split_at_line_ends_with_buttons_on_the_last_part() -> None:
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))
    parts = render(Reply(text, ((Button("Menu", "M"),),)))
    assert len(parts) == 3
    assert all(len(part) <= TEXT_LIMIT for part, _ in parts)
    assert [markup is not None for _, markup in parts] == [False, False, True]
    assert "\n".join(part for part, _ in parts) == text


def test_a_single_monster_line_is_cut_hard() -> None:
    parts = split_text("y" * 10_000, TEXT_LIMIT)
    assert [len(p) for p in parts] == [4096, 4096, 1808]
