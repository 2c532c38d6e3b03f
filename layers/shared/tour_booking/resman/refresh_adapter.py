"""The client behind the refresh's port (tour_booking.refresh.prospect_source.ProspectSource): ResMan's
`buffer overflow` becomes the port's WindowTooWideError; every other client error fails the property as it is,
its class named in the property's recorded error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from tour_booking.domain.guest_card import GuestCard
from tour_booking.refresh.prospect_source import WindowTooWideError
from tour_booking.resman.errors import ResManWindowTooWideError

if TYPE_CHECKING:
    from tour_booking.resman.client import ResManClient


class ResManProspectSource:
    """The client is built at the first search, so a client that cannot be built (e.g. its secret is unreadable)
    fails the ResMan part of each property while their slots are still refreshed."""

    def __init__(self, client: ResManClient | None = None) -> None:
        self._client = client

    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> Sequence[GuestCard]:
        if self._client is None:
            from tour_booking.resman.client import get_resman_client  # noqa: PLC0415 - cold start: when used

            self._client = get_resman_client()
        try:
            return self._client.search_prospects_modified(account_id, property_id, start, end)
        except ResManWindowTooWideError as error:
            raise WindowTooWideError(str(error)) from error
