"""The tour: one row of tour_booking_sync."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tour_booking.domain.enums import SyncStatus, TourStatus, TourType
from tour_booking.domain.xml_text import ResManText, xml_text

# Names, email and phone travel to ResMan's guest card: text XML 1.0 can carry (models.xml_text).
Name = Annotated[ResManText, Field(min_length=1, max_length=100)]
# E.164-ish: digits with optional +, spaces, dots, dashes and parentheses; 7 to 15 digits checked below.
Phone = Annotated[ResManText, Field(min_length=7, max_length=25, pattern=r"^\+?[0-9 ().-]+$")]


def _email(value: str) -> str:
    """pydantic's EmailStr check and normalization, with email_validator imported by the first email checked
    rather than when this module is (cold start: EmailStr imports it when a model using it is defined)."""
    from pydantic.networks import validate_email  # noqa: PLC0415

    return validate_email(value)[1]


Email = Annotated[str, AfterValidator(_email), AfterValidator(xml_text), Field(json_schema_extra={"format": "email"})]
StaffNotes = Annotated[ResManText, Field(max_length=4000)]


class Prospect(BaseModel):
    # repr=False: a repr lands in debug logs (Powertools logs route arguments at DEBUG); personal data must not.
    model_config = ConfigDict(extra="forbid")

    first_name: Annotated[Name, Field(repr=False)]
    last_name: Annotated[Name, Field(repr=False)]
    email: Annotated[Email | None, Field(max_length=254, repr=False)] = None
    phone: Annotated[Phone | None, Field(repr=False)] = None

    @model_validator(mode="after")
    def _reachable(self) -> Prospect:
        if self.email is None and self.phone is None:
            raise ValueError("give at least one of email or phone")
        if self.phone is not None and not 7 <= sum(c.isdigit() for c in self.phone) <= 15:
            raise ValueError("phone must hold 7 to 15 digits")
        return self


class Preferences(BaseModel):
    """What the prospect told the chat about what they want, for the guest card's MITS CustomerPreferences
    (TargetMoveInDate, DesiredNumBedrooms, DesiredRent, Comment). Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    move_in_date: Annotated[date | None, Field(description="target move-in date, YYYY-MM-DD")] = None
    bedrooms: Annotated[int | None, Field(ge=0, le=10, description="desired number of bedrooms")] = None
    max_rent: Annotated[
        float | None, Field(ge=0, le=10_000_000, allow_inf_nan=False, description="desired rent at most")
    ] = None
    comment: Annotated[
        ResManText | None, Field(max_length=1000, repr=False, description="what the prospect told the chat")
    ] = None


class Tour(BaseModel):
    id: UUID
    conversation_id: UUID
    property_id: UUID
    resman_appointment_id: str | None
    resman_prospect_id: str | None
    tour_type: TourType
    scheduled_datetime: AwareDatetime
    scheduled_end: AwareDatetime = Field(
        description="end of the slot the tour was booked with; it occupies its property until this plus the buffer"
    )
    status: TourStatus
    prospect_info: Prospect
    staff_notes: str | None
    preferences: Preferences | None
    sync_status: SyncStatus
    version: int
    synced_version: int
    sync_attempts: int
    last_sync_error: str | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime
