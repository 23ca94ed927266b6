"""The conversation's features, in the order their commands appear in the "/" menu.

Adding a feature is one module under ``flows/`` and one line here.
"""

from __future__ import annotations

from flows import account, booking, home, onboarding, privacy, staff
from flows.router import Feature, Router

FEATURES: tuple[Feature, ...] = (
    onboarding.feature,
    home.feature,
    booking.feature,
    account.feature,
    privacy.feature,
    staff.feature,
)


def build_router(extra: tuple[Feature, ...] = ()) -> Router:
    """The router of every feature (tests may add their own)."""
    return Router((*FEATURES, *extra))
