"""Slots and availability days, as cached and as answered to DomIQ: the one definition of a slot's JSON shape.

`Slot` is a slot as calendar_availability_cache stores it (`slot_json`; the SQL of sql/functions/50_cached_slots.sql
reads its start, end and capacity and rewrites its remaining); `AvailableSlot` is the same slot as the availability
answer gives it, without the capacity (`answered_slot`). The models are also the OpenAPI document's schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from tour_booking.domain.enums import TourType


class Slot(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    tour_types: list[TourType]
    capacity: int = Field(ge=0)
    remaining: int = Field(ge=0)


class AvailableSlot(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    tour_types: list[TourType]
    remaining: int = Field(ge=0)


def slot_json(slot: Slot) -> dict[str, Any]:
    """The slot as the cache stores it: Slot's fields in their order, times in ISO 8601 with the slot's own offset
    (built by hand: the cache refresh and the on-demand fill write many, and pydantic would write UTC as "Z")."""
    return {
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "tour_types": [str(t) for t in slot.tour_types],
        "capacity": slot.capacity,
        "remaining": slot.remaining,
    }


def answered_slot(cached: Mapping[str, Any]) -> dict[str, Any]:
    """A slot in the shape of slot_json as the availability answer gives it: AvailableSlot's fields in their order
    (written out: the hot path builds one per offered slot, and a loop over the fields costs twice as much)."""
    return {
        "start": cached["start"],
        "end": cached["end"],
        "tour_types": cached["tour_types"],
        "remaining": cached["remaining"],
    }


class AvailabilityDay(BaseModel):
    date: date
    slots: list[AvailableSlot]
    last_updated: datetime
    stale: bool


class Availability(BaseModel):
    property_id: UUID
    timezone: str
    days: list[AvailabilityDay]
