"""``workshopbot broadcast``: a notice to residents, sent now (with progress) or later."""

from __future__ import annotations


def broadcast() -> None:
    """Send a notice to the residents of a centre."""
    raise NotImplementedError
