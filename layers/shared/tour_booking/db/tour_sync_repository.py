"""The ResMan sync's bookkeeping: the sync columns of `tour_booking_sync` and the claims of `sync_claim`.

Per-tour and per-prospect serialization across containers is a claim (lease): a row of `sync_claim` per key,
taken by one short transaction and released by another, expiring by itself after the lease. Nothing is held in
the database session (the service runs behind RDS Proxy or PgBouncer in transaction mode) and no transaction
stays open across a ResMan call, so the booking API's PATCH of a tour being synced never waits for ResMan.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


def tour_key(tour_id: UUID) -> str:
    return f"tour:{tour_id}"


def identity_key(identity: str) -> str:
    """A prospect's identity (it holds an email or a phone) stored only as its hash."""
    return "identity:" + hashlib.sha256(identity.encode()).hexdigest()


def claim(conn: Connection, keys: list[str], holder: UUID, lease_seconds: int) -> bool:
    """Takes every key for `holder` until now + lease, or none: returns False (and takes nothing, once the caller's
    transaction rolls back) when a live claim of another holder has one of them. Keys go in sorted order, so two
    claimers of overlapping keys wait for each other instead of deadlocking."""
    wanted = sorted(set(keys))
    if not wanted:
        return True
    row = conn.execute(
        b"WITH taken AS (INSERT INTO sync_claim AS c (key, holder, expires_at) "
        b"SELECT k, %(holder)s, now() + make_interval(secs => %(lease)s) FROM unnest(%(keys)s::text[]) AS k ORDER BY k "
        b"ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
        b"WHERE c.expires_at <= now() OR c.holder = EXCLUDED.holder RETURNING key) "
        b"SELECT count(*) AS n FROM taken",
        {"holder": holder, "lease": lease_seconds, "keys": wanted},
    ).fetchone()
    return row is not None and row["n"] == len(wanted)


def release(conn: Connection, keys: list[str], holder: UUID) -> None:
    if keys:
        conn.execute(b"DELETE FROM sync_claim WHERE key = ANY(%s) AND holder = %s", (sorted(set(keys)), holder))


def prune_expired_claims(conn: Connection, before: datetime) -> int:
    """Claims whose holder died without releasing them, expired before `before`."""
    return conn.execute(b"DELETE FROM sync_claim WHERE expires_at < %s", (before,)).rowcount


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
