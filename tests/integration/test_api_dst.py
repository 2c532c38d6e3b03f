"""Availability and booking through the handler on daylight-saving switch days.

The 2026 switch days are past by the time these tests run (their slot computation is covered with a fixed
clock in tests/unit/test_slots_dst.py); here the next ones within the booking horizon are used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.integration.api_events import call
from tests.integration.api_fixtures import ALL_DAYS, new_conversation, new_property, tour_body

NIGHT = {day: [["00:00", "04:00"]] for day in ALL_DAYS}


def next_switch(month: int, zone_rule: str) -> date:
    """The next US spring-forward (2nd Sunday of March) or fall-back (1st Sunday of November) day."""
    today = datetime.now(UTC).date()
    for year in (today.year, today.year + 1):
        first = date(year, month, 1)
        sunday = first + timedelta(days=(6 - first.weekday()) % 7)
        day = sunday + timedelta(days=7) if zone_rule == "spring" else sunday
        if day > today + timedelta(days=1):
            return day
    raise AssertionError("unreachable")


def starts(property_id: object, day: date) -> list[str]:
    answer = call("GET", f"/properties/{property_id}/availability?start_date={day}")
    assert answer.status == 200, answer.json
    return [slot["start"] for slot in answer.json["days"][0]["slots"]]


def test_new_york_spring_forward_day_skips_the_missing_hour(clean_db: str) -> None:
    day = next_switch(3, "spring")
    property_id = new_property(weekly_hours=NIGHT, horizon_days=365)
    assert [s[11:] for s in starts(property_id, day)] == [
        "00:00:00-05:00",
        "00:30:00-05:00",
        "01:00:00-05:00",
        "01:30:00-05:00",
        "03:00:00-04:00",
        "03:30:00-04:00",
    ]


def test_new_york_fall_back_day_offers_the_repeated_hour_once(clean_db: str) -> None:
    # given the fall-back day
    day = next_switch(11, "fall")
    property_id = new_property(weekly_hours=NIGHT, horizon_days=365, capacity=1)
    offered = starts(property_id, day)
    # then 8 slots, 01:00 and 01:30 once each (daylight time)
    assert len(offered) == 8
    assert [s[11:] for s in offered[2:4]] == ["01:00:00-04:00", "01:30:00-04:00"]
    # when 01:30 EDT is booked, it is taken; 01:30 EST (an hour later) is not a slot of the grid
    conversation_id = new_conversation(clean_db)
    first = f"{day}T01:30:00-04:00"
    second = f"{day}T01:30:00-05:00"
    assert call("POST", "/tours", tour_body(property_id, conversation_id, first)).status == 201
    assert call("POST", "/tours", tour_body(property_id, conversation_id, first)).status == 409
    assert call("POST", "/tours", tour_body(property_id, conversation_id, second)).status == 422
    assert first not in starts(property_id, day)


@pytest.mark.parametrize("month_rule", [(3, "spring"), (11, "fall")])
def test_phoenix_keeps_every_slot_on_the_switch_days(clean_db: str, month_rule: tuple[int, str]) -> None:
    day = next_switch(*month_rule)
    property_id = new_property(timezone="America/Phoenix", weekly_hours=NIGHT, horizon_days=365)
    offered = starts(property_id, day)
    assert len(offered) == 8
    assert {s[19:] for s in offered} == {"-07:00"}


def test_a_booking_given_in_utc_is_answered_with_the_local_offset(clean_db: str) -> None:
    day = next_switch(3, "spring")
    property_id = new_property(weekly_hours=NIGHT, horizon_days=365)
    answer = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), f"{day}T07:00:00Z"))
    assert answer.status == 201, answer.json
    assert answer.json["scheduled_datetime"] == f"{day}T03:00:00-04:00"
