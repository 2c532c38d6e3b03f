"""What the ResMan client returns: guest cards (prospects) and their events, parsed from MITS XML.

Frozen dataclasses: plain values with no validation cost, safe to share between threads. Times are aware
datetimes in UTC (ResMan interprets and answers event dates as UTC, resman-api.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

# Every event we post names its tour in Comments: it tells our events from staff's, and which of a prospect's
# tours a Cancel is about (a Cancel names no appointment in MITS).
TOUR_MARKER = "DomIQ tour {tour_id}"
# The MITS event types of a tour's outcome, spelled as we post them; reading staff's events ignores case.
SHOW_EVENT = "Show"
CANCEL_EVENT = "Cancel"
_MARKED_TOUR = re.compile(r"DomIQ tour ([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})")


def marked_tour_id(comments: str | None) -> UUID | None:
    """The tour an event of ours names in its comments, or None for anybody else's event."""
    found = _MARKED_TOUR.search(comments or "")
    return UUID(found.group(1)) if found else None


@dataclass(frozen=True)
class ResManEvent:
    """One `Events/Event` of a prospect. `event_id` is absent on events we have not posted yet."""

    event_id: str | None
    event_type: str
    event_date: datetime | None
    comments: str | None = None


@dataclass(frozen=True)
class ResManPreferences:
    """A guest card's MITS `CustomerPreferences`, as text the way ResMan holds it (None: not set)."""

    target_move_in_date: str | None = None
    desired_num_bedrooms: str | None = None
    desired_rent: str | None = None
    comment: str | None = None

    def is_empty(self) -> bool:
        return not any((self.target_move_in_date, self.desired_num_bedrooms, self.desired_rent, self.comment))


@dataclass(frozen=True)
class ResManProspect:
    """A guest card. `customer_type` is the MITS `Customer Type` lower-cased (`prospect`, `lost`, ...)."""

    prospect_id: str
    person_id: str | None = None
    customer_type: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    modified_at: datetime | None = None
    events: Sequence[ResManEvent] = field(default_factory=tuple)
    preferences: ResManPreferences = field(default_factory=ResManPreferences)

    def event(self, event_id: str) -> ResManEvent | None:
        return next((e for e in self.events if e.event_id == event_id), None)


@dataclass(frozen=True)
class ResManProperty:
    property_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ResManNamedItem:
    """An `{ID, Name}` pair: prospect sources, lost-prospect reasons, employees."""

    id: str
    name: str
    email: str | None = None
    security_group: str | None = None
