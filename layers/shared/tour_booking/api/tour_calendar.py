"""A tour as an iCalendar event (RFC 5545), for DomIQ's "add to calendar" link (GET /tours/{id}/calendar.ics).

Pure: the tour's row in, the calendar's text out. `UID` is stable per tour, so a calendar that imported the link
once updates that event; `SEQUENCE` is the tour's version; start and end are in UTC; a cancelled tour is
`STATUS:CANCELLED`. The event carries no prospect details (the link may be forwarded).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

PRODID = "-//DomIQ//Tour booking//EN"
UID_DOMAIN = "tour-booking.domiq"
_TOUR_TYPES = {"in_person": "In-person tour", "virtual": "Virtual tour", "self_guided": "Self-guided tour"}


def tour_uid(tour_id: Any) -> str:
    return f"tour-{tour_id}@{UID_DOMAIN}"


def tour_ics(row: dict[str, Any]) -> str:
    """The calendar of one tour: `row` holds id, tour_type, scheduled_datetime, scheduled_end, status, version
    and updated_at."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", tour_uid(row["id"]))
    event.add("sequence", int(row["version"]))
    updated: datetime = row["updated_at"]
    event.add("dtstamp", updated.astimezone(UTC))
    event.add("last-modified", updated.astimezone(UTC))
    event.add("dtstart", row["scheduled_datetime"].astimezone(UTC))
    event.add("dtend", row["scheduled_end"].astimezone(UTC))
    event.add("summary", f"{_TOUR_TYPES.get(row['tour_type'], 'Tour')} of the apartment community")
    event.add("status", "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    text: str = calendar.to_ical().decode()
    return text
