"""Availability answers and tour schedules for the booking API.

Days come from calendar_availability_cache; a day missing there is computed from the schedule and the
occupancy rule (occupancy_repository) and stored on the spot (except past days and days past the booking
horizon, which a later day's horizon would make wrong). The store happens under the property's occupancy lock
and only while the schedule is still the one the day was computed from, so neither a booking nor a schedule
change can slip between the count and the store. Cached slots are filtered at read time by the clock (minimum notice),
by remaining capacity and by tour type, so a cache written hours ago never offers a slot already gone.

Holds (sql/060): the cached `remaining` counts tours and staff appointments only, since a hold expires without any
write. The read query passes each cached day through `slots_with_live_holds`, which recounts the slots a live hold
overlaps; a property without live holds costs one index probe per read, and an expired hold counts no more from
the instant it expires.

One query reads the schedule and the cached days, and the hot path touches no pydantic model (the parsed
schedule is reused while its row is unchanged): the offered days come back as plain values, which the API writes
as JSON text (tour_booking.api.availability_answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from tour_booking import db
from tour_booking.db import (
    availability_cache_repository,
    availability_read,
    occupancy_repository,
    schedules_repository,
    tours_repository,
)
from tour_booking.domain.availability import Slot, answered_slot, slot_json
from tour_booking.domain.enums import TourType
from tour_booking.domain.errors import Problem, PropertyNotFoundError, UnknownTimeZoneError
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.schedule_conflicts import BookedTour, Conflict, find_conflicts
from tour_booking.domain.slots import compute_slots, local_today
from tour_booking.settings import get_settings


@dataclass(frozen=True, slots=True)
class OfferedDay:
    day: date
    slots: list[dict[str, Any]]  # each in domain.availability.answered_slot's shape
    last_updated: datetime  # in the property's zone
    stale: bool


@dataclass(frozen=True, slots=True)
class OfferedDays:
    property_id: UUID
    timezone: str
    days: list[OfferedDay]


def get_availability(
    property_id: UUID, start_date: date | None, days: int, tour_type: TourType | None, now: datetime | None = None
) -> OfferedDays:
    """The slots a prospect can book now, per local day."""
    now = now or datetime.now(UTC)
    stale_before = now - timedelta(minutes=2 * get_settings().cache_refresh_interval_minutes)
    wanted_type = str(tour_type) if tour_type is not None else None
    rows = availability_read.read_available_days(property_id, start_date, days, now)
    if not rows:
        raise PropertyNotFoundError(f"property {property_id} has no tour schedule")
    schedule = schedules_repository.schedule_from_row(rows[0])
    zone = schedule.zone
    missing = [row["day"] for row in rows if row["slots"] is None]
    computed = _compute_missing(property_id, schedule, rows[0]["updated_at"], missing, now) if missing else {}
    earliest = now + timedelta(minutes=schedule.min_notice_minutes)
    offered_days = []
    for row in rows:
        day: date = row["day"]
        if row["slots"] is not None:
            cached: list[dict[str, Any]] = json.loads(row["slots"])
            offered = [
                answered_slot(s)
                for s in cached
                if s["remaining"] > 0
                and (wanted_type is None or wanted_type in s["tour_types"])
                and datetime.fromisoformat(s["start"]) >= earliest
            ]
            last_updated: datetime = row["last_updated"]
        else:
            offered = [answered_slot(slot_json(s)) for s in computed[day] if _offered(s, wanted_type, earliest)]
            last_updated = now
        offered_days.append(OfferedDay(day, offered, last_updated.astimezone(zone), last_updated < stale_before))
    return OfferedDays(property_id, schedule.timezone, offered_days)


def _offered(slot: Slot, tour_type: str | None, earliest: datetime) -> bool:
    return slot.remaining > 0 and (tour_type is None or tour_type in slot.tour_types) and slot.start >= earliest


def _compute_missing(
    property_id: UUID, schedule: TourSchedule, version: datetime, missing: list[date], now: datetime
) -> dict[date, list[Slot]]:
    today = local_today(schedule, now)
    horizon_end = today + timedelta(days=schedule.horizon_days)
    with db.transaction() as conn:
        # Locked before counting: a booking committed before the lock is counted, one after it waits and then
        # corrects the stored day through its trigger (sql/functions/50_cached_slots.sql).
        occupancy_repository.lock(conn, property_id)
        layout = compute_slots(schedule, missing, {}, now)
        bounds = [(s.start, s.end) for slots in layout.values() for s in slots]
        # The cache counts no holds (they expire without a write); the answer counts the live ones.
        booked = occupancy_repository.slot_peaks(conn, property_id, bounds, count_holds=False)
        # A schedule replaced since it was read: the answer stands for the moment it was read, the cache is not
        # written from it (put_schedule dropped the cached days under this same lock).
        if schedules_repository.version(conn, property_id) == version:
            computed = compute_slots(schedule, missing, booked, now)
            storable = {day: slots for day, slots in computed.items() if today <= day <= horizon_end}
            availability_cache_repository.insert_missing_days(conn, property_id, storable, now)
        peaks = occupancy_repository.slot_peaks(conn, property_id, bounds)
    return compute_slots(schedule, missing, peaks, now)


def get_schedule(property_id: UUID) -> TourSchedule:
    with db.transaction() as conn:
        schedule = schedules_repository.get_schedule(conn, property_id)
    if schedule is None:
        raise PropertyNotFoundError(f"property {property_id} has no tour schedule")
    return schedule


def put_schedule(
    property_id: UUID, schedule: TourSchedule, now: datetime | None = None
) -> tuple[TourSchedule, list[Conflict]]:
    """Saves the schedule and answers the active future tours it no longer fits; the tours are left as they are."""
    now = now or datetime.now(UTC)
    with db.transaction() as conn:
        # Under the occupancy lock: a cache fill or refresh that read the old schedule either stored its days
        # before this (they are dropped here) or finds the schedule changed and stores nothing.
        occupancy_repository.lock(conn, property_id)
        if schedule.timezone not in schedules_repository.database_zone_names(conn):
            raise UnknownTimeZoneError(
                "the database does not know this time zone",
                Problem("timezone", "timezone_unknown", "not a time zone of the database"),
            )
        saved = schedules_repository.put_schedule(conn, property_id, schedule)
        # The cached days were derived from the old rules; they are recomputed on demand.
        availability_cache_repository.delete_days(conn, property_id)
        tours = [
            BookedTour(row["id"], row["tour_type"], row["scheduled_datetime"], row["scheduled_end"])
            for row in tours_repository.active_future_tours(conn, property_id, now)
        ]
        over = occupancy_repository.over_capacity_tours(conn, property_id, now) if tours else set()
    return saved, find_conflicts(saved, tours, over)
