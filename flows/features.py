"""The conversation's features, in the order their commands appear in the "/" menu.

Adding a feature is one module under ``flows/`` and one line here.
"""

from __future__ import annotations

from flows import (
    account,
    announce,
    booking,
    centre_help,
    feedback,
    home,
    onboarding,
    posters,
    privacy,
    reporting,
    reports,
    staff,
    staff_sessions,
)
from flows.router import Feature, Router

FEATURES: tuple[Feature, ...] = (
    onboarding.feature,
    home.feature,
    booking.feature,
    feedback.feature,
    account.feature,
    privacy.feature,
    reporting.feature,
    staff.feature,
    announce.feature,
    staff_sessions.feature,
    posters.feature,
    centre_help.feature,
    reports.feature,
)


def build_router(extra: tuple[Feature, ...] = ()) -> Router:
    """The router of every feature (tests may add their own)."""
    return Router((*FEATURES, *extra))
