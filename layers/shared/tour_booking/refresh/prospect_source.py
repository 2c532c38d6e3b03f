"""ResMan as the refresh sees it: the guest cards of a property modified in a window, as the outcome rules read
them (tour_booking.domain.tour_outcomes.GuestCardLike). The adapter is tour_booking.resman.refresh_adapter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tour_booking.domain.tour_outcomes import GuestCardLike


class WindowTooWideError(Exception):
    """ResMan refused a modified window as holding too much: the refresh halves it."""


class ProspectSource(Protocol):
    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> Sequence[GuestCardLike]:
        """Cards modified in [start, end). Raises WindowTooWideError when the window holds too much; any other
        exception fails the property (its class and message are recorded, so they carry no prospect details)."""
        ...
