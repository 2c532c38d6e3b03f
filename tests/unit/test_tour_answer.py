"""A tour is answered field by field of the documented model, in the formats the contract has always had."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tour_booking.api.tour_answer import tour_json
from tour_booking.domain.tour import Tour


def tour_row(**overrides: Any) -> dict[str, Any]:
    booked = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "property_id": uuid.uuid4(),
        "resman_appointment_id": None,
        "resman_prospect_id": "P-1",
        "tour_type": "in_person",
        "scheduled_datetime": booked,
        "scheduled_end": datetime(2026, 7, 1, 14, 30, 0, 250_000, tzinfo=UTC),
        "status": "scheduled",
        "prospect_info": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "staff_notes": None,
        "preferences": {"bedrooms": 2, "max_rent": 1500},
        "sync_status": "pending",
        "version": 1,
        "synced_version": 0,
        "sync_attempts": 0,
        "last_sync_error": None,
        "last_synced_at": None,
        "created_at": booked,
        "updated_at": booked,
        "timezone": "America/New_York",
    }
    row.update(overrides)
    return row


def test_a_tour_answer_has_the_models_fields_ids_as_text_and_local_times() -> None:
    # given a tour's row of a property in New York
    row = tour_row()
    # when it is answered
    answer = tour_json(row)
    # then it has exactly the documented fields, validates as the documented model, and keeps the stored values
    assert list(answer) == list(Tour.model_fields)
    Tour.model_validate(answer)
    assert answer["id"] == str(row["id"])
    assert answer["scheduled_datetime"] == "2026-07-01T10:00:00-04:00"
    assert answer["scheduled_end"] == "2026-07-01T10:30:00.250000-04:00"
    assert answer["last_synced_at"] is None
    assert answer["preferences"] == {"bedrooms": 2, "max_rent": 1500}


def test_a_tour_without_a_time_zone_is_answered_in_utc_written_as_an_offset() -> None:
    assert tour_json(tour_row(timezone=None))["created_at"] == "2026-07-01T14:00:00+00:00"
