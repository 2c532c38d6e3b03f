"""Tour schedules: the only Python that writes `tour_schedule` (and creates `property` stand-ins), and reads the
time zones the database knows (`pg_timezone_names`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from tour_booking.domain.errors import PropertyNotFoundError
from tour_booking.domain.schedule import TourSchedule

Connection = psycopg.Connection[dict[str, Any]]

COLUMNS = (
    b"timezone, slot_minutes, buffer_minutes, min_notice_minutes, capacity, tour_types, weekly_hours, "
    b"blackouts, horizon_days, resman_account_id, resman_property_id"
)


# Parsed schedules of this container, by (property_id, updated_at): updated_at moves on every change
# (trigger set_updated_at), so a hit is the stored schedule; the hot availability path skips re-validation.
_parsed: dict[tuple[UUID, datetime], TourSchedule] = {}
_PARSED_LIMIT = 4096


# The database's zone names, read once per container: they change only with the server's time zone data.
_database_zones: frozenset[str] | None = None


def database_zone_names(conn: Connection) -> frozenset[str]:
    """The time zone names the database can compute with (`AT TIME ZONE`, the triggers of sql/): a zone that
    Python knows but the server does not would fail every booking of the property."""
    global _database_zones  # a per-container cache
    if _database_zones is None:
        rows = conn.execute(b"SELECT name FROM pg_timezone_names").fetchall()
        _database_zones = frozenset(row["name"] for row in rows)
    return _database_zones


def schedule_from_row(row: dict[str, Any]) -> TourSchedule:
    """The schedule of a tour_schedule row that holds COLUMNS plus property_id and updated_at."""
    key = (row["property_id"], row["updated_at"])
    schedule = _parsed.get(key)
    if schedule is None:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        schedule = _parsed[key] = _to_schedule(row)
    return schedule


def _to_schedule(row: dict[str, Any]) -> TourSchedule:
    return TourSchedule.model_validate(
        {
            "timezone": row["timezone"],
            "slot_minutes": row["slot_minutes"],
            "buffer_minutes": row["buffer_minutes"],
            "min_notice_minutes": row["min_notice_minutes"],
            "capacity": row["capacity"],
            "tour_types": row["tour_types"],
            "weekly_hours": _json_value(row["weekly_hours"]),
            "blackouts": _json_value(row["blackouts"]),
            "horizon_days": row["horizon_days"],
            "resman_account_id": row["resman_account_id"],
            "resman_property_id": row["resman_property_id"],
        }
    )


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def get_schedule(conn: Connection, property_id: UUID) -> TourSchedule | None:
    row = conn.execute(
        b"SELECT property_id, updated_at, " + COLUMNS + b" FROM tour_schedule WHERE property_id = %s", (property_id,)
    ).fetchone()
    return None if row is None else schedule_from_row(row)


def version(conn: Connection, property_id: UUID) -> datetime | None:
    """The schedule's updated_at (moved by every change, trigger set_updated_at), None without a schedule."""
    row = conn.execute(b"SELECT updated_at FROM tour_schedule WHERE property_id = %s", (property_id,)).fetchone()
    return None if row is None else row["updated_at"]


def list_active_schedules(conn: Connection) -> list[tuple[UUID, TourSchedule]]:
    rows = conn.execute(
        b"SELECT property_id, " + COLUMNS + b" FROM tour_schedule WHERE is_active ORDER BY property_id"
    ).fetchall()
    return [(row["property_id"], _to_schedule(row)) for row in rows]


def list_active_accounts(conn: Connection) -> list[tuple[UUID, str | None]]:
    """(property, ResMan account or None) of every active property: what the refresh schedule batches."""
    rows = conn.execute(
        b"SELECT property_id, resman_account_id FROM tour_schedule WHERE is_active ORDER BY property_id"
    ).fetchall()
    return [(row["property_id"], row["resman_account_id"]) for row in rows]


def active_schedules_of(conn: Connection, property_ids: Sequence[UUID]) -> list[tuple[UUID, TourSchedule]]:
    """The schedules of those of `property_ids` that are still active, in their order."""
    rows = conn.execute(
        b"SELECT property_id, " + COLUMNS + b" FROM tour_schedule WHERE is_active AND property_id = ANY(%s)",
        (list(property_ids),),
    ).fetchall()
    found = {row["property_id"]: _to_schedule(row) for row in rows}
    return [(pid, found[pid]) for pid in property_ids if pid in found]


def put_schedule(conn: Connection, property_id: UUID, schedule: TourSchedule) -> TourSchedule:
    """Creates or replaces the schedule (and the minimal property row when absent). The cached days derived from
    the old rules are the caller's to drop (availability_cache_repository.delete_days, same transaction).

    Raises PropertyNotFoundError when the property is absent and cannot be created, i.e. beside DomIQ's
    real `property` table, whose NOT NULL columns an id-only insert cannot fill.
    """
    # The NOT EXISTS guard matters beside DomIQ's table: PostgreSQL checks NOT NULL before ON CONFLICT,
    # so an id-only insert of an existing property would fail too.
    try:
        with conn.transaction():
            conn.execute(
                b"INSERT INTO property (id) SELECT %(id)s WHERE NOT EXISTS (SELECT 1 FROM property WHERE id = %(id)s) "
                b"ON CONFLICT DO NOTHING",
                {"id": property_id},
            )
    except psycopg.errors.NotNullViolation as error:
        raise PropertyNotFoundError(f"property {property_id} does not exist") from error
    data = schedule.model_dump(mode="json")
    conn.execute(
        b"INSERT INTO tour_schedule (property_id, " + COLUMNS + b") "
        b"VALUES (%(property_id)s, %(timezone)s, %(slot_minutes)s, %(buffer_minutes)s, %(min_notice_minutes)s, "
        b"%(capacity)s, %(tour_types)s, %(weekly_hours)s, %(blackouts)s, %(horizon_days)s, "
        b"%(resman_account_id)s, %(resman_property_id)s) "
        b"ON CONFLICT (property_id) DO UPDATE SET timezone = EXCLUDED.timezone, "
        b"slot_minutes = EXCLUDED.slot_minutes, buffer_minutes = EXCLUDED.buffer_minutes, "
        b"min_notice_minutes = EXCLUDED.min_notice_minutes, capacity = EXCLUDED.capacity, "
        b"tour_types = EXCLUDED.tour_types, weekly_hours = EXCLUDED.weekly_hours, blackouts = EXCLUDED.blackouts, "
        b"horizon_days = EXCLUDED.horizon_days, resman_account_id = EXCLUDED.resman_account_id, "
        b"resman_property_id = EXCLUDED.resman_property_id, is_active = TRUE",
        {
            **data,
            "property_id": property_id,
            "tour_types": list(data["tour_types"]),
            "weekly_hours": Jsonb(data["weekly_hours"]),
            "blackouts": Jsonb(data["blackouts"]),
        },
    )
    return schedule
