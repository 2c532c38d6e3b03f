"""A tour as answered, built field by field from the documented model (tour_booking.domain.tour.Tour), so the
answer and the OpenAPI document name the same fields: ids as text, times with the property's local offset
(isoformat: `+00:00`, never `Z`), every other value as stored."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tour_booking.domain.tour import Tour

_FIELDS = tuple(Tour.model_fields)


def tour_json(row: dict[str, Any]) -> dict[str, Any]:
    """The tour of a row of tour_booking_sync (with its property's `timezone`, when the row has one)."""
    zone: tzinfo = ZoneInfo(row["timezone"]) if row.get("timezone") else UTC
    return {name: _answered(row[name], zone) for name in _FIELDS}


def _answered(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    return value
