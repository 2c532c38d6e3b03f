"""The slot's JSON shape, defined once in domain.availability: cached as slot_json, answered as answered_slot."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tour_booking.domain.availability import AvailableSlot, Slot, answered_slot, slot_json
from tour_booking.domain.enums import TourType

START = datetime(2030, 1, 7, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
SLOT = Slot(
    start=START,
    end=START + timedelta(minutes=30),
    tour_types=[TourType.IN_PERSON, TourType.VIRTUAL],
    capacity=3,
    remaining=2,
)


def test_the_cached_shape_is_the_slot_model_in_its_order_with_local_offsets() -> None:
    cached = slot_json(SLOT)

    assert list(cached) == list(Slot.model_fields)
    assert json.dumps(cached) == (
        '{"start": "2030-01-07T09:00:00-06:00", "end": "2030-01-07T09:30:00-06:00", '
        '"tour_types": ["in_person", "virtual"], "capacity": 3, "remaining": 2}'
    )
    assert Slot.model_validate(cached) == SLOT


def test_the_answered_shape_is_the_cached_one_without_capacity() -> None:
    answered = answered_slot(slot_json(SLOT))

    assert list(answered) == list(AvailableSlot.model_fields) == ["start", "end", "tour_types", "remaining"]
    assert AvailableSlot.model_validate(answered).model_dump() == SLOT.model_dump(exclude={"capacity"})
