"""Slot computation around daylight-saving switches (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from tour_booking.models.availability import Slot
from tour_booking.models.schedule import TourSchedule
from tour_booking.slots import day_slots, find_slot

NIGHT = [["00:00", "04:00"]]


def schedule(zone: str, **overrides: object) -> TourSchedule:
    data: dict[str, object] = {
        "timezone": zone,
        "slot_minutes": 30,
        "capacity": 2,
        "tour_types": ["in_person"],
        "weekly_hours": {day: NIGHT for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "horizon_days": 60,
    }
    data.update(overrides)
    return TourSchedule.model_validate(data)


NOW = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)


def local_times(slots: list[Slot]) -> list[str]:
    return [slot.start.strftime("%H:%M%z") for slot in slots]


def test_spring_forward_skips_the_missing_hour_in_new_york() -> None:
    # given New York on 2026-03-08, when 02:00-03:00 does not exist
    slots = day_slots(schedule("America/New_York"), date(2026, 3, 8), {}, NOW)
    # then 02:00 and 02:30 are not offered, and every slot lasts 30 real minutes
    assert local_times(slots) == ["00:00-0500", "00:30-0500", "01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]
    # (aware datetimes of one zone subtract as wall clocks; compare instants in UTC)
    assert all(slot.end.astimezone(UTC) - slot.start.astimezone(UTC) == timedelta(minutes=30) for slot in slots)


def test_fall_back_offers_the_repeated_hour_once_in_new_york() -> None:
    slots = day_slots(schedule("America/New_York"), date(2026, 11, 1), {}, datetime(2026, 10, 20, tzinfo=UTC))
    starts_utc = [slot.start.astimezone(UTC) for slot in slots]
    assert len(slots) == 8
    assert len(set(starts_utc)) == 8
    assert local_times(slots)[2:4] == ["01:00-0400", "01:30-0400"]
    # the 01:30 slot ends at 01:00 standard time: 30 real minutes later
    assert slots[3].end.astimezone(UTC) - starts_utc[3] == timedelta(minutes=30)


def test_the_second_occurrence_of_a_repeated_time_is_not_a_slot() -> None:
    sched = schedule("America/New_York")
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    now = datetime(2026, 10, 20, tzinfo=UTC)
    assert find_slot(sched, first, {}, now) is not None
    assert find_slot(sched, second, {}, now) is None


def test_phoenix_has_no_switch() -> None:
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        now = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=3)
        slots = day_slots(schedule("America/Phoenix"), day, {}, now)
        assert len(slots) == 8
        assert {slot.start.utcoffset() for slot in slots} == {timedelta(hours=-7)}


def test_booked_tours_reduce_remaining_whatever_offset_they_are_given_in() -> None:
    sched = schedule("America/New_York")
    minus_five = timezone(timedelta(hours=-5))
    booked = {datetime(2026, 3, 8, 7, 0, tzinfo=UTC): 2, datetime(2026, 3, 8, 0, 0, tzinfo=minus_five): 1}
    slots = {slot.start.strftime("%H:%M"): slot.remaining for slot in day_slots(sched, date(2026, 3, 8), booked, NOW)}
    assert slots["03:00"] == 0  # 07:00Z is 03:00 EDT
    assert slots["00:00"] == 1  # 00:00-05:00 is 00:00 EST
    assert slots["01:00"] == 2


def test_notice_horizon_and_blackouts_close_slots() -> None:
    sched = schedule(
        "America/New_York",
        min_notice_minutes=90,
        horizon_days=5,
        blackouts=[{"start_date": "2026-02-23", "end_date": "2026-02-23"}],
    )
    now = datetime(2026, 2, 20, 5, 0, tzinfo=UTC)  # 00:00 local
    today = day_slots(sched, date(2026, 2, 20), {}, now)
    assert local_times(today)[0] == "01:30-0500"
    assert day_slots(sched, date(2026, 2, 23), {}, now) == []
    assert day_slots(sched, date(2026, 2, 26), {}, now) == []
    assert day_slots(sched, date(2026, 2, 19), {}, now) == []
    assert day_slots(sched, date(2026, 2, 25), {}, now) != []
