"""The availability cache: the only code that reads or writes `calendar_availability_cache`.

A cached slot is domain.availability.slot_json of its Slot. Triggers on tour_booking_sync and
resman_staff_appointment (sql/functions/50_cached_slots.sql) keep `remaining` right between refreshes: capacity
minus the peak occupancy of the slot's period by tours and staff appointments. Holds are not stored (one expires without a write): the availability read recounts the slots a live hold overlaps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg

from tour_booking import db
from tour_booking.domain.availability import Slot, slot_json

Connection = psycopg.Connection[dict[str, Any]]


def read_days_json(
    conn: Connection, property_id: UUID, days: list[date]
) -> dict[date, tuple[list[dict[str, Any]], datetime]]:
    """The cached days as stored (slot dicts, not models): the availability read path stays cheap."""
    rows = conn.execute(
        b"SELECT date, available_slots, last_updated FROM calendar_availability_cache "
        b"WHERE property_id = %s AND date = ANY(%s)",
        (property_id, days),
    ).fetchall()
    return {row["date"]: (row["available_slots"], row["last_updated"]) for row in rows}


def read_days(conn: Connection, property_id: UUID, days: list[date]) -> dict[date, tuple[list[Slot], datetime]]:
    return {
        day: ([Slot.model_validate(item) for item in slots], last_updated)
        for day, (slots, last_updated) in read_days_json(conn, property_id, days).items()
    }


_UPSERT = (
    b"INSERT INTO calendar_availability_cache (property_id, date, available_slots, last_updated) "
    b"SELECT %(property_id)s, d.date, d.slots, %(now)s "
    b"FROM jsonb_to_recordset(%(days)s::jsonb) AS d(date date, slots jsonb) "
)


def upsert_days(conn: Connection, property_id: UUID, days: Mapping[date, list[Slot]], now: datetime) -> None:
    """Stores (replaces) the slots of each day, in one round trip."""
    if not days:
        return
    conn.execute(
        _UPSERT + b"ON CONFLICT (property_id, date) DO UPDATE "
        b"SET available_slots = EXCLUDED.available_slots, last_updated = EXCLUDED.last_updated",
        {"property_id": property_id, "now": now, "days": _days_json(days)},
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


# One round trip for the hot path: the schedule row (JSON columns as text: they are parsed only when the
# container has not parsed this schedule version yet), then one row per wanted local date with its cached
# slots as JSON text, NULL when the cache does not hold the date. The cache counts no holds (sql/060): when the
# property has a live hold near a day, that day goes through slots_with_live_holds, which recounts the slots the
# hold overlaps (one index probe per day otherwise).
_AVAILABLE_DAYS = (
    b"SELECT s.property_id, s.updated_at, s.timezone, s.slot_minutes, s.buffer_minutes, s.min_notice_minutes, "
    b"s.capacity, s.tour_types, s.weekly_hours::text AS weekly_hours, s.blackouts::text AS blackouts, "
    b"s.horizon_days, s.resman_account_id, s.resman_property_id, "
    b"d.day::date AS day, "
    b"(CASE WHEN held.live IS NULL THEN c.available_slots "
    b"ELSE slots_with_live_holds(s.property_id, c.available_slots) END)::text AS slots, c.last_updated "
    b"FROM tour_schedule s "
    b"CROSS JOIN LATERAL (SELECT COALESCE(%(start)s::date, (%(now)s::timestamptz AT TIME ZONE s.timezone)::date) "
    b"AS first) f "
    b"CROSS JOIN LATERAL generate_series(f.first, f.first + (%(days)s::int - 1), interval '1 day') AS d(day) "
    b"LEFT JOIN calendar_availability_cache c ON c.property_id = s.property_id AND c.date = d.day::date "
    # A slot and its buffer last at most 16 hours (slot_minutes and buffer_minutes are at most 480 each, see
    # models/schedule.py): a hold that can touch day D starts after D - 1 and before D + 2 (local dates).
    b"LEFT JOIN LATERAL (SELECT true AS live FROM tour_hold h WHERE h.property_id = s.property_id AND hold_is_live(h) "
    b"AND h.scheduled_datetime > (d.day::date - 1)::timestamp AT TIME ZONE s.timezone "
    b"AND h.scheduled_datetime < (d.day::date + 2)::timestamp AT TIME ZONE s.timezone LIMIT 1) held ON true "
    b"WHERE s.property_id = %(property_id)s ORDER BY d.day"
)


def read_available_days(property_id: UUID, start_date: date | None, days: int, now: datetime) -> list[dict[str, Any]]:
    """Rows of _AVAILABLE_DAYS (none when the property has no schedule), read outside a transaction: a
    single statement sees one snapshot, and BEGIN/COMMIT would triple the round trips of the hot path."""
    return db.fetch_all(_AVAILABLE_DAYS, {"property_id": property_id, "start": start_date, "days": days, "now": now})


def cached_dates_between(conn: Connection, property_id: UUID, first: date, last: date) -> list[date]:
    rows = conn.execute(
        b"SELECT date FROM calendar_availability_cache WHERE property_id = %s AND date BETWEEN %s AND %s ORDER BY date",
        (property_id, first, last),
    ).fetchall()
    return [row["date"] for row in rows]


def upsert_days_json(conn: Connection, property_id: UUID, days_json: str, now: datetime) -> None:
    """upsert_days for days already serialized as `[{"date": "YYYY-MM-DD", "slots": [slot_json, ...]}, ...]`
    (the cache refresh builds that text from per-day layouts it keeps between runs)."""
    conn.execute(
        _UPSERT + b"ON CONFLICT (property_id, date) DO UPDATE "
        b"SET available_slots = EXCLUDED.available_slots, last_updated = EXCLUDED.last_updated",
        {"property_id": property_id, "now": now, "days": days_json},
    )
