"""Slots and availability days, as cached and as answered to DomIQ."""

from __future__ import annotations

from datetime import date, datetime
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


class AvailabilityDay(BaseModel):
    date: date
    slots: list[AvailableSlot]
    last_updated: datetime
    stale: bool


class Availability(BaseModel):
    property_id: UUID
    timezone: str
    days: list[AvailabilityDay]
