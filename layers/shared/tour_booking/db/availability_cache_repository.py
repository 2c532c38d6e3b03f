"""The availability cache: the only Python that writes `calendar_availability_cache`.

A cached slot is domain.availability.slot_json of its Slot. Triggers on tour_booking_sync and
resman_staff_appointment (sql/functions/50_cached_slots.sql) keep `remaining` right between refreshes: capacity
minus the peak occupancy of the slot's period by tours and staff appointments. Holds are not stored (one expires
without a write): the availability read (db/availability_read.py) recounts the slots a live hold overlaps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg

from tour_booking.domain.availability import Slot, slot_json

Connection = psycopg.Connection[dict[str, Any]]


_UPSERT = (
    b"INSERT INTO calendar_availability_cache (property_id, date, available_slots, last_updated) "
    b"SELECT %(property_id)s, d.date, d.slots, %(now)s "
    b"FROM jsonb_to_recordset(%(days)s::jsonb) AS d(date date, slots jsonb) "
)


def insert_missing_days(conn: Connection, property_id: UUID, days: Mapping[date, list[Slot]], now: datetime) -> None:
    """Stores days computed on demand, leaving alone a day that another writer stored meanwhile."""
    if not days:
        return
    conn.execute(
        _UPSERT + b"ON CONFLICT (property_id, date) DO NOTHING",
        {"property_id": property_id, "now": now, "days": _days_json(days)},
    )


def _days_json(days: Mapping[date, list[Slot]]) -> str:
    return json.dumps(
        [{"date": day.isoformat(), "slots": [slot_json(s) for s in slots]} for day, slots in days.items()]
    )


def delete_days_before(conn: Connection, property_id: UUID, day: date) -> None:
    conn.execute(b"DELETE FROM calendar_availability_cache WHERE property_id = %s AND date < %s", (property_id, day))


def delete_days(conn: Connection, property_id: UUID) -> None:
    """Drops every cached day of the property (a schedule change: they were derived from the old rules)."""
    conn.execute(b"DELETE FROM calendar_availability_cache WHERE property_id = %s", (property_id,))


def cached_dates_between(conn: Connection, property_id: UUID, first: date, last: date) -> list[date]:
    rows = conn.execute(
        b"SELECT date FROM calendar_availability_cache WHERE property_id = %s AND date BETWEEN %s AND %s ORDER BY date",
        (property_id, first, last),
    ).fetchall()
    return [row["date"] for row in rows]


def upsert_days_json(conn: Connection, property_id: UUID, days_json: str, now: datetime) -> None:
    """Stores (replaces) days already serialized as `[{"date": "YYYY-MM-DD", "slots": [slot_json, ...]}, ...]`,
    in one round trip (the cache refresh builds that text from per-day layouts it keeps between runs)."""
    conn.execute(
        _UPSERT + b"ON CONFLICT (property_id, date) DO UPDATE "
        b"SET available_slots = EXCLUDED.available_slots, last_updated = EXCLUDED.last_updated",
        {"property_id": property_id, "now": now, "days": days_json},
    )
