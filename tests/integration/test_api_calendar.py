"""GET /tours/{tour_id}/calendar.ics: the tour as an iCalendar event (README "Tour events")."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar

from functions.booking_api.app import lambda_handler
from tests.api_events import LambdaContext, api_event, call
from tests.builders import future_slot, new_conversation, new_property, tour_body


def calendar_of(tour_id: str) -> tuple[int, dict[str, Any], str]:
    result = lambda_handler(api_event("GET", f"/tours/{tour_id}/calendar.ics"), LambdaContext())
    headers = dict(result.get("headers") or {})
    headers.update({name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items() if values})
    return result["statusCode"], headers, result["body"]


def test_the_calendar_follows_the_tour(clean_db: str, sqs_queue: Any) -> None:
    # given a booked tour
    start = future_slot(days_ahead=3, hour=10)
    body = tour_body(new_property(), new_conversation(clean_db), start)
    tour = call("POST", "/tours", body).json
    # when its calendar is read
    status, headers, text = calendar_of(tour["id"])
    # then it is one event, in UTC, with the tour's UID and version, and no prospect detail
    assert status == 200
    assert headers["Content-Type"].startswith("text/calendar")
    [event] = Calendar.from_ical(text).walk("VEVENT")
    assert str(event["UID"]) == f"tour-{tour['id']}@tour-booking.domiq"
    assert event.decoded("SEQUENCE") == 1
    assert event.decoded("DTSTART") == datetime.fromisoformat(start).astimezone(UTC)
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0
    assert event.decoded("DTEND") == datetime.fromisoformat(tour["scheduled_end"]).astimezone(UTC)
    assert "DTSTART:" in text and "Z\r\n" in text
    assert str(event["STATUS"]) == "CONFIRMED"
    for secret in ("Ada", "Lovelace", "ada@example.com", "0199"):
        assert secret not in text
    # when it is rescheduled and then cancelled, then the same UID carries the new start, a higher SEQUENCE and
    # STATUS:CANCELLED
    moved = future_slot(days_ahead=4, hour=11)
    assert call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": moved}).status == 200
    assert call("PATCH", f"/tours/{tour['id']}", {"status": "cancelled"}).status == 200
    [event] = Calendar.from_ical(calendar_of(tour["id"])[2]).walk("VEVENT")
    assert str(event["UID"]) == f"tour-{tour['id']}@tour-booking.domiq"
    assert event.decoded("SEQUENCE") == 3
    assert event.decoded("DTSTART") == datetime.fromisoformat(moved).astimezone(UTC)
    assert str(event["STATUS"]) == "CANCELLED"


def test_an_unknown_tour_is_404_in_the_error_shape(clean_db: str) -> None:
    status, _, text = calendar_of(str(uuid.uuid4()))
    assert status == 404
    assert json.loads(text)["error"]["code"] == "tour_not_found"
