"""Tour events as DomIQ hears them (README "Tour events"): the detail of each outbox row and its EventBridge entry.

Pure: an outbox row (sql/070's `tour_event_outbox`) in, the event out. Every delivery of one row builds the same
detail, `event_id` included. The detail names the tour and what happened to it, never the prospect: DomIQ reads
the tour when it needs more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SOURCE = "tour-booking"
DETAIL_TYPES = (
    "TourBooked",
    "TourRescheduled",
    "TourConfirmed",
    "TourCancelled",
    "TourCompleted",
    "TourNoShow",
    "TourSyncFailed",
    "TourReminderDue",
)
ORIGINS = ("domiq", "resman", "system")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """The event's `detail`: times of the tour with the property's offset, `occurred_at` in UTC;
    `previous_scheduled_datetime` only on reschedules, `reminder_minutes` only on reminders."""
    zone = _zone(row.get("timezone"))
    start: datetime = row["scheduled_datetime"]
    body: dict[str, Any] = {
        "event_id": str(row["event_id"]),
        "tour_id": str(row["tour_id"]),
        "property_id": str(row["property_id"]),
        "conversation_id": str(row["conversation_id"]),
        "status": row["status"],
        "tour_type": row["tour_type"],
        "scheduled_datetime": start.astimezone(zone).isoformat(),
        "version": int(row["tour_version"]),
        "occurred_at": row["occurred_at"].astimezone(UTC).isoformat(),
        "origin": row["origin"],
    }
    if row["detail_type"] == "TourRescheduled":
        previous: datetime | None = row.get("previous_scheduled_datetime")
        body["previous_scheduled_datetime"] = None if previous is None else previous.astimezone(zone).isoformat()
    if row["detail_type"] == "TourReminderDue":
        body["reminder_minutes"] = int(row["reminder_minutes"])
    return body


def entry(row: Mapping[str, Any], bus_name: str) -> dict[str, Any]:
    """The PutEvents entry of an outbox row."""
    return {
        "Source": SOURCE,
        "DetailType": row["detail_type"],
        "Detail": json.dumps(detail(row), separators=(",", ":")),
        "EventBusName": bus_name,
        "Time": row["occurred_at"],
        "Resources": [],
    }
