"""What a new tour schedule no longer fits: a pure function of the schedule, the active future tours and which of
them the database's occupancy rule finds over capacity (occupancy_repository.over_capacity_tours).

A schedule change never moves or cancels a tour; it reports each tour it leaves behind, once, with the
first reason that applies in this order: the tour type is withdrawn, the day is blacked out, the tour is outside
the opening hours, its start is off the slot grid, it does not fit the capacity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import on_grid, within_hours


class ConflictReason(StrEnum):
    TOUR_TYPE_WITHDRAWN = "tour_type_withdrawn"
    BLACKOUT = "blackout"
    OUTSIDE_HOURS = "outside_hours"
    OFF_GRID = "off_grid"
    OVER_CAPACITY = "over_capacity"


@dataclass(frozen=True)
class BookedTour:
    id: UUID
    tour_type: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Conflict:
    tour_id: UUID
    scheduled_datetime: datetime
    reason: ConflictReason


def reason_for(schedule: TourSchedule, tour: BookedTour, over_capacity: bool) -> ConflictReason | None:
    if tour.tour_type not in schedule.tour_types:
        return ConflictReason.TOUR_TYPE_WITHDRAWN
    if schedule.is_blacked_out(tour.start.astimezone(schedule.zone).date()):
        return ConflictReason.BLACKOUT
    if not within_hours(schedule, tour.start, tour.end):
        return ConflictReason.OUTSIDE_HOURS
    if not on_grid(schedule, tour.start):
        return ConflictReason.OFF_GRID
    if over_capacity:
        return ConflictReason.OVER_CAPACITY
    return None


def find_conflicts(schedule: TourSchedule, tours: Iterable[BookedTour], over_capacity: set[UUID]) -> list[Conflict]:
    conflicts = []
    for tour in tours:
        reason = reason_for(schedule, tour, tour.id in over_capacity)
        if reason is not None:
            conflicts.append(Conflict(tour.id, tour.start.astimezone(schedule.zone), reason))
    return conflicts
