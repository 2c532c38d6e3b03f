"""ResMan as the sync sees it: guest cards found and posted, in the domain's values (tour_booking.domain.guest_card),
and the failures that decide what becomes of a tour. The adapter is tour_booking.resman.sync_adapter.

A failure's message is the reason stored on the tour: the kind of failure and ResMan's own text (method names,
HTTP statuses, ResMan's error words), never prospect details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tour_booking.domain.guest_card import CardPost, EventPost, GuestCard


class ResManPort(Protocol):
    def get_card(self, account_id: str, property_id: str, prospect_id: str) -> GuestCard | None:
        """The card with that ProspectID, or None when ResMan holds none."""
        ...

    def cards_with_email(self, account_id: str, property_id: str, email: str) -> Sequence[GuestCard]: ...

    def cards_with_phone(self, account_id: str, property_id: str, phone: str) -> Sequence[GuestCard]: ...

    def post(self, account_id: str, property_id: str, card: CardPost, events: Sequence[EventPost] = ()) -> GuestCard:
        """Creates the card (no ids) or updates it, appending or updating the events; the card as ResMan then
        holds it. A post that would create something is not resent after an ambiguous failure."""
        ...


class ResManCallError(Exception):
    """A ResMan call failed in a way retrying later may mend (ResMan not configured here, for one)."""


class ResManUnavailableError(ResManCallError):
    """ResMan was down, slow or answered nonsense. A post that failed so may still have reached ResMan: look
    again before posting again."""


class ResManRefusedError(ResManCallError):
    """ResMan refused the request for good (its Failed/Error, bad credentials, a 4xx): retrying cannot help."""
