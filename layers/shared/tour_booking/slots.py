"""Slot computation: a pure function of a schedule, dates, the tours already booked and the clock.

Slots are laid out on the property's local wall clock. On a spring-forward day a local time that does
not exist is not offered; on a fall-back day each local time is offered once (its first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tour_booking.models.availability import Slot
from tour_booking.models.schedule import WEEKDAYS, TourSchedule


def local_today(schedule: TourSchedule, now: datetime) -> date:
    return now.astimezone(schedule.zone).date()


def _exists(naive_local: datetime, zone: ZoneInfo) -> bool:
    """False for wall-clock times skipped by a spring-forward transition."""
    aware = naive_local.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive_local


def day_slots(
    schedule: TourSchedule,
    day: date,
    booked: Mapping[datetime, int],
    now: datetime,
) -> list[Slot]:
    """Every slot of one local date, with `remaining` = capacity minus the active tours at its start.

    `booked` maps a start instant (any offset) to its active tours. Days blacked out, past the horizon,
    before today, and starts inside the minimum notice give no slots.
    """
    zone = schedule.zone
    today = local_today(schedule, now)
    if day < today or day > today + timedelta(days=schedule.horizon_days) or schedule.is_blacked_out(day):
        return []
    earliest = now + timedelta(minutes=schedule.min_notice_minutes)
    length = timedelta(minutes=schedule.slot_minutes)
    step = length + timedelta(minutes=schedule.buffer_minutes)
    booked_utc = {start.astimezone(UTC): count for start, count in booked.items()}
    slots: list[Slot] = []
    for opens, closes in schedule.windows(WEEKDAYS[day.weekday()]):
        cursor = datetime.combine(day, opens)
        closing = datetime.combine(day, closes)
        while cursor + length <= closing:
            if _exists(cursor, zone):
                start = cursor.replace(tzinfo=zone)  # fold=0: the first of a repeated fall-back hour
                start_utc = start.astimezone(UTC)
                if start_utc >= earliest:
                    end = (start_utc + length).astimezone(zone)
                    taken = booked_utc.get(start_utc, 0)
                    slots.append(
                        Slot(
                            start=start,
                            end=end,
                            tour_types=list(schedule.tour_types),
                            capacity=schedule.capacity,
                            remaining=max(schedule.capacity - taken, 0),
                        )
                    )
            cursor += step
    return slots


def compute_slots(
    schedule: TourSchedule,
    days: Iterable[date],
    booked: Mapping[datetime, int],
    now: datetime,
) -> dict[date, list[Slot]]:
    return {day: day_slots(schedule, day, booked, now) for day in days}


def find_slot(schedule: TourSchedule, start: datetime, booked: Mapping[datetime, int], now: datetime) -> Slot | None:
    """The slot that starts at `start` (any offset), or None when `start` is not on the schedule's grid."""
    day = start.astimezone(schedule.zone).date()
    wanted = start.astimezone(UTC)
    for slot in day_slots(schedule, day, booked, now):
        if slot.start.astimezone(UTC) == wanted:
            return slot
    return None
