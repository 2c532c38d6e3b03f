"""The pure parts of the tour events: an outbox row's detail and entry, the reminders' offsets setting."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tour_booking.domain.tour_events import detail, entry
from tour_booking.settings import Settings

ROW = {
    "seq": 7,
    "event_id": uuid.UUID("11111111-1111-4111-8111-111111111111"),
    "detail_type": "TourRescheduled",
    "tour_id": uuid.UUID("22222222-2222-4222-8222-222222222222"),
    "property_id": uuid.UUID("33333333-3333-4333-8333-333333333333"),
    "conversation_id": uuid.UUID("44444444-4444-4444-8444-444444444444"),
    "status": "confirmed",
    "tour_type": "virtual",
    "scheduled_datetime": datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
    "previous_scheduled_datetime": datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    "tour_version": 3,
    "reminder_minutes": None,
    "origin": "domiq",
    "timezone": "America/Chicago",
    "occurred_at": datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
}


def test_a_reschedule_carries_both_starts_with_the_propertys_offset() -> None:
    body = detail(ROW)
    assert body["scheduled_datetime"] == "2026-12-03T10:00:00-06:00"
    assert body["previous_scheduled_datetime"] == "2026-12-02T09:00:00-06:00"
    assert body["occurred_at"] == "2026-12-01T12:00:00+00:00"
    assert (body["event_id"], body["version"], body["origin"]) == (str(ROW["event_id"]), 3, "domiq")
    assert "reminder_minutes" not in body


def test_only_reminders_carry_reminder_minutes_and_only_reschedules_the_previous_start() -> None:
    reminder = detail({**ROW, "detail_type": "TourReminderDue", "reminder_minutes": 120, "origin": "system"})
    assert reminder["reminder_minutes"] == 120
    assert "previous_scheduled_datetime" not in reminder


def test_every_delivery_of_a_row_is_the_same_entry() -> None:
    first, second = entry(ROW, "bus"), entry(dict(ROW), "bus")
    assert first == second
    assert (first["Source"], first["DetailType"], first["EventBusName"]) == ("tour-booking", "TourRescheduled", "bus")
    assert json.loads(first["Detail"])["tour_id"] == str(ROW["tour_id"])


def test_an_unknown_zone_falls_back_to_utc() -> None:
    assert detail({**ROW, "timezone": "Mars/Olympus"})["scheduled_datetime"] == "2026-12-03T16:00:00+00:00"


def test_reminder_offsets_are_comma_separated_minutes() -> None:
    assert Settings(reminder_offsets_minutes="120, 1440").reminder_offsets_minutes == (1440, 120)
    assert Settings().reminder_offsets_minutes == (1440, 120)
    with pytest.raises(ValidationError):
        Settings(reminder_offsets_minutes="0,60")
