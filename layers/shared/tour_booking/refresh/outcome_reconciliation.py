"""Our tours reconciled with what ResMan knows of them, one property at a time, in the caller's transaction.

- `apply_resman_outcomes`: what a window of ResMan's changed guest cards says about our tours (a Show, a
  Cancel, a lost mark: domain.tour_outcomes), and the appointments staff booked on those cards, which block
  their slots;
- `apply_no_shows`: the no-show rule (domain.tour_outcomes: active tours whose start is NO_SHOW_GRACE_MINUTES
  past), applied once ResMan has been read up to now, so that a missing Show is really missing.

Both take the property's occupancy lock before any tour row (the order of a PATCH, so the two never deadlock),
and move a tour only out of `scheduled` or `confirmed` (a concurrent cancel or finish wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from tour_booking import db
from tour_booking.db import occupancy_repository, outbox_repository, staff_appointments_repository, tours_repository
from tour_booking.domain.enums import TourStatus
from tour_booking.domain.tour_outcomes import (
    GuestCardLike,
    TourState,
    decide_outcomes,
    no_show_due_before,
    staff_appointments,
)
from tour_booking.settings import Settings


@dataclass
class Reconciled:
    """What one reconciliation changed."""

    completed: int = 0
    cancelled: int = 0
    no_show: int = 0
    staff_appointments_changed: int = 0


def no_show_grace(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.no_show_grace_minutes)


def apply_resman_outcomes(
    conn: db.Connection,
    property_id: UUID,
    cards: Sequence[GuestCardLike],
    *,
    settings: Settings,
    now: datetime,
    today_utc: datetime,
) -> Reconciled:
    """The outcomes these cards give our tours, and the staff appointments they hold from `today_utc` on."""
    # The tour events of these outcomes were logged by staff in ResMan.
    outbox_repository.set_origin(conn, "resman")
    reconciled, tours = _decide(conn, property_id, cards, settings, now, no_shows=False)
    if cards:
        held = staff_appointments(cards, tours, settings.resman_appointment_event_type, today_utc)
        reconciled.staff_appointments_changed = staff_appointments_repository.replace_for_prospects(
            conn, property_id, held
        )
    return reconciled


def apply_no_shows(conn: db.Connection, property_id: UUID, settings: Settings, now: datetime) -> Reconciled:
    """The property's active tours that the no-show rule finishes at `now`."""
    # The tour events of these outcomes come from our own rule, not from anybody in ResMan.
    outbox_repository.set_origin(conn, "system")
    reconciled, _ = _decide(conn, property_id, [], settings, now, no_shows=True)
    return reconciled


def _decide(
    conn: db.Connection,
    property_id: UUID,
    cards: Sequence[GuestCardLike],
    settings: Settings,
    now: datetime,
    *,
    no_shows: bool,
) -> tuple[Reconciled, list[TourState]]:
    grace = no_show_grace(settings)
    occupancy_repository.lock(conn, property_id)
    rows = tours_repository.tours_for_outcomes(
        conn, property_id, [c.prospect_id for c in cards], no_show_due_before(now, grace) if no_shows else None
    )
    tours = [
        TourState(
            id=row["id"],
            status=TourStatus(row["status"]),
            scheduled_datetime=row["scheduled_datetime"],
            resman_prospect_id=row["resman_prospect_id"],
            resman_appointment_id=row["resman_appointment_id"],
        )
        for row in rows
    ]
    decided = decide_outcomes(
        tours,
        cards,
        settings.resman_appointment_event_type,
        now,
        grace,
        no_shows=no_shows,
        reactivate_type=settings.resman_reactivate_event_type,
    )
    reconciled = Reconciled()
    for tour_id in tours_repository.record_outcomes(conn, {k: str(v) for k, v in decided.items()}):
        status = decided[tour_id]
        if status is TourStatus.COMPLETED:
            reconciled.completed += 1
        elif status is TourStatus.CANCELLED:
            reconciled.cancelled += 1
        else:
            reconciled.no_show += 1
    return reconciled, tours
