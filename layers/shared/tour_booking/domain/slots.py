"""Slot computation: a pure function of a schedule, dates, the tours already booked and the clock.

Slots are laid out on the property's local wall clock: from each opening, every slot_minutes + buffer_minutes of
wall-clock time. On a spring-forward day a local time that does not exist is not offered; on a fall-back day
each local time is offered once (its first occurrence). Offered slots never overlap in real time: a grid start
that falls before the real end of the previous slot of the day, as after a spring-forward gap, is not offered.

`booked` maps a slot's start (any offset) to the most occupants at one instant of its period, as the database's
occupancy rule counts them (occupancy_repository.slot_peaks); a slot's `remaining` is capacity minus that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tour_booking.domain.availability import Slot
from tour_booking.domain.schedule import WEEKDAYS, TourSchedule


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
    """Every slot of one local date, with `remaining` = capacity minus the peak occupancy of its period.

    Days blacked out, past the horizon, before today, and starts inside the minimum notice give no slots.
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
    free_from: datetime | None = None  # the real end of the previous slot of the day
    for opens, closes in schedule.windows(WEEKDAYS[day.weekday()]):
        cursor = datetime.combine(day, opens)
        closing = datetime.combine(day, closes)
        closing_utc = closing.replace(tzinfo=zone).astimezone(UTC)
        while cursor + length <= closing:
            if _exists(cursor, zone):
                start = cursor.replace(tzinfo=zone)  # fold=0: the first of a repeated fall-back hour
                start_utc = start.astimezone(UTC)
                fits = start_utc + length <= closing_utc and (free_from is None or start_utc >= free_from)
                if fits:
                    free_from = start_utc + length
                if fits and start_utc >= earliest:
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


def on_grid(schedule: TourSchedule, start: datetime) -> bool:
    """Whether `start` is a slot start of the schedule's weekly grid, whatever notice, horizon or blackouts say."""
    relaxed = schedule.model_copy(update={"min_notice_minutes": 0, "blackouts": [], "horizon_days": 365})
    return find_slot(relaxed, start, {}, start - timedelta(seconds=1)) is not None


def within_hours(schedule: TourSchedule, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies inside one opening window of its local start day, in real time."""
    zone = schedule.zone
    day = start.astimezone(zone).date()
    for opens, closes in schedule.windows(WEEKDAYS[day.weekday()]):
        if datetime.combine(day, opens, zone) <= start and end <= datetime.combine(day, closes, zone):
            return True
    return False
