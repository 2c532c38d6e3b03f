"""Slot computation around daylight-saving switches (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from tour_booking.domain.availability import Slot
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import day_slots, find_slot

NIGHT = [["00:00", "04:00"]]
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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


# ------------------------------------------------------------------ issue 14, case 2: no overlap in real time


def switch_days(zone: str, year: int) -> list[date]:
    """The local dates of `zone` on which the UTC offset changes (DST and other transitions)."""
    tz = ZoneInfo(zone)
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        if midnight.utcoffset() != next_midnight.utcoffset():
            days.append(day)
        day += timedelta(days=1)
    return days


def test_new_york_spring_forward_45_minute_slots_do_not_overlap() -> None:
    # given New York on 2027-03-14 (02:00 EST becomes 03:00 EDT), 45-minute slots from 00:00 to 06:00
    rules = schedule("America/New_York", slot_minutes=45, weekly_hours={"sun": [["00:00", "06:00"]]})
    slots = day_slots(rules, date(2027, 3, 14), {}, datetime(2027, 3, 1, tzinfo=UTC))
    starts = local_times(slots)
    # then 01:30 EST (ending 03:15 EDT) is offered and 03:00 EDT, inside it, is not
    assert "01:30-0500" in starts
    assert slots[starts.index("01:30-0500")].end.strftime("%H:%M%z") == "03:15-0400"
    assert "03:00-0400" not in starts
    assert starts[starts.index("01:30-0500") + 1] == "03:45-0400"
    assert find_slot(rules, datetime(2027, 3, 14, 7, 0, tzinfo=UTC), {}, datetime(2027, 3, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Dublin", "Pacific/Chatham", "Australia/Lord_Howe"])
def test_no_two_slots_overlap_in_real_time_on_any_switch_day(zone: str) -> None:
    # given every day of 2027 and 2028 on which the zone's offset changes, and several grids over the night
    days = switch_days(zone, 2027) + switch_days(zone, 2028)
    assert len(days) >= 4
    checked = 0
    for day in days:
        for minutes in (20, 30, 45, 60, 90):
            for buffer in (0, 10):
                rules = schedule(
                    zone,
                    slot_minutes=minutes,
                    buffer_minutes=buffer,
                    weekly_hours={d: [["00:00", "05:00"], ["05:00", "12:00"]] for d in WEEK},
                    horizon_days=365,
                )
                # when the day's slots are laid out
                slots = day_slots(rules, day, {}, datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(2))
                periods = sorted((s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in slots)
                # then each lasts the slot length in real time and none starts before the previous one ended
                assert all(end - start == timedelta(minutes=minutes) for start, end in periods)
                assert all(later[0] >= earlier[1] for earlier, later in pairwise(periods)), (day, minutes, buffer)
                checked += len(periods)
    assert checked > 0
