"""The API's side of what reaches ResMan: text XML 1.0 cannot carry is a 422 naming the field (so every 201 can
reach ResMan), and a tour's `preferences` are accepted, stored, answered and changed like its other fields."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, schedule_body, tour_body

PREFERENCES = {"move_in_date": "2027-06-01", "bedrooms": 2, "max_rent": 1850.5, "comment": "a quiet unit, a dog"}


@pytest.fixture
def booking(clean_db: str) -> dict[str, Any]:
    return tour_body(new_property(), new_conversation(clean_db), future_slot())


def tours_in(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(b"SELECT count(*) FROM tour_booking_sync").fetchone()
    assert row is not None
    return int(row[0])


def assert_names_field(answer: Any, loc: list[str]) -> None:
    assert answer.status == 422, answer.json
    assert answer.json["error"]["code"] == "validation_error"
    locs = [detail["loc"] for detail in answer.json["error"]["details"]]
    assert any(found[: len(loc)] == loc for found in locs), locs
    assert "XML 1.0" in " ".join(str(detail["msg"]) for detail in answer.json["error"]["details"])


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (["prospect", "first_name"], "Ver\u000btab"),
        (["prospect", "last_name"], "Bell\u0007"),
        (["prospect", "last_name"], "not a char \ufffe"),
        (["staff_notes"], "gate \u0001 code"),
        (["staff_notes"], "escape \u001b[31m"),
        (["preferences", "comment"], "two \u001f bedrooms"),
    ],
)
def test_text_xml_cannot_carry_is_a_422_naming_the_field_and_books_nothing(
    clean_db: str, booking: dict[str, Any], path: list[str], text: str
) -> None:
    # given a booking with a character XML 1.0 forbids in one string that would reach ResMan
    body: dict[str, Any] = {**booking, "prospect": dict(booking["prospect"]), "preferences": dict(PREFERENCES)}
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = text
    # when it is posted
    answer = call("POST", "/tours", body)
    # then it is refused, naming the field, and nothing is booked
    assert_names_field(answer, ["body", *path])
    assert tours_in(clean_db) == 0


def test_text_xml_carries_is_booked(clean_db: str, booking: dict[str, Any]) -> None:
    # given tabs, line breaks, accents and characters beyond the BMP
    body = {
        **booking,
        "prospect": {**booking["prospect"], "first_name": "Zoë", "last_name": "Nguyễn 🏠"},
        "staff_notes": "line one\nline two\tindented\r\n",
        "preferences": {"comment": "near the park 🌳"},
    }
    # when it is posted, then it is booked
    answer = call("POST", "/tours", body)
    assert answer.status == 201, answer.json


def test_patch_and_schedule_text_are_checked_too(clean_db: str, booking: dict[str, Any]) -> None:
    tour = call("POST", "/tours", booking).json
    assert_names_field(call("PATCH", f"/tours/{tour['id']}", {"staff_notes": "\u0002"}), ["body", "staff_notes"])
    assert_names_field(
        call("PATCH", f"/tours/{tour['id']}", {"preferences": {"comment": "\u0008"}}),
        ["body", "preferences", "comment"],
    )
    blackout = [{"start_date": "2027-01-01", "end_date": "2027-01-02", "reason": "closed\u000c"}]
    answer = call("PUT", f"/properties/{booking['property_id']}/tour-schedule", schedule_body(blackouts=blackout))
    assert_names_field(answer, ["body", "blackouts", 0, "reason"])  # type: ignore[list-item]


def test_preferences_are_stored_answered_and_changed_like_any_field(clean_db: str, booking: dict[str, Any]) -> None:
    # given a tour booked with preferences
    created = call("POST", "/tours", {**booking, "preferences": PREFERENCES})
    assert created.status == 201, created.json
    assert created.json["preferences"] == PREFERENCES
    tour_id = created.json["id"]
    assert call("GET", f"/tours/{tour_id}").json["preferences"] == PREFERENCES
    # when DomIQ patches the same preferences, nothing changes
    same = call("PATCH", f"/tours/{tour_id}", {"preferences": PREFERENCES})
    assert (same.status, same.json["version"]) == (200, 1), same.json
    # when it patches other preferences, the change is a version ResMan must learn
    changed = call("PATCH", f"/tours/{tour_id}", {"preferences": {"bedrooms": 3}})
    assert changed.status == 200, changed.json
    assert (changed.json["preferences"], changed.json["version"], changed.json["sync_status"]) == (
        {"bedrooms": 3},
        2,
        "pending",
    )
    # and null clears them (another version)
    cleared = call("PATCH", f"/tours/{tour_id}", {"preferences": None})
    assert (cleared.json["preferences"], cleared.json["version"]) == (None, 3)
    # and a tour booked without preferences answers null
    other = call("POST", "/tours", {**booking, "scheduled_datetime": future_slot(hour=11)})
    assert other.json["preferences"] is None


@pytest.mark.parametrize(
    "preferences",
    [
        {"bedrooms": 11},
        {"bedrooms": -1},
        {"bedrooms": "two"},
        {"max_rent": -1},
        {"move_in_date": "next week"},
        {"move_in_date": "2027-13-01"},
        {"comment": "x" * 1001},
        {"pets": True},
        ["bedrooms", 2],
    ],
)
def test_invalid_preferences_are_422(clean_db: str, booking: dict[str, Any], preferences: Any) -> None:
    answer = call("POST", "/tours", {**booking, "preferences": preferences})
    assert answer.status == 422, answer.json
    assert answer.json["error"]["code"] == "validation_error"
    assert all(detail["loc"][:2] == ["body", "preferences"] for detail in answer.json["error"]["details"])
    assert tours_in(clean_db) == 0
