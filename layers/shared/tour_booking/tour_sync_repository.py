"""The ResMan sync's bookkeeping on `tour_booking_sync`: the only SQL of the sync and the sweeper.

Per-tour serialization across containers: while a tour is synced its container holds a session-level advisory
lock keyed by the tour id (`lock_tour`). A second container (or thread) syncing the same tour waits for it (up
to the statement timeout) and then finds the version already synced, so two syncs never post the same tour to
ResMan at once. A row lock (`FOR UPDATE`) would do the same but would hold a transaction open across ResMan
calls and block the booking API's PATCH of that tour for seconds; the advisory lock blocks only other syncs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]

# The second key of the advisory lock: keeps the sync's locks apart from other users of hashtextextended keys.
_LOCK_NAMESPACE = b"'tour_booking.resman_sync:'"


class TourBusyError(Exception):
    """Another sync of this tour held its lock past the statement timeout."""


@contextmanager
def lock_tour(conn: Connection, tour_id: UUID) -> Iterator[None]:
    """Holds the tour's sync lock (session level, on an autocommit connection) for the block."""
    try:
        conn.execute(b"SELECT pg_advisory_lock(hashtextextended(" + _LOCK_NAMESPACE + b" || %s::text, 0))",
                     (tour_id,))
    except psycopg.errors.QueryCanceled as error:
        raise TourBusyError(str(tour_id)) from error
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.execute(b"SELECT pg_advisory_unlock(hashtextextended(" + _LOCK_NAMESPACE + b" || %s::text, 0))",
                         (tour_id,))


@contextmanager
def lock_keys(conn: Connection, keys: list[str]) -> Iterator[None]:
    """Holds session-level advisory locks on `keys` (taken in sorted order, so two holders never deadlock).

    The sync locks the prospect's identity (ResMan property + email, + phone) while it finds or creates the
    guest card: two tours of one new prospect synced at once would otherwise both find no card and both
    create one. Keys are hashed by PostgreSQL; only the 64-bit hash appears in pg_locks."""
    taken: list[str] = []
    try:
        for key in sorted(set(keys)):
            try:
                conn.execute(b"SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            except psycopg.errors.QueryCanceled as error:
                raise TourBusyError("prospect lock") from error
            taken.append(key)
        yield
    finally:
        if not conn.closed and not conn.broken:
            for key in reversed(taken):
                conn.execute(b"SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def load_tour_for_sync(conn: Connection, tour_id: UUID) -> dict[str, Any] | None:
    """The tour's current row with its property's ResMan ids and time zone."""
    return conn.execute(
        b"SELECT t.id, t.property_id, t.tour_type, t.scheduled_datetime, t.status, t.prospect_info, t.staff_notes, "
        b"t.preferences, "
        b"t.sync_status, t.version, t.synced_version, t.sync_attempts, t.resman_prospect_id, "
        b"t.resman_appointment_id, s.resman_account_id, s.resman_property_id, s.timezone "
        b"FROM tour_booking_sync t LEFT JOIN tour_schedule s ON s.property_id = t.property_id WHERE t.id = %s",
        (tour_id,),
    ).fetchone()


def mark_synced(
    conn: Connection, tour_id: UUID, loaded_version: int, prospect_id: str | None, appointment_id: str | None
) -> bool:
    """ResMan now holds `loaded_version`. The tour turns `success` only if nobody bumped its version meanwhile
    (else it stays `pending` for the newer message); returns whether it did."""
    row = conn.execute(
        b"UPDATE tour_booking_sync SET synced_version = GREATEST(synced_version, %(v)s), "
        b"sync_status = CASE WHEN version = %(v)s THEN 'success' ELSE sync_status END, "
        b"resman_prospect_id = COALESCE(%(p)s, resman_prospect_id), "
        b"resman_appointment_id = COALESCE(%(a)s, resman_appointment_id), "
        b"last_synced_at = now(), last_sync_error = CASE WHEN version = %(v)s THEN NULL ELSE last_sync_error END "
        b"WHERE id = %(id)s RETURNING sync_status",
        {"v": loaded_version, "p": prospect_id, "a": appointment_id, "id": tour_id},
    ).fetchone()
    return row is not None and row["sync_status"] == "success"


def mark_failed(conn: Connection, tour_id: UUID, loaded_version: int, reason: str) -> bool:
    """A permanent failure: `failed` with the reason (no personal data), unless a newer version is queued."""
    row = conn.execute(
        b"UPDATE tour_booking_sync SET sync_status = 'failed', last_sync_error = %s, sync_attempts = sync_attempts + 1 "
        b"WHERE id = %s AND version = %s AND synced_version < version RETURNING id",
        (reason[:500], tour_id, loaded_version),
    ).fetchone()
    return row is not None


def record_attempt_failed(conn: Connection, tour_id: UUID, reason: str) -> None:
    """A transient failure: counted and explained; the tour stays `pending` and SQS retries."""
    conn.execute(
        b"UPDATE tour_booking_sync SET sync_attempts = sync_attempts + 1, last_sync_error = %s "
        b"WHERE id = %s AND synced_version < version",
        (reason[:500], tour_id),
    )


def find_stale_pending(conn: Connection, older_than: datetime, limit: int) -> list[dict[str, Any]]:
    """Tours still `pending` whose last change (or last failed attempt) is older than `older_than`."""
    return conn.execute(
        b"SELECT id, version FROM tour_booking_sync WHERE sync_status = 'pending' AND updated_at < %s "
        b"AND synced_version < version ORDER BY updated_at LIMIT %s",
        (older_than, limit),
    ).fetchall()


def touch_swept(conn: Connection, tour_ids: list[UUID]) -> None:
    """Moves the swept tours' updated_at, so the next sweep waits a full age before sending them again."""
    if tour_ids:
        conn.execute(b"UPDATE tour_booking_sync SET sync_attempts = sync_attempts WHERE id = ANY(%s)", (tour_ids,))
