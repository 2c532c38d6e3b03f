"""Inputs at and past the edges of what Python and PostgreSQL hold: each is a 4xx in the error shape, never a 500."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, schedule_body, tour_body
from tour_booking.db import schedules_repository

EXTREME_INSTANTS = [
    "9999-12-31T23:59:59-12:00",  # no UTC instant Python can hold
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "0001-01-01T00:00:00-12:00",
    "3000-01-01T00:00:00+00:00",  # the first instant past the bound
    "1899-12-31T23:59:59+00:00",
]


@pytest.fixture
def booked(clean_db: str) -> dict[str, Any]:
    """A property, a conversation and a tour booked there (property_id, conversation_id, tour)."""
    property_id = new_property()
    conversation_id = new_conversation(clean_db)
    tour = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot()))
    assert tour.status == 201, tour.json
    return {"property_id": property_id, "conversation_id": conversation_id, "tour": tour.json}


def assert_validation_error(answer: Any, loc: list[Any] | None = None) -> None:
    assert answer.status == 422, answer.json
    assert set(answer.json) == {"error"}
    assert set(answer.json["error"]) == {"code", "message", "details"}
    assert answer.json["error"]["code"] == "validation_error"
    if loc is not None:
        assert [detail["loc"] for detail in answer.json["error"]["details"]] == [loc], answer.json


@pytest.mark.parametrize("zone", ["posix/America/New_York", "localtime", "right/UTC", "posixrules", "posix/UTC"])
def test_zones_that_are_no_iana_names_are_refused_by_the_schedule_put(clean_db: str, zone: str) -> None:
    # given zone names that ZoneInfo loads (files of the zone directory) but that are no IANA zone names
    property_id = uuid.uuid4()
    # when a schedule names one
    answer = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(timezone=zone))
    # then it is a 422 on the timezone (it was saved, and the database refused every booking of it with 500s)
    assert_validation_error(answer, ["body", "timezone"])
    assert call("GET", f"/properties/{property_id}/tour-schedule").status == 404


def test_a_zone_python_knows_but_the_database_does_not_is_refused(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the database's own zone list
    with psycopg.connect(clean_db) as conn:
        known = frozenset(row[0] for row in conn.execute(b"SELECT name FROM pg_timezone_names"))
    assert "America/New_York" in known and "Europe/Dublin" in known
    # and a database whose time zone data lacks America/New_York (an older server than this Python's tzdata):
    # the per-container cache stands for it
    monkeypatch.setattr(schedules_repository, "_database_zones", known - {"America/New_York"})
    # when a schedule names that zone, then it is a 422 on the timezone and nothing is saved
    property_id = uuid.uuid4()
    answer = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(timezone="America/New_York"))
    assert_validation_error(answer, ["body", "timezone"])
    assert answer.json["error"]["details"][0]["type"] == "timezone_unknown"
    assert call("GET", f"/properties/{property_id}/tour-schedule").status == 404
    # and a zone both know is saved
    dublin = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(timezone="Europe/Dublin"))
    assert dublin.status == 200, dublin.json


def test_the_database_zone_list_is_read_once_per_container(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # given an empty per-container cache
    monkeypatch.setattr(schedules_repository, "_database_zones", None)
    # when two schedules are saved
    new_property()
    cached = schedules_repository._database_zones
    new_property(timezone="Europe/Dublin")
    # then the list was read by the first and reused by the second
    assert cached is not None and "America/New_York" in cached
    assert schedules_repository._database_zones is cached


@pytest.mark.parametrize("instant", EXTREME_INSTANTS)
def test_extreme_instants_in_post_and_patch_are_422(booked: dict[str, Any], instant: str) -> None:
    body = tour_body(booked["property_id"], booked["conversation_id"], instant)
    assert_validation_error(call("POST", "/tours", body), ["body", "scheduled_datetime"])
    patch = call("PATCH", f"/tours/{booked['tour']['id']}", {"scheduled_datetime": instant})
    assert_validation_error(patch, ["body", "scheduled_datetime"])
    assert call("GET", f"/tours/{booked['tour']['id']}").json == booked["tour"]


@pytest.mark.parametrize("instant", EXTREME_INSTANTS)
@pytest.mark.parametrize("bound", ["from", "to"])
def test_extreme_instants_in_the_tour_listing_are_422(booked: dict[str, Any], instant: str, bound: str) -> None:
    answer = call("GET", f"/tours?{bound}={instant.replace('+', '%2B')}")
    assert_validation_error(answer, ["query", bound])


def test_instants_just_inside_the_bounds_are_answered(booked: dict[str, Any]) -> None:
    # the far ends of the range list and refuse like any other instant, without overflowing
    for instant in ("1900-01-01T00:00:00+00:00", "2999-12-31T11:59:59-12:00"):
        listed = call("GET", f"/tours?from={instant.replace('+', '%2B')}")
        assert listed.status == 200, listed.json
        body = tour_body(booked["property_id"], booked["conversation_id"], instant)
        assert_validation_error(call("POST", "/tours", body), ["body", "scheduled_datetime"])


@pytest.mark.parametrize(
    "query",
    [
        "start_date=9999-12-31",
        "start_date=9999-12-31&days=1",
        "start_date=9999-12-20&days=31",  # the last days overflow
        "start_date=3000-01-01",
        "start_date=0001-01-01&days=31",
        "start_date=1899-12-31",
    ],
)
def test_availability_of_extreme_dates_is_422(booked: dict[str, Any], query: str) -> None:
    answer = call("GET", f"/properties/{booked['property_id']}/availability?{query}")
    assert_validation_error(answer, ["query", "start_date"])


def test_availability_at_the_last_date_allowed_is_answered_empty(booked: dict[str, Any]) -> None:
    answer = call("GET", f"/properties/{booked['property_id']}/availability?start_date=2999-12-31&days=31")
    assert answer.status == 200, answer.json
    assert len(answer.json["days"]) == 31
    assert all(day["slots"] == [] for day in answer.json["days"])


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


TOUR_ID = "6f1e3c1a-2b7d-4c59-9a0e-5d8f7b2c4e10"
INSTANT = "2027-01-05T15:00:00+00:00"


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor({"created_at": INSTANT, "id": 5}),  # a number where the UUID belongs
        _cursor({"created_at": INSTANT, "id": ["a"]}),  # a list
        _cursor({"created_at": INSTANT, "id": {"a": 1}}),
        _cursor({"created_at": INSTANT, "id": None}),
        _cursor({"created_at": 5, "id": TOUR_ID}),
        _cursor({"created_at": [INSTANT], "id": TOUR_ID}),
        _cursor({"created_at": "2027-01-05T15:00:00", "id": TOUR_ID}),  # no offset
        _cursor({"created_at": "9999-12-31T23:59:59-12:00", "id": TOUR_ID}),
        _cursor({"created_at": INSTANT, "id": TOUR_ID, "more": 1}),
        _cursor({"created_at": INSTANT}),
        _cursor([INSTANT, 5]),  # the former list shape, with a number
        _cursor([INSTANT, ["a"]]),
        _cursor([INSTANT, TOUR_ID]),  # the former shape: it paged another order
        _cursor([1, 2, 3]),
        _cursor(None),
        _cursor("text"),
        base64.urlsafe_b64encode(b"\xff\xfe not utf-8").decode(),
        base64.urlsafe_b64encode(b"[" * 300).decode()[:500],
        "!!!",
        "a",
    ],
)
def test_malformed_cursors_are_422(clean_db: str, cursor: str) -> None:
    assert_validation_error(call("GET", f"/tours?cursor={cursor}"), ["query", "cursor"])


def test_a_real_cursor_still_pages(booked: dict[str, Any]) -> None:
    second = call("POST", "/tours", tour_body(booked["property_id"], booked["conversation_id"], future_slot(hour=11)))
    first_page = call("GET", "/tours?limit=1")
    assert first_page.status == 200
    next_page = call("GET", f"/tours?limit=1&cursor={first_page.json['next_cursor']}")
    assert next_page.status == 200, next_page.json
    assert [t["id"] for t in first_page.json["items"] + next_page.json["items"]] == [
        booked["tour"]["id"],
        second.json["id"],
    ]


def _routes_with_bodies(booked: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("POST", "/tours"),
        ("PATCH", f"/tours/{booked['tour']['id']}"),
        ("PUT", f"/properties/{booked['property_id']}/tour-schedule"),
    ]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("[" * 5000 + "]" * 5000, "json_too_deep"),
        ("{" + '"a":{' * 5000 + "}" * 5001, "json_too_deep"),
        ("[" * 5000, "json_too_deep"),  # not even closed
        ('{"x": ' + "[" * 17 + "]" * 17 + "}", "json_too_deep"),
        ('{"x": ' + "9" * 5000 + "}", "number_too_long"),
        ('{"x": -' + "9" * 5000 + "}", "number_too_long"),
        ('{"x": 0.' + "1" * 5000 + "}", "number_too_long"),
        ('{"x": 1e999999}', "number_too_large"),
        ('{"x": NaN}', "json_invalid"),
        ('{"x": -Infinity}', "json_invalid"),
    ],
)
def test_bodies_past_the_json_bounds_are_422(booked: dict[str, Any], raw: str, kind: str) -> None:
    for method, path in _routes_with_bodies(booked):
        answer = call(method, path, raw_body=raw)
        assert_validation_error(answer, ["body"])
        assert answer.json["error"]["details"][0]["type"] == kind


def test_brackets_and_digits_inside_strings_are_text(booked: dict[str, Any]) -> None:
    # given staff notes of 5,000 brackets and a 5,000-digit string: text, not nesting or numbers
    for notes in ("[" * 2500 + '\\"' + "{" * 1000, "9" * 3900):
        answer = call("PATCH", f"/tours/{booked['tour']['id']}", raw_body=json.dumps({"staff_notes": notes}))
        assert answer.status == 200, answer.json
        assert answer.json["staff_notes"] == notes


def test_a_5000_digit_integer_where_the_contract_wants_a_number_is_422(booked: dict[str, Any]) -> None:
    body = json.dumps(schedule_body()).replace('"capacity": 2', '"capacity": ' + "9" * 5000)
    answer = call("PUT", f"/properties/{booked['property_id']}/tour-schedule", raw_body=body)
    assert_validation_error(answer, ["body"])
    for query in ("limit", "days"):
        path = "/tours" if query == "limit" else f"/properties/{booked['property_id']}/availability"
        assert_validation_error(call("GET", f"{path}?{query}={'9' * 5000}"), ["query", query])
