"""Deleted tours whose Cancel must still reach ResMan (sql/041): the only Python that reads or writes
`resman_tour_tombstone`.

The table's rows are written by a BEFORE DELETE trigger on tour_booking_sync (record_resman_tour_tombstone):
DomIQ deleting a conversation cascades to its tours. The sync reads and closes them, the sweeper finds the open
ones; the sync's bookkeeping here mirrors tours_repository's on purpose, since the sync treats a tombstone as a
cancelled tour."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


def load_open(conn: Connection, tour_id: UUID) -> dict[str, Any] | None:
    """The open tombstone of a deleted tour, shaped like a tour row for the sync (status `cancelled`)."""
    return conn.execute(
        b"SELECT tour_id AS id, property_id, tour_type, scheduled_datetime, 'cancelled' AS status, prospect_info, "
        b"NULL::text AS staff_notes, NULL::jsonb AS preferences, version, resman_prospect_id, "
        b"resman_appointment_id, resman_account_id, resman_property_id "
        b"FROM resman_tour_tombstone WHERE tour_id = %s AND closed_at IS NULL",
        (tour_id,),
    ).fetchone()


def close(conn: Connection, tour_id: UUID, error: str | None) -> None:
    """Done with (`error` None: the Cancel is in ResMan, or nothing there needed one; else ResMan refused it for
    good): the prospect's details are erased."""
    conn.execute(
        b"UPDATE resman_tour_tombstone SET closed_at = now(), prospect_info = NULL, last_sync_error = %s, "
        b"sync_attempts = sync_attempts + 1 WHERE tour_id = %s AND closed_at IS NULL",
        (None if error is None else error[:500], tour_id),
    )


def record_attempt_failed(conn: Connection, tour_id: UUID, reason: str) -> None:
    conn.execute(
        b"UPDATE resman_tour_tombstone SET sync_attempts = sync_attempts + 1, last_sync_error = %s "
        b"WHERE tour_id = %s AND closed_at IS NULL",
        (reason[:500], tour_id),
    )


def find_stale_open(conn: Connection, older_than: datetime, limit: int) -> list[dict[str, Any]]:
    """Open tombstones untouched since `older_than`, oldest first (for the sweeper)."""
    return conn.execute(
        b"SELECT tour_id AS id, version FROM resman_tour_tombstone WHERE closed_at IS NULL AND updated_at < %s "
        b"ORDER BY updated_at LIMIT %s",
        (older_than, limit),
    ).fetchall()


def touch_swept(conn: Connection, tour_ids: list[UUID]) -> None:
    if tour_ids:
        conn.execute(
            b"UPDATE resman_tour_tombstone SET sync_attempts = sync_attempts WHERE tour_id = ANY(%s)", (tour_ids,)
        )
