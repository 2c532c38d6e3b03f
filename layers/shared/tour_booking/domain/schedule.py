"""A property's tour schedule: the rules that available slots are derived from."""

from __future__ import annotations

from datetime import date, time
from functools import cache
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tour_booking.domain.enums import TourType
from tour_booking.domain.xml_text import ResManText

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Files of a zoneinfo directory that are no IANA zone: `localtime` is the host's own zone (a link to whichever zone
# the machine is set to); `posixrules` is a template. available_timezones() lists `localtime` where it is a file.
NOT_ZONES = frozenset({"localtime", "posixrules"})


@cache
def iana_zone_names() -> frozenset[str]:
    """The IANA zones this Python knows (read once per container: listing them reads every zone file)."""
    return frozenset(available_timezones() - NOT_ZONES)


def is_iana_zone(name: str) -> bool:
    """Whether `name` is an IANA zone name of Python's zone list: `posix/...` and `right/...` are not (ZoneInfo
    loads them all the same, and PostgreSQL may not know them)."""
    return name in iana_zone_names()


HourMinute = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]


class Blackout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: date
    end_date: date
    # Text XML 1.0 can carry, should a blackout's reason ever travel to ResMan (models.xml_text).
    reason: Annotated[ResManText, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


class TourSchedule(BaseModel):
    """What leasing teams set per property; times in `weekly_hours` are local to `timezone`."""

    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, Field(max_length=64, examples=["America/New_York"])]
    slot_minutes: Annotated[int, Field(ge=5, le=480)]
    buffer_minutes: Annotated[int, Field(ge=0, le=480)] = 0
    min_notice_minutes: Annotated[int, Field(ge=0, le=43200)] = 0
    capacity: Annotated[int, Field(ge=0, le=1000)]
    tour_types: Annotated[list[TourType], Field(min_length=1, max_length=3)]
    weekly_hours: dict[Weekday, Annotated[list[tuple[HourMinute, HourMinute]], Field(max_length=24)]]
    blackouts: Annotated[list[Blackout], Field(max_length=366)] = []
    horizon_days: Annotated[int, Field(ge=1, le=365)] = 14
    resman_account_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")] | None = None
    resman_property_id: (
        Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")] | None
    ) = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @field_validator("tour_types")
    @classmethod
    def _distinct(cls, value: list[TourType]) -> list[TourType]:
        if len(set(value)) != len(value):
            raise ValueError("tour_types repeats a value")
        return value

    @field_validator("weekly_hours")
    @classmethod
    def _windows_ordered(cls, value: dict[Weekday, list[tuple[str, str]]]) -> dict[Weekday, list[tuple[str, str]]]:
        for day, windows in value.items():
            ordered = sorted(windows)
            for opens, closes in ordered:
                if opens >= closes:
                    raise ValueError(f"{day}: window {opens}-{closes} does not end after it starts")
            for (_, closes), (next_opens, _) in pairwise(ordered):
                if next_opens < closes:
                    raise ValueError(f"{day}: windows overlap")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def windows(self, weekday: Weekday) -> list[tuple[time, time]]:
        return [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in sorted(self.weekly_hours.get(weekday, []))]

    def is_blacked_out(self, day: date) -> bool:
        return any(blackout.covers(day) for blackout in self.blackouts)
