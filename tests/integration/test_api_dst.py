"""Availability and booking through the handler on daylight-saving switch days.

The 2026 switch days are past by the time these tests run (their slot computation is covered with a fixed
clock in tests/unit/test_slots_dst.py); here the next ones within the booking horizon are used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from tests.api_events import call
from tests.builders import ALL_DAYS, new_conversation, new_property, tour_body

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


def test_spring_forward_45_minute_slots_cannot_double_book_one_instant(clean_db: str) -> None:
    # given New York's next spring-forward night, 45-minute slots from 00:00 to 06:00 and capacity 1
    day = next_switch(3, "spring")
    hours = {d: [["00:00", "06:00"]] for d in ALL_DAYS}
    property_id = new_property(weekly_hours=hours, horizon_days=365, capacity=1, slot_minutes=45)
    offered = [s[11:] for s in starts(property_id, day)]
    # then 01:30 EST (until 03:15 EDT) is offered and 03:00 EDT, inside it, is not
    assert "01:30:00-05:00" in offered
    assert "03:00:00-04:00" not in offered
    conversation_id = new_conversation(clean_db)
    # when 01:30 EST is booked, then 03:00 EDT is tried (by SQL too: the database counts instants, not starts)
    assert call("POST", "/tours", tour_body(property_id, conversation_id, f"{day}T01:30:00-05:00")).status == 201
    assert call("POST", "/tours", tour_body(property_id, conversation_id, f"{day}T03:00:00-04:00")).status == 422
    with psycopg.connect(clean_db, autocommit=True) as conn, pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(
            b"INSERT INTO tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, "
            b"prospect_info) VALUES (%s, %s, 'in_person', %s, '{}')",
            (conversation_id, property_id, f"{day}T03:00:00-04:00"),
        )
    # then 03:45 EDT, after it, is still bookable
    assert call("POST", "/tours", tour_body(property_id, conversation_id, f"{day}T03:45:00-04:00")).status == 201
