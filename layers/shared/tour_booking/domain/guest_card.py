"""A ResMan guest card (a prospect) as the domain reads and writes it, and the facts its events carry.

The ResMan adapter (tour_booking.resman) turns MITS XML into these values and these values into MITS XML; the
sync, the outcome rules and the card rules (guest_card_rules) see nothing else. Frozen dataclasses: plain values
with no validation cost, safe to share between threads. Times are aware datetimes in UTC (ResMan interprets and
answers event dates as UTC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

# Every event we post names its tour in Comments: it tells our events from staff's, and which of a prospect's
# tours a Cancel is about (a Cancel names no appointment in MITS).
TOUR_MARKER = "DomIQ tour {tour_id}"
# The MITS event types of a tour's outcome, spelled as we post them; reading staff's events ignores case.
SHOW_EVENT = "Show"
CANCEL_EVENT = "Cancel"
# The customer type of a card staff gave up on (ResMan's `Customer Type`, lower-cased).
LOST = "lost"
_MARKED_TOUR = re.compile(r"DomIQ tour ([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})")


def tour_marker(tour_id: UUID) -> str:
    return TOUR_MARKER.format(tour_id=tour_id)


def marked_tour_id(comments: str | None) -> UUID | None:
    """The tour an event of ours names in its comments, or None for anybody else's event."""
    found = _MARKED_TOUR.search(comments or "")
    return UUID(found.group(1)) if found else None


class Typed(Protocol):
    @property
    def customer_type(self) -> str | None: ...


def is_lost(card: Typed) -> bool:
    return (card.customer_type or "").strip().lower() == LOST


@dataclass(frozen=True)
class CardEvent:
    """One event of a card. `event_id` is absent on events we have not posted yet."""

    event_id: str | None
    event_type: str
    event_date: datetime | None
    comments: str | None = None


@dataclass(frozen=True)
class CardPreferences:
    """What the prospect wants (MITS `CustomerPreferences`), as text the way ResMan holds it (None: not set)."""

    target_move_in_date: str | None = None
    desired_num_bedrooms: str | None = None
    desired_rent: str | None = None
    comment: str | None = None

    def is_empty(self) -> bool:
        return not any((self.target_move_in_date, self.desired_num_bedrooms, self.desired_rent, self.comment))


@dataclass(frozen=True)
class GuestCard:
    """A card as ResMan holds it. `customer_type` is lower-cased (`prospect`, `lost`, ...)."""

    prospect_id: str
    person_id: str | None = None
    customer_type: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    events: Sequence[CardEvent] = field(default_factory=tuple)
    preferences: CardPreferences = field(default_factory=CardPreferences)

    def event(self, event_id: str) -> CardEvent | None:
        return next((e for e in self.events if e.event_id == event_id), None)


@dataclass(frozen=True)
class CardPost:
    """The card as a post gives it. With the ids ResMan updates that card; without, it creates one."""

    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    customer_type: str = "prospect"
    prospect_id: str | None = None
    person_id: str | None = None
    preferences: CardPreferences | None = None


@dataclass(frozen=True)
class EventPost:
    """An event a post gives. With `event_id` ResMan updates that event instead of appending a new one."""

    event_type: str
    event_date: datetime
    event_id: str | None = None
    comments: str | None = None
    transaction_source: str | None = None
    first_contact: bool = False
