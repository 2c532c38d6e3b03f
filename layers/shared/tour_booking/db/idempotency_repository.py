"""Idempotency records of POST /tours: the only Python that reads or writes `idempotency_record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

Connection = psycopg.Connection[dict[str, Any]]


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int | None
    response_body: Any


def claim(conn: Connection, key: str, request_hash: str, now: datetime, ttl: timedelta) -> StoredAnswer | None:
    """Claims `key` for this transaction, or returns the record that already holds it.

    The claim is a row inserted in the caller's transaction: a concurrent request with the same key blocks
    on the unique key until this transaction ends, then sees the committed answer (or, after a rollback,
    claims the key itself). An expired record is taken over in place.
    """
    row = conn.execute(
        b"INSERT INTO idempotency_record (key, request_hash, created_at, expires_at) VALUES (%s, %s, %s, %s) "
        b"ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status_code = NULL, "
        b"response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at "
        b"WHERE idempotency_record.expires_at <= EXCLUDED.created_at RETURNING key",
        (key, request_hash, now, now + ttl),
    ).fetchone()
    if row is not None:
        return None
    # A fresh statement, so a fresh snapshot: it sees the record committed by the request we waited for.
    stored = conn.execute(
        b"SELECT request_hash, status_code, response_body FROM idempotency_record WHERE key = %s", (key,)
    ).fetchone()
    if stored is None:  # deleted meanwhile (expiry clean-up): the next attempt claims it
        return StoredAnswer(request_hash, None, None)
    return StoredAnswer(stored["request_hash"], stored["status_code"], stored["response_body"])


def record_answer(conn: Connection, key: str, status_code: int, body: Any) -> None:
    conn.execute(
        b"UPDATE idempotency_record SET status_code = %s, response_body = %s WHERE key = %s",
        (status_code, Jsonb(body), key),
    )


def delete_expired(conn: Connection, now: datetime) -> int:
    return conn.execute(b"DELETE FROM idempotency_record WHERE expires_at <= %s", (now,)).rowcount
