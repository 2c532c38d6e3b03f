"""The instants and dates the API accepts: far enough from Python's and psycopg's limits that no arithmetic on
them (a day more, an offset to UTC, a month of availability) can overflow.

`datetime` ends at 9999-12-31 in its own offset: `9999-12-31T23:59:59-12:00` is a valid ISO 8601 text but has no
UTC instant Python can hold, and a date near the end has no "next day". Tours live within a booking horizon of
at most a year, so bounds of 1900 and 2999 refuse nothing a real caller sends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(3000, 1, 1, tzinfo=UTC)


def bounded_instant(value: datetime) -> datetime:
    # Aware datetimes compare as instants without converting either one, so this cannot overflow.
    if not EARLIEST_INSTANT <= value < LATEST_INSTANT:
        raise ValueError(f"must be from {EARLIEST_INSTANT.isoformat()} to before {LATEST_INSTANT.isoformat()}")
    return value


def bounded_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must be from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}")
    return value


INSTANT_RANGE = "an instant from 1900-01-01T00:00:00Z to before 3000-01-01T00:00:00Z"
DATE_RANGE = "a date from 1900-01-01 to 2999-12-31"

Instant = Annotated[AwareDatetime, AfterValidator(bounded_instant)]
"""An ISO 8601 instant with an offset, in [EARLIEST_INSTANT, LATEST_INSTANT)."""

LocalDate = Annotated[date, AfterValidator(bounded_date)]
"""A date in [EARLIEST_DATE, LATEST_DATE]."""
