"""Holds: a seat kept while the chat collects the prospect's details (README "Booking API", Holds).

A hold is refused like a booking of the same slot (past, off the grid, closed, tour type not offered, full); the
database's hold trigger (sql/060) has the last word on capacity and on the 3 live holds a conversation may keep, so
racing holders and bookers never take more seats than the capacity. Nothing here expires holds: a hold stops
counting at `expires_at` by itself, and the cache refresh deletes the expired rows.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID

from tour_booking import db
from tour_booking.booking.booking_errors import HoldNotFoundError, SlotUnavailableError, TooManyHoldsError
from tour_booking.booking.booking_requests import CreateHoldRequest
from tour_booking.booking.booking_service import open_slot
from tour_booking.db import holds_repository, schedules_repository
from tour_booking.db.holds_repository import Hold
from tour_booking.domain.errors import Problem, PropertyNotFoundError
from tour_booking.settings import get_settings


def create_hold(request: CreateHoldRequest, now: datetime | None = None, ttl: timedelta | None = None) -> Hold:
    """Takes one seat of the slot for `ttl` (default: the request's ttl_seconds, else HOLD_TTL_SECONDS). The hold's
    times are in the property's time zone."""
    now = now or datetime.now(UTC)
    if ttl is None:
        ttl = timedelta(seconds=request.ttl_seconds or get_settings().hold_ttl_seconds)
    with db.transaction() as conn:
        schedule = schedules_repository.get_schedule(conn, request.property_id)
        if schedule is None:
            raise PropertyNotFoundError(f"property {request.property_id} has no tour schedule")
        slot = open_slot(schedule, request.tour_type, request.scheduled_datetime, now)
        try:
            hold = holds_repository.insert_hold(
                conn,
                property_id=request.property_id,
                conversation_id=request.conversation_id,
                tour_type=str(request.tour_type),
                start=slot.start,
                end=slot.end,
                ttl=ttl,
            )
        except holds_repository.HoldSlotTakenError as error:
            raise SlotUnavailableError(
                "the slot is full", Problem("scheduled_datetime", "slot_full", "slot is full")
            ) from error
        except holds_repository.HoldLimitError as error:
            raise TooManyHoldsError(
                "this conversation already holds the most slots allowed at once; book or release one",
                Problem("conversation_id", "too_many_holds", "too many live holds"),
            ) from error
    zone = schedule.zone
    return dataclasses.replace(
        hold,
        scheduled_datetime=hold.scheduled_datetime.astimezone(zone),
        scheduled_end=hold.scheduled_end.astimezone(zone),
        expires_at=hold.expires_at.astimezone(zone),
        created_at=hold.created_at.astimezone(zone),
    )


def release_hold(hold_id: UUID) -> None:
    """Frees the seat at once; an unknown, expired or consumed hold is hold_not_found."""
    with db.transaction() as conn:
        released = holds_repository.release(conn, hold_id)
    if not released:
        raise HoldNotFoundError(f"no live hold {hold_id}")
