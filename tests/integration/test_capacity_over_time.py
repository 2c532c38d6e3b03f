"""Issue 14, cases 1 and 3: capacity counted over time, and schedule changes that report what they break.

A tour occupies its start to the end it was booked with plus the buffer; grid, slot length and hours changes
must not let a second tour into those instants, and the PUT answers the tours it no longer fits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import ALL_DAYS, future_slot, local_date, new_conversation, new_property, schedule_body, tour_body

HOURLY = {day: [["09:00", "17:00"]] for day in ALL_DAYS}
HALF_PAST = {day: [["09:30", "17:30"]] for day in ALL_DAYS}


def offered(property_id: uuid.UUID, day: str) -> dict[str, int]:
    answer = call("GET", f"/properties/{property_id}/availability?start_date={day}")
    assert answer.status == 200, answer.json
    return {slot["start"]: slot["remaining"] for slot in answer.json["days"][0]["slots"]}


def put(property_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    answer = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(**overrides))
    assert answer.status == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def book(property_id: uuid.UUID, conversation_id: uuid.UUID, start: str) -> int:
    return call("POST", "/tours", tour_body(property_id, conversation_id, start)).status


@pytest.mark.parametrize("cached", [False, True], ids=["computed", "cached"])
def test_moving_the_hours_half_an_hour_offers_nothing_that_overlaps_a_booked_tour(clean_db: str, cached: bool) -> None:
    # given capacity 1, hourly 60-minute tours from 09:00, and a tour booked at 10:00
    property_id = new_property(capacity=1, slot_minutes=60, weekly_hours=HOURLY)
    conversation_id = new_conversation(clean_db)
    ten = future_slot(hour=10)
    assert book(property_id, conversation_id, ten) == 201
    # when the team moves the hours to 09:30-17:30
    answer = put(property_id, capacity=1, slot_minutes=60, weekly_hours=HALF_PAST)
    day = ten[:10]
    if cached:
        offered(property_id, day)  # fills the cache; the second read below comes from it
    slots = offered(property_id, day)
    # then 09:30 and 10:30, which overlap 10:00-11:00, are not offered and cannot be booked; 11:30 can
    assert future_slot(hour=9, minute=30) not in slots
    assert future_slot(hour=10, minute=30) not in slots
    assert slots[future_slot(hour=11, minute=30)] == 1
    assert book(property_id, conversation_id, future_slot(hour=9, minute=30)) == 409
    assert book(property_id, conversation_id, future_slot(hour=10, minute=30)) == 409
    assert book(property_id, conversation_id, future_slot(hour=11, minute=30)) == 201
    # and the PUT named the 10:00 tour as off the new grid, leaving it booked
    assert [(c["scheduled_datetime"], c["reason"]) for c in answer["conflicts"]] == [(ten, "off_grid")]


def test_a_shorter_slot_length_keeps_the_booked_tour_s_end(clean_db: str) -> None:
    # given capacity 1, a 60-minute tour at 10:00
    property_id = new_property(capacity=1, slot_minutes=60, weekly_hours=HOURLY)
    conversation_id = new_conversation(clean_db)
    ten = future_slot(hour=10)
    created = call("POST", "/tours", tour_body(property_id, conversation_id, ten)).json
    assert created["scheduled_end"] == future_slot(hour=11)
    # when slots become 30 minutes long
    assert put(property_id, capacity=1, slot_minutes=30, weekly_hours=HOURLY)["conflicts"] == []
    # then 10:30 is still taken by the tour's second half, 11:00 is free
    slots = offered(property_id, ten[:10])
    assert future_slot(hour=10, minute=30) not in slots
    assert slots[future_slot(hour=11)] == 1
    assert book(property_id, conversation_id, future_slot(hour=10, minute=30)) == 409
    # and the tour JSON still shows the end it was booked with
    assert call("GET", f"/tours/{created['id']}").json["scheduled_end"] == future_slot(hour=11)


def test_the_buffer_occupies_time_after_the_tour(clean_db: str) -> None:
    # given capacity 1, 30-minute tours with a 15-minute buffer (a 45-minute grid) and a tour at 09:00
    property_id = new_property(capacity=1, slot_minutes=30, buffer_minutes=15, weekly_hours=HOURLY)
    conversation_id = new_conversation(clean_db)
    assert book(property_id, conversation_id, future_slot(hour=9)) == 201
    # when the hours open at 09:15, with no buffer
    quarter_past = {day: [["09:15", "17:00"]] for day in ALL_DAYS}
    put(property_id, capacity=1, slot_minutes=30, buffer_minutes=0, weekly_hours=quarter_past)
    # then 09:15 overlaps 09:00-09:30 and is refused
    assert book(property_id, conversation_id, future_slot(hour=9, minute=15)) == 409
    # and when the buffer becomes 30 minutes on the hourly grid
    answer = put(property_id, capacity=1, slot_minutes=30, buffer_minutes=30, weekly_hours=HOURLY)
    # then the 09:00 tour occupies until 10:00, so the grid's 10:00 is free
    assert answer["conflicts"] == []
    assert offered(property_id, local_date(3).isoformat())[future_slot(hour=10)] == 1


def test_the_database_refuses_an_overlapping_tour_whatever_writes_it(
    clean_db: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    # given capacity 1 and a 60-minute tour at 10:00, written through the API
    property_id = new_property(capacity=1, slot_minutes=60, weekly_hours=HOURLY)
    conversation_id = new_conversation(clean_db)
    assert book(property_id, conversation_id, future_slot(hour=10)) == 201
    insert = (
        b"INSERT INTO tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, scheduled_end, "
        b"prospect_info) VALUES (%s, %s, 'in_person', %s, %s, '{}')"
    )
    # when SQL writes a tour at 10:59 (another start, one shared minute), then one at 11:00
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(insert, (conversation_id, property_id, future_slot(hour=10, minute=59), future_slot(hour=12)))
    conn.execute(insert, (conversation_id, property_id, future_slot(hour=11), future_slot(hour=12)))
    # then a staff appointment in ResMan occupies the same way: 12:30 (30 minutes) blocks a tour at 12:00
    conn.execute(
        b"INSERT INTO resman_staff_appointment (property_id, resman_event_id, resman_prospect_id, "
        b"scheduled_datetime) VALUES (%s, 'E1', 'P1', %s)",
        (property_id, future_slot(hour=12, minute=30)),
    )
    assert book(property_id, conversation_id, future_slot(hour=12)) == 409
    assert book(property_id, conversation_id, future_slot(hour=14)) == 201


def test_rescheduling_a_tour_into_its_own_time_is_not_refused(clean_db: str) -> None:
    # given capacity 1, 30-minute slots and a 60-minute tour booked at 10:00 before the change
    property_id = new_property(capacity=1, slot_minutes=60, weekly_hours=HOURLY)
    conversation_id = new_conversation(clean_db)
    tour = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10))).json
    put(property_id, capacity=1, slot_minutes=30, weekly_hours=HOURLY)
    # when it moves half an hour later, into time only it occupies
    moved = call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": future_slot(hour=10, minute=30)})
    # then the move succeeds and takes the current slot length
    assert moved.status == 200, moved.json
    assert moved.json["scheduled_end"] == future_slot(hour=11)


# ------------------------------------------------------------------ case 3: conflicts


def test_lowering_capacity_names_the_tour_that_no_longer_fits(clean_db: str) -> None:
    # given capacity 3 and two tours at 10:00
    property_id = new_property(capacity=3)
    conversation_id = new_conversation(clean_db)
    ten = future_slot(hour=10)
    first = call("POST", "/tours", tour_body(property_id, conversation_id, ten)).json
    second = call("POST", "/tours", tour_body(property_id, conversation_id, ten)).json
    # when the capacity becomes 1
    answer = put(property_id, capacity=1)
    # then the later booking is reported over capacity, and both tours stay as they were
    assert answer["capacity"] == 1
    assert answer["conflicts"] == [{"tour_id": second["id"], "scheduled_datetime": ten, "reason": "over_capacity"}]
    for tour in (first, second):
        assert call("GET", f"/tours/{tour['id']}").json["status"] == "scheduled"


def test_hours_blackouts_and_withdrawn_tour_types_are_reported(clean_db: str) -> None:
    # given tours on three days: a virtual one, one at 16:00, one on a day to be blacked out; and one in the past
    property_id = new_property(capacity=5)
    conversation_id = new_conversation(clean_db)
    virtual = call(
        "POST", "/tours", tour_body(property_id, conversation_id, future_slot(3, 10), tour_type="virtual")
    ).json
    late = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(4, 16))).json
    blacked = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(5, 10))).json
    untouched = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(6, 10))).json
    # when virtual tours are withdrawn, the hours end at 15:00 and day 5 is blacked out
    day5 = local_date(5).isoformat()
    answer = put(
        property_id,
        capacity=5,
        tour_types=["in_person"],
        weekly_hours={day: [["09:00", "15:00"]] for day in ALL_DAYS},
        blackouts=[{"start_date": day5, "end_date": day5, "reason": "painting"}],
    )
    # then each tour is reported once with its reason; the tour that still fits is not
    reasons = {c["tour_id"]: c["reason"] for c in answer["conflicts"]}
    assert reasons == {virtual["id"]: "tour_type_withdrawn", late["id"]: "outside_hours", blacked["id"]: "blackout"}
    assert untouched["id"] not in reasons
    assert all(datetime.fromisoformat(c["scheduled_datetime"]).utcoffset() is not None for c in answer["conflicts"])


def test_a_cancelled_tour_is_no_conflict(clean_db: str) -> None:
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(clean_db)
    tour = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10))).json
    call("PATCH", f"/tours/{tour['id']}", {"status": "cancelled"})
    assert put(property_id, capacity=2, tour_types=["virtual"])["conflicts"] == []


def test_the_schedule_answer_is_the_schedule_plus_conflicts(clean_db: str) -> None:
    property_id = new_property()
    answer = put(property_id, capacity=4)
    assert answer.pop("conflicts") == []
    assert answer == call("GET", f"/properties/{property_id}/tour-schedule").json
