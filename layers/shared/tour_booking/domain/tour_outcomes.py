"""What ResMan's guest cards say about our tours: pure decisions, no I/O.

ResMan has no tour status, so outcomes are read from a prospect's events:

- `completed`: a `Show` event dated at or after the appointment (less SHOW_EARLY_TOLERANCE: a prospect who
  arrives a little early and is checked in at once still toured), read once the tour has started by our clock,
  or up to SHOW_EARLY_TOLERANCE before (that early check-in is the tour starting). A tour days ahead is never
  completed, whatever date a Show carries, as DomIQ's PATCH may set `completed` or `no_show` only once the tour
  has started. The Show's own date is not compared with our clock: ResMan's clock may run ahead of ours.
  (Waiting for the exact start instead would lose an early check-in: the watermark moves past its prospect.)
- `cancelled`: only by what staff logged after the tour's appointment (ResMan lists a prospect's events in the
  order they were logged). A `Cancel` event listed after it (a Cancel names no appointment, so it cancels the
  appointment(s) logged before it, except a Cancel we posted for another of the prospect's tours, which names
  that tour in its comments); or a lost mark after it: the card is `lost` now (the sync reactivates a lost card
  in the very post that adds a new tour's appointment, so a card lost now was marked lost after it), or a
  reactivation (RESMAN_REACTIVATE_EVENT_TYPE) is logged after it (the card was lost in between; another tour
  reactivated it). A lost mark or a Cancel logged before the appointment (a returning prospect) never cancels
  the tour. A Show wins over both: a prospect who toured and then was marked lost toured.
- `no_show`: the no-show rule, all of it here (`no_show_due_before`, `is_no_show`): a tour still `scheduled` or
  `confirmed` once the grace period (NO_SHOW_GRACE_MINUTES) has passed since its start, with neither of the
  above. Decided from our own rows, since the prospect may not have changed in ResMan at all, and only once
  ResMan has been read up to now (a missing Show is then really missing).

Status rules: outcomes from ResMan move a tour only out of `scheduled` or `confirmed`
(RESMAN_TRANSITIONS). Unlike DomIQ's PATCH, a `scheduled` tour may become `completed` or `no_show` directly:
`confirmed` is DomIQ's own step, ResMan has no such notion, and a tour that happened is completed whether or
not anybody confirmed it first. Status still only moves forward; a finished tour is never reopened (a late
Show after a no-show is ignored).

Appointment events that are none of our tours' were booked by staff in ResMan: they block their slots (see
staff_appointments).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from tour_booking.domain.enums import TourStatus
from tour_booking.domain.guest_card import CANCEL_EVENT, SHOW_EVENT, is_lost, marked_tour_id

SHOW_EARLY_TOLERANCE = timedelta(minutes=30)

_FROM_ACTIVE = frozenset({TourStatus.COMPLETED, TourStatus.CANCELLED, TourStatus.NO_SHOW})
RESMAN_TRANSITIONS: Mapping[TourStatus, frozenset[TourStatus]] = {
    TourStatus.SCHEDULED: _FROM_ACTIVE,
    TourStatus.CONFIRMED: _FROM_ACTIVE,
    TourStatus.COMPLETED: frozenset(),
    TourStatus.CANCELLED: frozenset(),
    TourStatus.NO_SHOW: frozenset(),
}


class CardEventLike(Protocol):
    """What the rules read of a card's event: a guest_card.CardEvent, or a test's stand-in."""

    @property
    def event_id(self) -> str | None: ...
    @property
    def event_type(self) -> str: ...
    @property
    def event_date(self) -> datetime | None: ...
    @property
    def comments(self) -> str | None: ...


class GuestCardLike(Protocol):
    """What the rules read of a card: a guest_card.GuestCard, or a test's stand-in."""

    @property
    def prospect_id(self) -> str: ...
    @property
    def customer_type(self) -> str | None: ...
    @property
    def events(self) -> Sequence[CardEventLike]: ...


@dataclass(frozen=True)
class TourState:
    """The columns of a tour that outcomes are decided from."""

    id: UUID
    status: TourStatus
    scheduled_datetime: datetime
    resman_prospect_id: str | None
    resman_appointment_id: str | None


def _is(event: CardEventLike, event_type: str) -> bool:
    return event.event_type.strip().lower() == event_type.lower()


def appointment_index(tour: TourState, prospect: GuestCardLike, appointment_type: str) -> int | None:
    """Position of the tour's own appointment among the prospect's events: by event id when the sync stored
    it, else by start. None when ResMan does not hold the tour's current appointment (e.g. a reschedule not
    synced yet), in which case ResMan's events say nothing about it yet."""
    for index, event in enumerate(prospect.events):
        if not _is(event, appointment_type) or event.event_date is None:
            continue
        if tour.resman_appointment_id is not None and event.event_id != tour.resman_appointment_id:
            continue
        if event.event_date == tour.scheduled_datetime:
            return index
    return None


def resman_outcome(
    tour: TourState,
    prospect: GuestCardLike,
    appointment_type: str,
    now: datetime,
    reactivate_type: str = "ReActivate",
) -> TourStatus | None:
    """The status ResMan gives the tour at `now`, or None when ResMan says nothing new about it."""
    if tour.resman_prospect_id != prospect.prospect_id:
        return None
    index = appointment_index(tour, prospect, appointment_type)
    if index is None:
        return None
    events = prospect.events
    start = tour.scheduled_datetime
    shown = (
        any(
            _is(e, SHOW_EVENT) and e.event_date is not None and e.event_date >= start - SHOW_EARLY_TOLERANCE
            for e in events
        )
        and now >= start - SHOW_EARLY_TOLERANCE
    )
    later = events[index + 1 :]
    lost_after = is_lost(prospect) or any(_is(e, reactivate_type) for e in later)
    cancelled = lost_after or any(_cancels(e, tour.id) for e in later)
    outcome = TourStatus.COMPLETED if shown else TourStatus.CANCELLED if cancelled else None
    return outcome if outcome is not None and allowed(tour.status, outcome) else None


def _cancels(event: CardEventLike, tour_id: UUID) -> bool:
    return _is(event, CANCEL_EVENT) and marked_tour_id(event.comments) in (None, tour_id)


def allowed(current: TourStatus, new: TourStatus) -> bool:
    return new in RESMAN_TRANSITIONS[current]


def no_show_due_before(now: datetime, grace: timedelta) -> datetime:
    """The no-show candidates are the active tours that started before this (the rows loaded for is_no_show)."""
    return now - grace


def is_no_show(tour: TourState, now: datetime, grace: timedelta) -> bool:
    return allowed(tour.status, TourStatus.NO_SHOW) and tour.scheduled_datetime + grace <= now


def decide_outcomes(
    tours: Iterable[TourState],
    prospects: Iterable[GuestCardLike],
    appointment_type: str,
    now: datetime,
    grace: timedelta,
    *,
    no_shows: bool,
    reactivate_type: str = "ReActivate",
) -> dict[UUID, TourStatus]:
    """New statuses by tour id: ResMan's outcomes first, then no-shows among the tours still active (only when
    `no_shows`: ResMan has been read up to `now`, so a missing Show is really missing)."""
    by_prospect = {p.prospect_id: p for p in prospects}
    changes: dict[UUID, TourStatus] = {}
    for tour in tours:
        prospect = by_prospect.get(tour.resman_prospect_id) if tour.resman_prospect_id else None
        outcome = None if prospect is None else resman_outcome(tour, prospect, appointment_type, now, reactivate_type)
        if outcome is None and no_shows and is_no_show(tour, now, grace):
            outcome = TourStatus.NO_SHOW
        if outcome is not None:
            changes[tour.id] = outcome
    return changes


def staff_appointments(
    prospects: Iterable[GuestCardLike],
    tours: Iterable[TourState],
    appointment_type: str,
    not_before: datetime,
) -> dict[str, list[tuple[str, datetime]]]:
    """The appointments staff booked in ResMan, as (event id, start) per prospect id (an empty list clears what
    was stored for the prospect): every appointment event that is none of our tours' (by event id, or by
    prospect and start while the sync has not stored the event id yet), still held (a lost prospect holds
    none; a Cancel releases the appointments logged before it; a Show means it happened) and not past."""
    our_events = {t.resman_appointment_id for t in tours if t.resman_appointment_id}
    our_starts = {(t.resman_prospect_id, t.scheduled_datetime) for t in tours if not t.resman_appointment_id}
    found: dict[str, list[tuple[str, datetime]]] = {}
    for prospect in prospects:
        held: list[tuple[str, datetime]] = []
        if not is_lost(prospect):
            for event in prospect.events:
                if _is(event, CANCEL_EVENT):
                    held.clear()
                elif _is(event, appointment_type) and event.event_id and event.event_date is not None:
                    held.append((event.event_id, event.event_date))
        shows = [e.event_date for e in prospect.events if _is(e, SHOW_EVENT) and e.event_date is not None]
        found[prospect.prospect_id] = [
            (event_id, start)
            for event_id, start in held
            if start >= not_before
            and event_id not in our_events
            and (prospect.prospect_id, start) not in our_starts
            and not any(shown >= start - SHOW_EARLY_TOLERANCE for shown in shows)
        ]
    return found
