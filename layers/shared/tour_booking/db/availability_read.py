"""The availability read's one query: the schedule, the cached days and the live holds of a property in one round
trip. It reads three table families (tour_schedule, calendar_availability_cache, tour_hold) on purpose: the hot
path of GET /availability pays one round trip, not three. Their writers stay in their own repositories.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from tour_booking import db

# The schedule row (JSON columns as text: they are parsed only when the container has not parsed this schedule
# version yet), then one row per wanted local date with its cached slots as JSON text, NULL when the cache does not
# hold the date. The cache counts no holds (sql/functions/50_cached_slots.sql): when the property has a live hold
# near a day, that day goes through slots_with_live_holds, which recounts the slots the hold overlaps (one index
# probe per day otherwise).
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
    # domain/schedule.py): a hold that can touch day D starts after D - 1 and before D + 2 (local dates).
    b"LEFT JOIN LATERAL (SELECT true AS live FROM tour_hold h WHERE h.property_id = s.property_id AND hold_is_live(h) "
    b"AND h.scheduled_datetime > (d.day::date - 1)::timestamp AT TIME ZONE s.timezone "
    b"AND h.scheduled_datetime < (d.day::date + 2)::timestamp AT TIME ZONE s.timezone LIMIT 1) held ON true "
    b"WHERE s.property_id = %(property_id)s ORDER BY d.day"
)


def read_available_days(property_id: UUID, start_date: date | None, days: int, now: datetime) -> list[dict[str, Any]]:
    """Rows of _AVAILABLE_DAYS (none when the property has no schedule), read outside a transaction: a
    single statement sees one snapshot, and BEGIN/COMMIT would triple the round trips of the hot path."""
    return db.fetch_all(_AVAILABLE_DAYS, {"property_id": property_id, "start": start_date, "days": days, "now": now})
