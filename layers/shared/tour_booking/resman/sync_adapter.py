"""The client behind the sync's port (tour_booking.sync.resman_port.ResManPort): the port's searches as
SearchProspects criteria, and the client's errors as the port's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tour_booking.domain.guest_card import CardPost, EventPost, GuestCard
from tour_booking.resman.errors import ResManError, ResManPermanentError, ResManTransientError
from tour_booking.sync.resman_port import ResManCallError, ResManRefusedError, ResManUnavailableError

if TYPE_CHECKING:
    from tour_booking.resman.client import ResManClient


@contextmanager
def _port_errors() -> Iterator[None]:
    # The message keeps the client's error type: it is the reason stored on the tour, as operators know it.
    try:
        yield
    except ResManPermanentError as error:
        raise ResManRefusedError(f"{type(error).__name__}: {error}") from error
    except ResManTransientError as error:
        raise ResManUnavailableError(f"{type(error).__name__}: {error}") from error
    except ResManError as error:
        raise ResManCallError(f"{type(error).__name__}: {error}") from error


class ResManSyncAdapter:
    def __init__(self, client: ResManClient) -> None:
        self._client = client

    def get_card(self, account_id: str, property_id: str, prospect_id: str) -> GuestCard | None:
        with _port_errors():
            return self._client.get_prospect(account_id, property_id, prospect_id)

    def cards_with_email(self, account_id: str, property_id: str, email: str) -> Sequence[GuestCard]:
        with _port_errors():
            return self._client.search_prospects(account_id, property_id, Email=email)

    def cards_with_phone(self, account_id: str, property_id: str, phone: str) -> Sequence[GuestCard]:
        with _port_errors():
            return self._client.search_prospects(account_id, property_id, Phone=phone)

    def post(self, account_id: str, property_id: str, card: CardPost, events: Sequence[EventPost] = ()) -> GuestCard:
        with _port_errors():
            return self._client.post_lead(account_id, property_id, card, events)
