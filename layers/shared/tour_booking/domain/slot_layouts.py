"""The cache refresh's fast path to slots.compute_slots: a day's slot layout (starts, ends, JSON text) depends
only on the schedule and the date, so it is computed once per container with compute_slots itself and kept;
each run then applies only what moves: today and the horizon, the minimum notice, and the occupancy peaks.

`days_json` gives exactly what availability_cache_repository.insert_missing_days would store for
compute_slots(schedule, days, booked, now) (tests/unit/test_slot_layouts.py checks it against the real thing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta

from tour_booking.domain.availability import slot_json
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import compute_slots, local_today

# (schedule as JSON, date) -> [(UTC start, UTC end, JSON text of the slot up to its `remaining` value)]
_layouts: dict[tuple[str, date], list[tuple[datetime, datetime, str]]] = {}
_LAYOUTS_LIMIT = 100_000
_LAYOUT_FIELDS = {"timezone", "slot_minutes", "buffer_minutes", "capacity", "tour_types", "weekly_hours", "blackouts"}


def _layout(schedule: TourSchedule, key: str, day: date) -> list[tuple[datetime, datetime, str]]:
    found = _layouts.get((key, day))
    if found is None:
        # Every slot of the day: no notice, no horizon, "now" at the day's local midnight; blackouts apply.
        unbounded = schedule.model_copy(update={"min_notice_minutes": 0, "horizon_days": 365})
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=schedule.zone).astimezone(UTC)
        found = []
        for slot in compute_slots(unbounded, [day], {}, midnight)[day]:
            # slot_json ends with `remaining`: the text stops where each run writes that value.
            text = json.dumps({k: v for k, v in slot_json(slot).items() if k != "remaining"})
            found.append((slot.start.astimezone(UTC), slot.end.astimezone(UTC), text[:-1] + ', "remaining": '))
        if len(_layouts) >= _LAYOUTS_LIMIT:
            _layouts.clear()
        _layouts[(key, day)] = found
    return found


def _offered(
    schedule: TourSchedule, days: Iterable[date], now: datetime
) -> Iterator[tuple[date, list[tuple[datetime, datetime, str]]]]:
    """Per day, the layout's slots still offered at `now` (the horizon and the minimum notice applied)."""
    key = schedule.model_dump_json(include=_LAYOUT_FIELDS)  # properties with the same hours share layouts
    today = local_today(schedule, now)
    last = today + timedelta(days=schedule.horizon_days)
    earliest = now + timedelta(minutes=schedule.min_notice_minutes)
    for day in days:
        offered = []
        if today <= day <= last:
            offered = [slot for slot in _layout(schedule, key, day) if slot[0] >= earliest]
        yield day, offered


def slot_bounds(schedule: TourSchedule, days: Iterable[date], now: datetime) -> list[tuple[datetime, datetime]]:
    """(start, end) of every slot days_json would store: what to ask the occupancy rule about."""
    return [(start, end) for _, slots in _offered(schedule, days, now) for start, end, _ in slots]


def days_json(schedule: TourSchedule, days: Iterable[date], booked: Mapping[datetime, int], now: datetime) -> str:
    """The days as the cache stores them: `[{"date": ..., "slots": [...]}, ...]` (JSON text). `booked` maps a
    slot's start to its peak occupancy (occupancy_repository.slot_peaks), as in slots.day_slots."""
    capacity = schedule.capacity
    booked_utc = {start.astimezone(UTC): count for start, count in booked.items()}
    parts = []
    for day, offered in _offered(schedule, days, now):
        slots = ", ".join(f"{text}{max(capacity - booked_utc.get(start, 0), 0)}}}" for start, _, text in offered)
        parts.append(f'{{"date": "{day.isoformat()}", "slots": [{slots}]}}')
    return "[" + ", ".join(parts) + "]"
