"""Bodies of the booking API that only HTTP has: the schedule as sent and answered, holds, pages, rates, errors.

The inputs of the services (a booking, a change of a tour, a hold) are tour_booking.booking.booking_requests."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from tour_booking.domain.enums import TourType
from tour_booking.domain.schedule import TourSchedule, is_iana_zone
from tour_booking.domain.storable_text import StorableText
from tour_booking.domain.tour import Tour


class TourScheduleBody(TourSchedule, StorableText):
    """PUT /properties/{property_id}/tour-schedule body and GET answer."""

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        # Stricter than TourSchedule, which also reads the schedules already stored: a new schedule names a zone
        # of Python's IANA list (the booking service checks the database's list too).
        if not is_iana_zone(value):
            raise ValueError("not an IANA time zone name (such as America/New_York)")
        return value


class ScheduleConflict(BaseModel):
    """An active future tour that the saved schedule no longer fits; the tour itself is left as it is."""

    tour_id: UUID
    scheduled_datetime: AwareDatetime
    reason: Literal["over_capacity", "outside_hours", "off_grid", "blackout", "tour_type_withdrawn"] = Field(
        description="the first that applies, in this order: tour_type_withdrawn, blackout, outside_hours, "
        "off_grid, over_capacity (over capacity beside the occupants booked before the tour)"
    )


class SavedTourSchedule(TourScheduleBody):
    """PUT /properties/{property_id}/tour-schedule answer: the saved schedule and what it no longer fits."""

    conflicts: list[ScheduleConflict]


class Hold(BaseModel):
    """A live hold: one seat of the slot kept until expires_at (times with the property's local offset)."""

    id: UUID
    property_id: UUID
    scheduled_datetime: AwareDatetime
    tour_type: TourType
    conversation_id: UUID | None
    expires_at: AwareDatetime


class TourPage(BaseModel):
    items: list[Tour]
    next_cursor: str | None = Field(description="opaque; pass as `cursor` for the next page; null on the last page")


class SuccessRate(BaseModel):
    property_id: UUID
    completion_rate: float | None
    sync_success_rate: float | None


class SuccessRates(BaseModel):
    items: list[SuccessRate]


class Health(BaseModel):
    status: str


class ErrorDetail(BaseModel):
    """One problem of a request: where (`loc`), what kind (`type`), and a message; never the input value."""

    loc: list[str | int] | None = None
    type: str | None = None
    msg: str | None = None


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    """Every error answer: {"error": {"code", "message", "details"}}."""

    error: ErrorInfo
