"""Holds through the handler (README "Booking API", Holds): a live hold takes a seat in availability and in the
capacity rule, frees itself at expires_at with no write, is released at once by DELETE, and is consumed by the
booking that carries it; mismatched, unknown and expired hold ids, and a fourth hold of one conversation."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.api_events import ApiAnswer, call
from tests.builders import future_slot, new_conversation, new_property, tour_body
from tour_booking.api.models import Hold
from tour_booking.booking import holds_service
from tour_booking.booking.booking_requests import CreateHoldRequest
from tour_booking.domain.enums import TourType
from tour_booking.refresh import resman_refresh


def hold(property_id: uuid.UUID, start: str, /, **overrides: Any) -> ApiAnswer:
    body: dict[str, Any] = {"property_id": str(property_id), "scheduled_datetime": start, "tour_type": "in_person"}
    body.update(overrides)
    return call("POST", "/holds", body)


def remaining(property_id: uuid.UUID, start: str) -> int:
    """The slot's `remaining` as availability answers it (0 when the slot is not offered)."""
    days = call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}").json["days"]
    return int({s["start"]: s["remaining"] for s in days[0]["slots"]}.get(start, 0))


def cached_rows(url: str, property_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """The cached days with their row versions: a write of any kind changes xmin."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            b"SELECT date, xmin::text, available_slots FROM calendar_availability_cache WHERE property_id = %s "
            b"ORDER BY date",
            (property_id,),
        ).fetchall()


def test_a_hold_answers_201_takes_a_seat_and_is_released_at_once(clean_db: str) -> None:
    # given a slot of capacity 2 with its day cached
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    assert remaining(property_id, start) == 2
    # when a conversation holds it
    answer = hold(property_id, start, conversation_id=str(conversation_id), ttl_seconds=120)
    # then 201 with the hold, its times in the property's offset, and one seat fewer in availability
    assert answer.status == 201, answer.json
    Hold.model_validate(answer.json)
    assert answer.json["scheduled_datetime"] == start
    assert answer.json["conversation_id"] == str(conversation_id)
    assert answer.json["tour_type"] == "in_person"
    expires = datetime.fromisoformat(answer.json["expires_at"])
    assert timedelta(seconds=110) < expires - datetime.now(UTC) <= timedelta(seconds=121)
    assert remaining(property_id, start) == 1
    # when it is released, then the seat is free at once and a second release is hold_not_found
    assert call("DELETE", f"/holds/{answer.json['id']}").status == 204
    assert remaining(property_id, start) == 2
    again = call("DELETE", f"/holds/{answer.json['id']}")
    assert (again.status, again.json["error"]["code"]) == (404, "hold_not_found")


def test_the_default_ttl_is_hold_ttl_seconds(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tour_booking.settings import get_settings

    monkeypatch.setenv("HOLD_TTL_SECONDS", "600")
    get_settings.cache_clear()
    try:
        answer = hold(new_property(), future_slot(hour=11))
    finally:
        monkeypatch.delenv("HOLD_TTL_SECONDS")
        get_settings.cache_clear()
    assert answer.status == 201, answer.json
    assert answer.json["conversation_id"] is None
    left = datetime.fromisoformat(answer.json["expires_at"]) - datetime.now(UTC)
    assert timedelta(seconds=590) < left <= timedelta(seconds=601)


def test_holds_fill_a_slot_like_tours_and_a_full_slot_refuses_both(clean_db: str) -> None:
    # given a slot of capacity 2, one seat held and one booked
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=12)
    assert hold(property_id, start).status == 201
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start)).status == 201
    # then the slot is gone from availability, and another hold or booking is slot_unavailable
    assert remaining(property_id, start) == 0
    for refused in (hold(property_id, start), call("POST", "/tours", tour_body(property_id, conversation_id, start))):
        assert (refused.status, refused.json["error"]["code"]) == (409, "slot_unavailable"), refused.json


def test_the_databases_capacity_rule_counts_live_holds_whoever_writes_the_tour(clean_db: str) -> None:
    # given a slot of capacity 1 held through the API, its period with the buffer [10:00, 11:00)
    property_id = new_property(capacity=1, slot_minutes=30, buffer_minutes=30)
    conversation_id = new_conversation(clean_db)
    assert hold(property_id, future_slot(hour=10)).status == 201
    # when a tour is written straight into the table overlapping the held period, then the trigger refuses it
    with psycopg.connect(clean_db, autocommit=True) as conn, pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(
            b"INSERT INTO tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, "
            b"scheduled_end, prospect_info) VALUES (%s, %s, 'in_person', %s, %s, '{}')",
            (conversation_id, property_id, future_slot(hour=10, minute=45), future_slot(hour=11, minute=15)),
        )
    # and the next slot of the grid, past the buffer, is free
    assert remaining(property_id, future_slot(hour=11)) == 1


def test_a_booking_with_its_hold_gets_the_last_seat_and_consumes_the_hold(clean_db: str) -> None:
    # given a slot of capacity 1 that a conversation holds
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=14)
    held = hold(property_id, start, conversation_id=str(conversation_id)).json
    # when another booker tries without it, then the slot is full for them
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start)).status == 409
    # when the holder books with the hold id (another offset of the same instant)
    same_instant = datetime.fromisoformat(start).astimezone(UTC).isoformat()
    booked = call("POST", "/tours", tour_body(property_id, conversation_id, same_instant, hold_id=held["id"]))
    # then 201, the hold is gone (release 404), and the seat stays taken by the tour
    assert booked.status == 201, booked.json
    assert call("DELETE", f"/holds/{held['id']}").status == 404
    assert remaining(property_id, start) == 0
    with psycopg.connect(clean_db) as conn:
        row = conn.execute(b"SELECT booked_tour_id::text FROM tour_hold WHERE id = %s", (held["id"],)).fetchone()
    assert row == (booked.json["id"],)
    # and the consumed hold id books nothing more: it competes like an unknown one and finds the slot full
    again = call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=held["id"]))
    assert (again.status, again.json["error"]["code"]) == (409, "slot_unavailable")


def test_a_held_seat_is_kept_even_when_a_staff_appointment_fills_the_slot(clean_db: str) -> None:
    # given a held seat of capacity 1, and then ResMan's staff booking the same time (the refresh records it)
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=15)
    held = hold(property_id, start).json
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            b"INSERT INTO resman_staff_appointment (property_id, resman_event_id, resman_prospect_id, "
            b"scheduled_datetime) VALUES (%s, 'staff-1', 'p-1', %s)",
            (property_id, start),
        )
    # when the holder books with the hold, then the seat is the hold's: 201, never 409 for capacity
    booked = call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=held["id"]))
    assert booked.status == 201, booked.json


def test_a_live_hold_of_another_slot_is_hold_mismatch_and_stays(clean_db: str) -> None:
    property_id = new_property(capacity=1)
    other_property = new_property()
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    held = hold(property_id, start).json
    for body in (
        tour_body(property_id, conversation_id, future_slot(hour=11), hold_id=held["id"]),
        tour_body(property_id, conversation_id, start, hold_id=held["id"], tour_type="virtual"),
        tour_body(other_property, conversation_id, start, hold_id=held["id"]),
    ):
        answer = call("POST", "/tours", body)
        assert (answer.status, answer.json["error"]["code"]) == (409, "hold_mismatch"), answer.json
    # then the hold still keeps its seat
    assert remaining(property_id, start) == 0
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=held["id"])).status == 201


def test_an_unknown_hold_id_competes_like_any_booking(clean_db: str) -> None:
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    unknown = str(uuid.uuid4())
    # given a free slot, an unknown hold id books it; given a full slot, it is slot_unavailable
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=unknown)).status == 201
    full = call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=unknown))
    assert (full.status, full.json["error"]["code"]) == (409, "slot_unavailable")
    missing = call("DELETE", f"/holds/{unknown}")
    assert (missing.status, missing.json["error"]["code"]) == (404, "hold_not_found")


def test_a_hold_expires_with_no_write_and_its_id_then_competes_normally(clean_db: str) -> None:
    # given a slot of capacity 1 with its day cached, held for 2 seconds (the API's shortest is 60; the service
    # takes any ttl, so the test need not wait a minute)
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=16)
    assert remaining(property_id, start) == 1
    request = CreateHoldRequest(
        property_id=property_id, scheduled_datetime=datetime.fromisoformat(start), tour_type=TourType("in_person")
    )
    held = holds_service.create_hold(request, ttl=timedelta(seconds=2))
    assert remaining(property_id, start) == 0
    refused = call("POST", "/tours", tour_body(property_id, conversation_id, start))
    assert refused.status == 409
    cached_before = cached_rows(clean_db, property_id)
    # when it expires, with nothing written in between
    time.sleep(max(0.0, (held.expires_at - datetime.now(UTC)).total_seconds()) + 0.3)
    # then availability offers the seat again, the cache was not written, and release is hold_not_found
    assert remaining(property_id, start) == 1
    assert cached_rows(clean_db, property_id) == cached_before
    assert call("DELETE", f"/holds/{held.id}").status == 404
    # and another booker takes the seat; the expired id then competes like any other and finds it full
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start)).status == 201
    late = call("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=str(held.id)))
    assert (late.status, late.json["error"]["code"]) == (409, "slot_unavailable")
    # and the refresh prunes the expired row
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(b"SELECT count(*) FROM tour_hold").fetchone() == (1,)
    report = resman_refresh.refresh_all(None)
    assert report.expired_holds == 1
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(b"SELECT count(*) FROM tour_hold").fetchone() == (0,)


def test_a_conversation_holds_at_most_three_slots_at_once(clean_db: str) -> None:
    property_id = new_property(capacity=5)
    conversation_id = str(new_conversation(clean_db))
    held = [hold(property_id, future_slot(hour=9 + i), conversation_id=conversation_id) for i in range(3)]
    assert [h.status for h in held] == [201, 201, 201]
    # when it asks for a fourth, then too_many_holds; another conversation, or none, still holds
    fourth = hold(property_id, future_slot(hour=13), conversation_id=conversation_id)
    assert (fourth.status, fourth.json["error"]["code"]) == (409, "too_many_holds")
    assert hold(property_id, future_slot(hour=13), conversation_id=str(uuid.uuid4())).status == 201
    assert hold(property_id, future_slot(hour=13)).status == 201
    # when one is released (or booked), then it may hold again
    assert call("DELETE", f"/holds/{held[0].json['id']}").status == 204
    assert hold(property_id, future_slot(hour=14), conversation_id=conversation_id).status == 201
    booked = call(
        "POST",
        "/tours",
        tour_body(property_id, uuid.UUID(conversation_id), future_slot(hour=10), hold_id=held[1].json["id"]),
    )
    assert booked.status == 201
    assert hold(property_id, future_slot(hour=15), conversation_id=conversation_id).status == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"scheduled_datetime": "PAST"}, 422, "validation_error"),
        ({"scheduled_datetime": "OFF_GRID"}, 422, "validation_error"),
        ({"ttl_seconds": 59}, 422, "validation_error"),
        ({"ttl_seconds": 901}, 422, "validation_error"),
        ({"ttl_seconds": "ten"}, 422, "validation_error"),
        ({"tour_type": "helicopter"}, 422, "validation_error"),
        ({"tour_type": "self_guided"}, 409, "slot_unavailable"),
        ({"conversation_id": "nope"}, 422, "validation_error"),
        ({"surprise": 1}, 422, "validation_error"),
        ({"scheduled_datetime": "2026-12-01T10:00:00"}, 422, "validation_error"),
        ({"property_id": "UNKNOWN"}, 404, "property_not_found"),
    ],
)
def test_bad_hold_requests_are_4xx_in_the_error_shape(
    clean_db: str, body: dict[str, Any], status: int, code: str
) -> None:
    property_id = new_property()
    start = future_slot(hour=10)
    values = dict(body)
    if values.get("scheduled_datetime") == "PAST":
        values["scheduled_datetime"] = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0).isoformat()
    if values.get("scheduled_datetime") == "OFF_GRID":
        values["scheduled_datetime"] = future_slot(hour=10, minute=7)
    if values.get("property_id") == "UNKNOWN":
        values["property_id"] = str(uuid.uuid4())
    answer = hold(property_id, start, **values)
    assert answer.status == status, answer.json
    assert answer.json["error"]["code"] == code
    assert set(answer.json["error"]) == {"code", "message", "details"}
    bad_id = call("DELETE", "/holds/not-a-uuid")
    assert (bad_id.status, bad_id.json["error"]["code"]) == (422, "validation_error")
