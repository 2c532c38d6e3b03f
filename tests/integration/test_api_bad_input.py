"""Bad input gets a 4xx in the error shape: never a 500, never a stack trace, never the input echoed back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, schedule_body, tour_body

SQL_META = ["'; DROP TABLE tour_booking_sync; --", '" OR 1=1 --', "\\x00\\'", "$$; SELECT pg_sleep(5); $$", "%s %(x)s"]


def assert_4xx(answer: Any, status: int | None = None) -> None:
    assert 400 <= answer.status < 500, answer.json
    if status is not None:
        assert answer.status == status, answer.json
    assert set(answer.json) == {"error"}
    assert set(answer.json["error"]) == {"code", "message", "details"}
    assert "Traceback" not in json.dumps(answer.json)


@pytest.fixture
def booking(clean_db: str) -> dict[str, Any]:
    return tour_body(new_property(), new_conversation(clean_db), future_slot())


def test_malformed_json_is_422(booking: dict[str, Any]) -> None:
    for raw in ["{", "not json", '{"a": }', "[1, 2", '"unterminated']:
        assert_4xx(call("POST", "/tours", raw_body=raw), 422)


def test_non_object_bodies_are_422(booking: dict[str, Any]) -> None:
    for raw in ["[]", "null", "42", '"text"', ""]:
        assert_4xx(call("POST", "/tours", raw_body=raw), 422)


def test_other_content_types_are_refused(booking: dict[str, Any]) -> None:
    answer = call("POST", "/tours", raw_body="a=b", headers={"Content-Type": "text/plain"})
    assert_4xx(answer)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conversation_id", "not-a-uuid"),
        ("property_id", "123"),
        ("tour_type", "helicopter"),
        ("scheduled_datetime", "2027-01-05T10:00:00"),  # no offset
        ("scheduled_datetime", "next tuesday"),
        ("scheduled_datetime", "2020-01-06T10:00:00-05:00"),  # past
        ("prospect", {"first_name": "A", "last_name": "B"}),  # neither email nor phone
        ("prospect", {"first_name": "A", "last_name": "B", "email": "not-an-email"}),
        ("prospect", {"first_name": "A", "last_name": "B", "phone": "call me"}),
        ("prospect", {"first_name": "A", "last_name": "B", "phone": "123"}),
        ("prospect", {"first_name": "", "last_name": "B", "phone": "+15550100199"}),
        ("prospect", {"first_name": "A", "last_name": "B", "phone": "+15550100199", "ssn": "x"}),
        ("staff_notes", 12),
        ("staff_notes", "x" * 5000),
        ("unknown_field", "x"),
    ],
)
def test_invalid_booking_fields_are_422(booking: dict[str, Any], field: str, value: Any) -> None:
    answer = call("POST", "/tours", {**booking, field: value})
    assert_4xx(answer, 422)
    assert answer.json["error"]["code"] == "validation_error"


def test_missing_fields_are_422(booking: dict[str, Any]) -> None:
    for field in booking:
        body = {k: v for k, v in booking.items() if k != field}
        assert_4xx(call("POST", "/tours", body), 422)


def test_off_grid_start_is_422(booking: dict[str, Any]) -> None:
    assert_4xx(call("POST", "/tours", {**booking, "scheduled_datetime": future_slot(hour=10, minute=7)}), 422)
    assert_4xx(call("POST", "/tours", {**booking, "scheduled_datetime": future_slot(hour=20)}), 422)


def test_validation_details_never_echo_the_input(booking: dict[str, Any]) -> None:
    secret = "prospect-secret@example"
    answer = call("POST", "/tours", {**booking, "prospect": {"first_name": "A", "last_name": "B", "email": secret}})
    assert_4xx(answer, 422)
    assert secret not in json.dumps(answer.json)
    for detail in answer.json["error"]["details"]:
        assert set(detail) <= {"loc", "type", "msg"}


def test_bodies_over_64_kib_are_413(booking: dict[str, Any]) -> None:
    answer = call("POST", "/tours", {**booking, "staff_notes": "x" * (65 * 1024)})
    assert_4xx(answer, 413)
    assert answer.json["error"]["code"] == "payload_too_large"


def test_invalid_uuids_in_paths_are_422(clean_db: str) -> None:
    for path in ["/tours/abc", "/properties/abc/availability", "/properties/abc/tour-schedule"]:
        assert_4xx(call("GET", path), 422)
    assert_4xx(call("PATCH", "/tours/abc", {"status": "confirmed"}), 422)
    assert_4xx(call("PUT", "/properties/abc/tour-schedule", schedule_body()), 422)


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_bad_idempotency_keys_are_422(booking: dict[str, Any], key: str) -> None:
    assert_4xx(call("POST", "/tours", booking, {"Idempotency-Key": key}), 422)


@pytest.mark.parametrize(
    "patch",
    [
        {"status": "lost"},
        {"tour_type": "boat"},
        {"scheduled_datetime": "2027-01-01"},
        {"version": 9},
        {"status": None},
        {"staff_notes": ["x"]},
    ],
)
def test_invalid_patches_are_422(clean_db: str, booking: dict[str, Any], patch: dict[str, Any]) -> None:
    tour = call("POST", "/tours", booking).json
    assert_4xx(call("PATCH", f"/tours/{tour['id']}", patch), 422)


def test_nul_and_lone_surrogates_are_422_not_500(booking: dict[str, Any]) -> None:
    nul = {**booking, "staff_notes": "a\u0000b"}
    assert_4xx(call("POST", "/tours", nul), 422)
    surrogate = json.dumps({**booking, "staff_notes": "x"}).replace('"x"', '"\\ud800"')
    assert_4xx(call("POST", "/tours", raw_body=surrogate), 422)


def test_sql_meta_characters_in_every_string_are_data(clean_db: str) -> None:
    # given SQL meta-characters in every free-text field and every id/enum/date field
    property_id = new_property(capacity=20)
    conversation_id = new_conversation(clean_db)
    for text in SQL_META:
        body = tour_body(property_id, conversation_id, future_slot(), staff_notes=text)
        body["prospect"] = {"first_name": text, "last_name": text, "phone": "+1 555 010 0199"}
        stored = call("POST", "/tours", body)
        # then free text is stored as it came, or refused when PostgreSQL cannot hold it
        assert stored.status in {201, 422}, stored.json
        if stored.status == 201:
            assert stored.json["staff_notes"] == text
        for field in ("conversation_id", "property_id", "tour_type", "scheduled_datetime"):
            assert_4xx(call("POST", "/tours", {**body, field: text}), 422)
        assert_4xx(call("GET", f"/tours?status={text}"), 422)
        assert_4xx(call("GET", f"/tours?cursor={text}"), 422)
        assert_4xx(call("GET", f"/properties/{property_id}/availability?tour_type={text}"), 422)
        assert_4xx(call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(timezone=text)), 422)
        blackout = [{"start_date": "2027-01-01", "end_date": "2027-01-01", "reason": text}]
        assert call(
            "PUT", f"/properties/{property_id}/tour-schedule", schedule_body(capacity=20, blackouts=blackout)
        ).status in {200, 422}
    # and the schema is intact
    with psycopg.connect(clean_db) as conn:
        tables = {r[0] for r in conn.execute(b"SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"tour_booking_sync", "tour_schedule", "calendar_availability_cache", "idempotency_record"} <= tables
    assert call("GET", f"/tours?property_id={property_id}").status == 200


def test_unknown_property_schedule_body_fields_are_422(clean_db: str) -> None:
    assert_4xx(call("PUT", f"/properties/{uuid.uuid4()}/tour-schedule", {**schedule_body(), "is_active": False}), 422)
