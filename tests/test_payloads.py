from __future__ import annotations

import pytest

from flows import payloads as p


def test_round_trip() -> None:
    data = p.make(p.LANGUAGE, "sr_Latn", 12)
    parsed = p.parse(data)
    assert parsed == p.Payload("L", ("sr_Latn", "12"))
    assert parsed.locale_arg(0) == "sr_Latn" and parsed.int_arg(1) == 12


@pytest.mark.parametrize(
    "data", ["", "Q:1", "B:1:2:3", "B;1", "ب:1", "B:" + "1" * 70, "L:ar:1 OR 1=1"]
)
def test_anything_the_bot_did_not_make_is_refused(data: str) -> None:
    assert p.parse(data) is None


def test_arguments_are_checked() -> None:
    parsed = p.parse("B:99999999999")
    assert parsed is not None and parsed.int_arg(0) is None
    parsed = p.parse("L:a1")
    assert parsed is not None and parsed.locale_arg(0) is None


def test_making_unsafe_data_fails_loudly() -> None:
    with pytest.raises(ValueError):
        p.make(p.DETAILS, "Sewing workshop")
    with pytest.raises(ValueError):
        p.make(p.DETAILS, "9" * 70)
