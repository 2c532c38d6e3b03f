"""Request and response bodies of the booking API (the HTTP contract of SPEC.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from tour_booking.domain.enums import TourStatus, TourType
from tour_booking.domain.schedule import TourSchedule, is_iana_zone
from tour_booking.domain.time_bounds import INSTANT_RANGE, Instant
from tour_booking.domain.tour import Preferences, Prospect, StaffNotes, Tour


def _storable(value: Any) -> Any:
    """PostgreSQL text holds neither NUL nor lone surrogates; refuse them here, as bad input, not at the INSERT."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError("text must be valid Unicode") from error
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    return value


class _StorableText(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_unstorable_text(cls, data: Any) -> Any:
        return _storable(data)


class TourScheduleBody(TourSchedule, _StorableText):
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


class CreateTourRequest(_StorableText):
    model_config = ConfigDict(extra="forbid")

    conversation_id: UUID
    property_id: UUID
    tour_type: TourType
    scheduled_datetime: Annotated[Instant, Field(description=f"ISO 8601 with an offset; {INSTANT_RANGE}")]
    prospect: Prospect
    # repr=False like the prospect's fields: notes may carry personal details (a gate code, a phone number).
    staff_notes: Annotated[StaffNotes | None, Field(repr=False)] = None
    preferences: Preferences | None = None
    hold_id: Annotated[
        UUID | None,
        Field(
            description="a hold of this conversation's chat (POST /holds): live and for the same property, start and "
            "tour type, the booking always gets its seat and consumes it; live for another slot, 409 hold_mismatch; "
            "unknown or expired, the booking competes for the slot like any other"
        ),
    ] = None


class CreateHoldRequest(BaseModel):
    """POST /holds body."""

    model_config = ConfigDict(extra="forbid")

    property_id: UUID
    scheduled_datetime: Annotated[Instant, Field(description=f"a slot start, ISO 8601 with an offset; {INSTANT_RANGE}")]
    tour_type: TourType
    conversation_id: Annotated[
        UUID | None, Field(description="a conversation holds at most 3 slots at once (409 too_many_holds)")
    ] = None
    ttl_seconds: Annotated[
        int | None, Field(ge=60, le=900, description="how long the seat is kept; default HOLD_TTL_SECONDS (300)")
    ] = None


class Hold(BaseModel):
    """A live hold: one seat of the slot kept until expires_at (times with the property's local offset)."""

    id: UUID
    property_id: UUID
    scheduled_datetime: AwareDatetime
    tour_type: TourType
    conversation_id: UUID | None
    expires_at: AwareDatetime


class UpdateTourRequest(_StorableText):
    model_config = ConfigDict(extra="forbid")

    scheduled_datetime: Annotated[Instant, Field(description=f"ISO 8601 with an offset; {INSTANT_RANGE}")] | None = None
    tour_type: TourType | None = None
    status: TourStatus | None = None
    # repr=False like the prospect's fields: notes may carry personal details (a gate code, a phone number).
    staff_notes: Annotated[StaffNotes | None, Field(repr=False)] = None
    preferences: Annotated[
        Preferences | None, Field(description="replaces the stored preferences; null clears them")
    ] = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateTourRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of scheduled_datetime, tour_type, status, staff_notes, preferences")
        for field in ("scheduled_datetime", "tour_type", "status"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


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
