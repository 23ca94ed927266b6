"""``workshopbot poster``: the printable sign-up poster of a centre."""

from __future__ import annotations


def poster() -> None:
    """Render a centre's poster (PDF or PNG)."""
    raise NotImplementedError
