"""Idempotency-Key compares bodies by meaning: an instant as an instant, object keys in any order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body

ZONE = "America/Chicago"


def _tour_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(b"SELECT count(*) FROM tour_booking_sync").fetchone()
    assert row is not None
    return int(row[0])


def _reordered(body: dict[str, Any]) -> str:
    """The same body with every object's keys in reverse order."""

    def flip(value: Any) -> Any:
        return {key: flip(value[key]) for key in reversed(list(value))} if isinstance(value, dict) else value

    text = json.dumps(flip(body))
    assert text != json.dumps(body)
    return text


def test_a_retry_writing_the_instant_in_utc_with_keys_reordered_is_a_replay(clean_db: str) -> None:
    # given a tour booked with a key, its start written with the property's offset (-06:00 in winter, -05:00 in
    # summer)
    property_id = new_property(timezone=ZONE)
    local = future_slot(zone=ZONE)
    body = tour_body(property_id, new_conversation(clean_db), local)
    first = call("POST", "/tours", body, {"Idempotency-Key": "chat-7-booking"})
    assert first.status == 201, first.json
    # when the retry writes the same instant in UTC, with fractional zeros, and its keys in another order
    utc = datetime.fromisoformat(local).astimezone(UTC)
    assert utc.isoformat() != local
    for written in (utc.isoformat(), utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")):
        retry = call(
            "POST",
            "/tours",
            raw_body=_reordered({**body, "scheduled_datetime": written}),
            headers={"Idempotency-Key": "chat-7-booking"},
        )
        # then it is a replay: the first answer, marked as replayed, and nothing more is booked
        assert retry.status == 201, retry.json
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json == first.json
    assert _tour_count(clean_db) == 1


def test_a_retry_with_null_for_an_absent_optional_field_is_a_replay(clean_db: str) -> None:
    body = tour_body(new_property(), new_conversation(clean_db), future_slot())
    first = call("POST", "/tours", body, {"Idempotency-Key": "k-null"})
    retry = call("POST", "/tours", {**body, "staff_notes": None}, {"Idempotency-Key": "k-null"})
    assert (first.status, retry.status) == (201, 201)
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert _tour_count(clean_db) == 1


def test_another_instant_under_the_same_key_is_still_refused(clean_db: str) -> None:
    # given a booking under a key
    property_id = new_property(timezone=ZONE)
    local = future_slot(zone=ZONE)
    body = tour_body(property_id, new_conversation(clean_db), local)
    assert call("POST", "/tours", body, {"Idempotency-Key": "k-other"}).status == 201
    # when the same key comes with an instant an hour later (the same wall-clock text in UTC is another instant)
    later = (datetime.fromisoformat(local) + timedelta(hours=1)).astimezone(UTC).isoformat()
    same_digits = local[:19] + "+00:00"
    for start in (later, same_digits):
        answer = call("POST", "/tours", {**body, "scheduled_datetime": start}, {"Idempotency-Key": "k-other"})
        # then it is another body: 409 idempotency_key_reused, nothing booked
        assert answer.status == 409, answer.json
        assert answer.json["error"]["code"] == "idempotency_key_reused"
    assert _tour_count(clean_db) == 1
