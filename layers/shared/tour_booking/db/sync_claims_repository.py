"""The ResMan sync's claims: the only Python that reads or writes `sync_claim` (the sync columns of
`tour_booking_sync` are tours_repository's).

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
