"""Every row of the HTTP contract (openapi.json, README "Booking API"), driven through the booking API's Lambda
handler."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import (
    future_slot,
    local_date,
    new_conversation,
    new_property,
    queued_messages,
    schedule_body,
    start_has_passed,
    tour_body,
)
from tour_booking import db
from tour_booking.settings import get_settings

ERROR_KEYS = {"code", "message", "details"}


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status == status, answer.json
    assert set(answer.json) == {"error"}
    assert set(answer.json["error"]) == ERROR_KEYS
    assert answer.json["error"]["code"] == code
    assert isinstance(answer.json["error"]["details"], list)


# ---------------------------------------------------------------- tour schedules


def test_put_then_get_schedule_creates_the_property(clean_db: str) -> None:
    # given a property DomIQ has not told us about
    property_id = uuid.uuid4()
    # when its schedule is put
    put = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(capacity=3))
    # then the schedule is answered and stored, and the property row exists
    assert put.status == 200
    assert put.json["capacity"] == 3
    got = call("GET", f"/properties/{property_id}/tour-schedule")
    assert got.status == 200
    assert put.json.pop("conflicts") == []
    assert got.json == put.json
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(b"SELECT count(*) FROM property WHERE id = %s", (property_id,)).fetchone() == (1,)


def test_get_schedule_of_unknown_property_is_404(clean_db: str) -> None:
    assert_error(call("GET", f"/properties/{uuid.uuid4()}/tour-schedule"), 404, "property_not_found")


@pytest.mark.parametrize(
    "change",
    [
        {"unknown_field": 1},
        {"timezone": "Mars/Olympus"},
        {"slot_minutes": 0},
        {"capacity": -1},
        {"tour_types": ["helicopter"]},
        {"weekly_hours": {"mon": [["17:00", "09:00"]]}},
        {"weekly_hours": {"funday": [["09:00", "17:00"]]}},
        {"blackouts": [{"start_date": "2027-01-02", "end_date": "2027-01-01"}]},
    ],
)
def test_put_schedule_refuses_invalid_schedules(clean_db: str, change: dict[str, Any]) -> None:
    answer = call("PUT", f"/properties/{uuid.uuid4()}/tour-schedule", schedule_body(**change))
    assert_error(answer, 422, "validation_error")


def test_put_schedule_drops_the_cached_days_of_the_property(clean_db: str) -> None:
    # given a property whose availability was cached at capacity 2
    property_id = new_property(capacity=2)
    day = local_date(2)
    first = call("GET", f"/properties/{property_id}/availability?start_date={day}")
    assert {slot["remaining"] for slot in first.json["days"][0]["slots"]} == {2}
    # when the schedule changes to capacity 5
    call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(capacity=5))
    # then availability follows the new schedule at once
    second = call("GET", f"/properties/{property_id}/availability?start_date={day}")
    assert {slot["remaining"] for slot in second.json["days"][0]["slots"]} == {5}


# ---------------------------------------------------------------- availability


def test_availability_answers_local_slots_and_caches_the_days(clean_db: str) -> None:
    # given a property open 09:00-17:00 in New York, 30-minute slots
    property_id = new_property()
    day = local_date(2)
    # when three days are asked
    answer = call("GET", f"/properties/{property_id}/availability?start_date={day}&days=3")
    # then each day has its 16 slots with the local offset, fresh, and the days are now cached
    assert answer.status == 200
    assert answer.json["property_id"] == str(property_id)
    assert answer.json["timezone"] == "America/New_York"
    assert [d["date"] for d in answer.json["days"]] == [str(day + timedelta(days=i)) for i in range(3)]
    first_day = answer.json["days"][0]
    assert len(first_day["slots"]) == 16
    assert set(first_day["slots"][0]) == {"start", "end", "tour_types", "remaining"}
    start = datetime.fromisoformat(first_day["slots"][0]["start"])
    assert start.hour == 9
    assert start.utcoffset() in {timedelta(hours=-5), timedelta(hours=-4)}
    assert first_day["stale"] is False
    with psycopg.connect(clean_db) as conn:
        cached = conn.execute(
            b"SELECT count(*) FROM calendar_availability_cache WHERE property_id = %s", (property_id,)
        ).fetchone()
    assert cached == (3,)


def test_availability_days_defaults_to_one_and_filters_tour_type(clean_db: str) -> None:
    property_id = new_property(tour_types=["virtual"])
    assert len(call("GET", f"/properties/{property_id}/availability").json["days"]) == 1
    day = local_date(2)
    in_person = call("GET", f"/properties/{property_id}/availability?start_date={day}&tour_type=in_person")
    virtual = call("GET", f"/properties/{property_id}/availability?start_date={day}&tour_type=virtual")
    assert in_person.json["days"][0]["slots"] == []
    assert len(virtual.json["days"][0]["slots"]) == 16


def test_availability_of_unknown_property_is_404(clean_db: str) -> None:
    assert_error(call("GET", f"/properties/{uuid.uuid4()}/availability"), 404, "property_not_found")


@pytest.mark.parametrize(
    "query", ["days=0", "days=32", "days=abc", "start_date=2027-02-30", "start_date=tomorrow", "tour_type=boat"]
)
def test_availability_refuses_bad_queries(clean_db: str, query: str) -> None:
    property_id = new_property()
    assert_error(call("GET", f"/properties/{property_id}/availability?{query}"), 422, "validation_error")


def test_availability_marks_days_stale_after_two_refresh_intervals(clean_db: str) -> None:
    # given a cached day last updated three intervals ago
    property_id = new_property()
    day = local_date(2)
    call("GET", f"/properties/{property_id}/availability?start_date={day}")
    interval = get_settings().cache_refresh_interval_minutes
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            b"UPDATE calendar_availability_cache SET last_updated = now() - %s * interval '1 minute'",
            (3 * interval,),
        )
    # when it is read, then it is stale
    answer = call("GET", f"/properties/{property_id}/availability?start_date={day}")
    assert answer.json["days"][0]["stale"] is True


def test_cached_remaining_follows_bookings_and_cancels(clean_db: str) -> None:
    # given a cached day with capacity 2
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(clean_db)
    start = future_slot(days_ahead=2, hour=10)
    day = start[:10]
    call("GET", f"/properties/{property_id}/availability?start_date={day}")

    def remaining() -> int | None:
        slots = call("GET", f"/properties/{property_id}/availability?start_date={day}").json["days"][0]["slots"]
        return next((s["remaining"] for s in slots if s["start"] == start), None)

    # when one tour is booked, then one seat remains; when a second is booked, the slot disappears
    first = call("POST", "/tours", tour_body(property_id, conversation_id, start))
    assert remaining() == 1
    call("POST", "/tours", tour_body(property_id, conversation_id, start))
    assert remaining() is None
    # when one is cancelled, the seat is back
    call("PATCH", f"/tours/{first.json['id']}", {"status": "cancelled"})
    assert remaining() == 1


# ---------------------------------------------------------------- POST /tours


def test_booking_answers_201_with_the_tour_and_queues_a_sync(sqs_queue: Any, clean_db: str) -> None:
    # given a property and a conversation
    property_id = new_property()
    conversation_id = new_conversation(clean_db)
    start = future_slot()
    # when a tour is booked
    answer = call("POST", "/tours", tour_body(property_id, conversation_id, start, staff_notes="parking at back"))
    # then it is scheduled, pending, answered with every column and the local offset, and a sync is queued
    assert answer.status == 201, answer.json
    tour = answer.json
    assert tour["status"] == "scheduled"
    assert tour["sync_status"] == "pending"
    assert tour["version"] == 1
    assert tour["property_id"] == str(property_id)
    assert tour["conversation_id"] == str(conversation_id)
    assert tour["staff_notes"] == "parking at back"
    assert tour["prospect_info"]["email"] == "ada@example.com"
    assert datetime.fromisoformat(tour["scheduled_datetime"]) == datetime.fromisoformat(start)
    assert tour["scheduled_datetime"] == start  # the property's local offset
    for column in ("resman_appointment_id", "synced_version", "sync_attempts", "last_sync_error", "created_at"):
        assert column in tour
    messages = [json.loads(body) for body in queued_messages(sqs_queue)]
    assert messages == [{"tour_id": tour["id"], "version": 1}]


def test_booking_stays_pending_and_answers_201_when_the_queue_fails(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queue URL nothing answers
    monkeypatch.setenv("SYNC_QUEUE_URL", "http://127.0.0.1:9/000000000000/nowhere")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    from tour_booking.sync import sync_queue

    sync_queue._sqs.cache_clear()
    try:
        property_id = new_property()
        answer = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), future_slot()))
    finally:
        get_settings.cache_clear()
        sync_queue._sqs.cache_clear()
    # then the booking stands, pending for the sweeper
    assert answer.status == 201
    assert answer.json["sync_status"] == "pending"


def test_booking_a_full_slot_is_409(clean_db: str) -> None:
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    start = future_slot()
    assert call("POST", "/tours", tour_body(property_id, conversation_id, start)).status == 201
    assert_error(call("POST", "/tours", tour_body(property_id, conversation_id, start)), 409, "slot_unavailable")


def test_booking_inside_a_blackout_or_past_the_horizon_is_409(clean_db: str) -> None:
    day = local_date(3)
    property_id = new_property(horizon_days=5, blackouts=[{"start_date": str(day), "end_date": str(day)}])
    conversation_id = new_conversation(clean_db)
    blacked = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(days_ahead=3)))
    beyond = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(days_ahead=9)))
    assert_error(blacked, 409, "slot_unavailable")
    assert_error(beyond, 409, "slot_unavailable")


def test_booking_a_tour_type_the_property_does_not_offer_is_409(clean_db: str) -> None:
    property_id = new_property(tour_types=["virtual"])
    answer = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), future_slot()))
    assert_error(answer, 409, "slot_unavailable")


def test_booking_at_an_unknown_property_is_404(clean_db: str) -> None:
    answer = call("POST", "/tours", tour_body(uuid.uuid4(), new_conversation(clean_db), future_slot()))
    assert_error(answer, 404, "property_not_found")


def test_booking_for_an_unknown_conversation_is_404(clean_db: str) -> None:
    answer = call("POST", "/tours", tour_body(new_property(), uuid.uuid4(), future_slot()))
    assert_error(answer, 404, "conversation_not_found")


def test_idempotent_replay_returns_the_first_answer_and_books_once(sqs_queue: Any, clean_db: str) -> None:
    # given a booking made with an Idempotency-Key
    property_id = new_property(capacity=5)
    body = tour_body(property_id, new_conversation(clean_db), future_slot())
    first = call("POST", "/tours", body, {"Idempotency-Key": "chat-42-booking"})
    # when the same request is replayed
    replay = call("POST", "/tours", body, {"Idempotency-Key": "chat-42-booking"})
    # then the first answer comes back, nothing more is booked or queued
    assert first.status == replay.status == 201
    assert replay.json == first.json
    assert replay.headers.get("Idempotent-Replayed") == "true"
    with psycopg.connect(clean_db) as conn:
        assert conn.execute(b"SELECT count(*) FROM tour_booking_sync").fetchone() == (1,)
    assert len(queued_messages(sqs_queue)) == 1


def test_same_key_with_another_body_is_409(clean_db: str) -> None:
    property_id = new_property(capacity=5)
    conversation_id = new_conversation(clean_db)
    call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10)), {"Idempotency-Key": "k1"})
    other = call(
        "POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=11)), {"Idempotency-Key": "k1"}
    )
    assert_error(other, 409, "idempotency_key_reused")


def test_an_expired_key_books_again(clean_db: str) -> None:
    # given a key used more than 24 hours ago
    property_id = new_property(capacity=5)
    body = tour_body(property_id, new_conversation(clean_db), future_slot())
    first = call("POST", "/tours", body, {"Idempotency-Key": "old-key"})
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(b"UPDATE idempotency_record SET expires_at = now() - interval '1 second'")
    # when it is used again, then a new tour is booked
    second = call("POST", "/tours", body, {"Idempotency-Key": "old-key"})
    assert second.status == 201
    assert second.json["id"] != first.json["id"]


def test_a_refused_booking_does_not_hold_its_key(clean_db: str) -> None:
    # given a key whose booking was refused (slot full)
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    taken = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot()))
    body = tour_body(property_id, conversation_id, future_slot())
    assert call("POST", "/tours", body, {"Idempotency-Key": "retry-me"}).status == 409
    # when the slot frees and the same request is retried, then it books
    call("PATCH", f"/tours/{taken.json['id']}", {"status": "cancelled"})
    assert call("POST", "/tours", body, {"Idempotency-Key": "retry-me"}).status == 201


# ---------------------------------------------------------------- GET /tours, GET /tours/{id}


def test_get_tour_and_unknown_tour(clean_db: str) -> None:
    booked = call("POST", "/tours", tour_body(new_property(), new_conversation(clean_db), future_slot()))
    got = call("GET", f"/tours/{booked.json['id']}")
    assert got.status == 200
    assert got.json == booked.json
    assert_error(call("GET", f"/tours/{uuid.uuid4()}"), 404, "tour_not_found")


def test_list_tours_pages_through_every_match_once_in_order(clean_db: str) -> None:
    # given 7 tours of one conversation and 1 of another
    property_id = new_property(capacity=3)
    conversation_id = new_conversation(clean_db)
    ids = set()
    for hour, count in ((10, 3), (11, 2), (12, 2)):
        for _ in range(count):
            ids.add(call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=hour))).json["id"])
    call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), future_slot(hour=13)))
    # when paged 3 at a time
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = f"/tours?conversation_id={conversation_id}&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = call("GET", query)
        assert page.status == 200
        seen += page.json["items"]
        pages += 1
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    # then every tour comes once, in (created_at, id) order: the order they were booked in
    assert pages == 3
    assert {t["id"] for t in seen} == ids
    assert len(seen) == 7
    keys = [(datetime.fromisoformat(t["created_at"]), t["id"]) for t in seen]
    assert keys == sorted(keys)


def test_list_tours_filters(clean_db: str) -> None:
    property_id = new_property(capacity=3)
    conversation_id = new_conversation(clean_db)
    early = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10))).json
    late = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=15))).json
    call("PATCH", f"/tours/{late['id']}", {"status": "cancelled"})
    by_status = call("GET", f"/tours?property_id={property_id}&status=cancelled").json["items"]
    assert [t["id"] for t in by_status] == [late["id"]]
    cut = future_slot(hour=12).replace("+", "%2B")
    before = call("GET", f"/tours?property_id={property_id}&to={cut}").json["items"]
    after = call("GET", f"/tours?property_id={property_id}&from={cut}").json["items"]
    assert [t["id"] for t in before] == [early["id"]]
    assert [t["id"] for t in after] == [late["id"]]
    assert call("GET", f"/tours?property_id={uuid.uuid4()}").json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "cursor=not-a-cursor", "status=lost", "conversation_id=42", "from=2027-01-01T10:00:00"],
)
def test_list_tours_refuses_bad_queries(clean_db: str, query: str) -> None:
    assert_error(call("GET", f"/tours?{query}"), 422, "validation_error")


# ---------------------------------------------------------------- PATCH /tours/{id}


def _booked(clean_db: str, **schedule: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    property_id = new_property(**schedule)
    answer = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), future_slot(hour=10)))
    assert answer.status == 201
    return property_id, answer.json


def test_patch_status_moves_forward_bumps_version_and_queues(sqs_queue: Any, clean_db: str) -> None:
    _, tour = _booked(clean_db)
    queued_messages(sqs_queue)
    confirmed = call("PATCH", f"/tours/{tour['id']}", {"status": "confirmed"})
    assert confirmed.status == 200
    assert confirmed.json["status"] == "confirmed"
    assert confirmed.json["version"] == 2
    assert confirmed.json["sync_status"] == "pending"
    start_has_passed(clean_db, tour["id"])
    completed = call("PATCH", f"/tours/{tour['id']}", {"status": "completed"})
    assert completed.json["version"] == 3
    assert [json.loads(b)["version"] for b in queued_messages(sqs_queue)] == [2, 3]


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "completed"),
        ([], "no_show"),
        (["cancelled"], "scheduled"),
        (["cancelled"], "confirmed"),
        (["confirmed"], "scheduled"),
        (["confirmed", "completed"], "cancelled"),
        (["confirmed", "no_show"], "completed"),
    ],
)
def test_patch_refuses_backward_or_skipping_transitions(clean_db: str, path: list[str], target: str) -> None:
    # given a tour that has started (completed and no_show need that), moved along `path`
    _, tour = _booked(clean_db)
    start_has_passed(clean_db, tour["id"])
    for status in path:
        assert call("PATCH", f"/tours/{tour['id']}", {"status": status}).status == 200
    assert_error(call("PATCH", f"/tours/{tour['id']}", {"status": target}), 409, "invalid_transition")


def test_reschedule_frees_the_old_slot_and_takes_the_new(clean_db: str) -> None:
    # given a full 10:00 slot (capacity 1)
    property_id, tour = _booked(clean_db, capacity=1)
    new_start = future_slot(hour=14)
    # when the tour moves to 14:00
    moved = call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": new_start, "tour_type": "virtual"})
    # then it holds 14:00, version 2, and 10:00 can be booked again while 14:00 cannot
    assert moved.status == 200, moved.json
    assert moved.json["scheduled_datetime"] == new_start
    assert moved.json["tour_type"] == "virtual"
    assert moved.json["version"] == 2
    conversation_id = new_conversation(clean_db)
    assert call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10))).status == 201
    assert_error(call("POST", "/tours", tour_body(property_id, conversation_id, new_start)), 409, "slot_unavailable")


def test_reschedule_into_a_full_slot_is_409_and_keeps_the_tour(clean_db: str) -> None:
    property_id, tour = _booked(clean_db, capacity=1)
    full = future_slot(hour=11)
    call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), full))
    assert_error(call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": full}), 409, "slot_unavailable")
    assert call("GET", f"/tours/{tour['id']}").json == tour


def test_reschedule_of_a_finished_tour_is_409(clean_db: str) -> None:
    _, tour = _booked(clean_db)
    call("PATCH", f"/tours/{tour['id']}", {"status": "cancelled"})
    answer = call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": future_slot(hour=12)})
    assert_error(answer, 409, "invalid_transition")


def test_staff_notes_change_bumps_the_version_and_a_no_op_does_not(clean_db: str) -> None:
    _, tour = _booked(clean_db)
    noted = call("PATCH", f"/tours/{tour['id']}", {"staff_notes": "bring keys"})
    assert noted.json["staff_notes"] == "bring keys"
    assert noted.json["version"] == 2
    same = call("PATCH", f"/tours/{tour['id']}", {"staff_notes": "bring keys", "status": "scheduled"})
    assert same.json["version"] == 2


def test_patch_unknown_tour_is_404_and_empty_patch_is_422(clean_db: str) -> None:
    assert_error(call("PATCH", f"/tours/{uuid.uuid4()}", {"status": "confirmed"}), 404, "tour_not_found")
    _, tour = _booked(clean_db)
    assert_error(call("PATCH", f"/tours/{tour['id']}", {}), 422, "validation_error")
    assert_error(call("PATCH", f"/tours/{tour['id']}", {"status": None}), 422, "validation_error")


# ---------------------------------------------------------------- metrics, health, unknown routes


def test_success_rate_per_property(clean_db: str) -> None:
    # given 2 tours, one completed and synced
    property_id = new_property(capacity=3)
    conversation_id = new_conversation(clean_db)
    first = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=10))).json
    call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(hour=11)))
    call("PATCH", f"/tours/{first['id']}", {"status": "confirmed"})
    start_has_passed(clean_db, first["id"])
    assert call("PATCH", f"/tours/{first['id']}", {"status": "completed"}).status == 200
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(b"UPDATE tour_booking_sync SET sync_status = 'success' WHERE id = %s", (first["id"],))
    # when the rates are asked, then each is 50 percent
    answer = call("GET", f"/metrics/tour-success-rate?property_id={property_id}")
    assert answer.status == 200
    assert answer.json == {
        "items": [{"property_id": str(property_id), "completion_rate": 50.0, "sync_success_rate": 50.0}]
    }
    assert len(call("GET", "/metrics/tour-success-rate").json["items"]) == 1
    assert_error(call("GET", "/metrics/tour-success-rate?property_id=nope"), 422, "validation_error")


def test_health_is_200_with_the_database_and_503_without(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert call("GET", "/health").status == 200
    # given a database that does not answer
    db.close()
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    try:
        down = call("GET", "/health")
        booking = call("GET", f"/tours/{uuid.uuid4()}")
    finally:
        db.close()
        get_settings.cache_clear()
    assert_error(down, 503, "service_unavailable")
    assert down.headers["Retry-After"]
    assert_error(booking, 503, "service_unavailable")


def test_unknown_route_is_404_in_the_error_shape(clean_db: str) -> None:
    assert_error(call("GET", "/nothing-here"), 404, "not_found")
    assert_error(call("DELETE", f"/tours/{uuid.uuid4()}"), 404, "not_found")


def test_every_answer_is_json_with_a_content_type(clean_db: str) -> None:
    answer = call("GET", "/health")
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json == {"status": "ok"}
    assert datetime.now(UTC)  # the clock is what the other tests rely on


def test_the_idempotency_key_header_name_is_case_insensitive(clean_db: str) -> None:
    property_id = new_property(capacity=5)
    body = tour_body(property_id, new_conversation(clean_db), future_slot())
    first = call("POST", "/tours", body, {"idempotency-key": "lower"})
    second = call("POST", "/tours", body, {"IDEMPOTENCY-KEY": "lower"})
    assert first.status == second.status == 201
    assert first.json["id"] == second.json["id"]
