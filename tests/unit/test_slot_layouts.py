"""The refresh's cached slot layouts give exactly what compute_slots gives, whatever the clock and bookings."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from tour_booking.domain.availability import slot_json
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slot_layouts import days_json
from tour_booking.domain.slots import compute_slots

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule(zone: str, **overrides: object) -> TourSchedule:
    body: dict[str, object] = {
        "timezone": zone,
        "slot_minutes": 45,
        "buffer_minutes": 15,
        "min_notice_minutes": 90,
        "capacity": 3,
        "tour_types": ["in_person", "virtual"],
        "weekly_hours": {d: [["00:30", "04:00"], ["09:00", "17:00"]] for d in ALL_DAYS},
        "blackouts": [{"start_date": "2026-03-10", "end_date": "2026-03-11"}],
        "horizon_days": 10,
    }
    body.update(overrides)
    return TourSchedule.model_validate(body)


@pytest.mark.parametrize("zone", ["America/New_York", "America/Phoenix", "Europe/London", "Australia/Lord_Howe"])
@pytest.mark.parametrize("first", [date(2026, 3, 5), date(2026, 10, 28)])
def test_days_json_matches_compute_slots(zone: str, first: date) -> None:
    rng = random.Random(f"{zone}{first}")
    for notice, horizon in [(0, 30), (90, 10), (600, 3)]:
        rules = schedule(zone, min_notice_minutes=notice, horizon_days=horizon)
        days = [first + timedelta(days=i) for i in range(14)]
        for _ in range(5):
            # given a random clock during the DST weeks and random bookings on the grid
            now = datetime.combine(first, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 3 * 1440))
            expected = compute_slots(rules, days, {}, now)
            starts = [s.start for slots in expected.values() for s in slots]
            booked = {start: rng.randint(1, 5) for start in rng.sample(starts, min(len(starts), 20))}
            expected = compute_slots(rules, days, booked, now)
            # when the layouts give the days
            got = json.loads(days_json(rules, days, booked, now))
            # then they are the very days compute_slots gives, in the cache's form
            assert got == [
                {"date": day.isoformat(), "slots": [slot_json(s) for s in slots]} for day, slots in expected.items()
            ]
