"""Appointments staff booked directly in ResMan: the only Python that writes `resman_staff_appointment`.

They are read by the occupancy rule (sql/functions/30_occupancy.sql), so every count of a slot sees them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


def replace_for_prospects(
    conn: Connection,
    property_id: UUID,
    appointments: Mapping[str, Iterable[tuple[str, datetime]]],
) -> int:
    """Makes the stored appointments of each prospect in `appointments` exactly the given (event id, start)
    pairs, in one round trip; prospects not named are left alone. Returns the number of rows written or removed.
    """
    if not appointments:
        return 0
    prospects = list(appointments)
    rows = [
        {"prospect": prospect, "event": event_id, "start": start.isoformat()}
        for prospect, items in appointments.items()
        for event_id, start in items
    ]
    row = conn.execute(
        b"WITH wanted AS (SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) "
        b"AS w(prospect text, event text, start timestamptz)), "
        b"removed AS (DELETE FROM resman_staff_appointment s WHERE s.property_id = %(p)s "
        b"AND s.resman_prospect_id = ANY(%(prospects)s) "
        b"AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.event = s.resman_event_id "
        b"AND w.prospect = s.resman_prospect_id AND w.start = s.scheduled_datetime) RETURNING 1), "
        b"written AS (INSERT INTO resman_staff_appointment (property_id, resman_event_id, resman_prospect_id, "
        b"scheduled_datetime) SELECT %(p)s, w.event, w.prospect, w.start FROM wanted w "
        b"ON CONFLICT (property_id, resman_event_id) DO UPDATE SET resman_prospect_id = EXCLUDED.resman_prospect_id, "
        b"scheduled_datetime = EXCLUDED.scheduled_datetime "
        b"WHERE (resman_staff_appointment.resman_prospect_id, resman_staff_appointment.scheduled_datetime) "
        b"IS DISTINCT FROM (EXCLUDED.resman_prospect_id, EXCLUDED.scheduled_datetime) RETURNING 1) "
        b"SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM written) AS n",
        {"p": property_id, "prospects": prospects, "rows": json.dumps(rows)},
    ).fetchone()
    return 0 if row is None else int(row["n"])


def forget_our_own(conn: Connection, property_id: UUID, before: datetime) -> None:
    """Drops rows that are not staff appointments after all, and past ones (they block nothing any more).

    An appointment our sync posted is seen as a staff one when ResMan is read between the sync's post and its
    commit of the ResMan ids; once the tour carries them, the row goes. Nothing is fetched: the cache
    refresh runs this inside a pipeline.
    """
    conn.execute(
        b"DELETE FROM resman_staff_appointment s WHERE s.property_id = %(p)s AND "
        b"(s.scheduled_datetime < %(before)s OR EXISTS (SELECT 1 FROM tour_booking_sync t "
        b"WHERE t.property_id = s.property_id AND (t.resman_appointment_id = s.resman_event_id "
        b"OR (t.resman_appointment_id IS NULL AND t.resman_prospect_id = s.resman_prospect_id "
        b"AND t.scheduled_datetime = s.scheduled_datetime))))",
        {"p": property_id, "before": before},
    )
