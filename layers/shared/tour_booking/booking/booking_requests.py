"""What a booking, a change of a tour and a hold take: validated input of the booking and holds services."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tour_booking.domain.enums import TourStatus, TourType
from tour_booking.domain.storable_text import StorableText
from tour_booking.domain.time_bounds import INSTANT_RANGE, Instant
from tour_booking.domain.tour import Preferences, Prospect, StaffNotes


class CreateTourRequest(StorableText):
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


class UpdateTourRequest(StorableText):
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
