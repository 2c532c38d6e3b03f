"""Holds (sql/060): the only Python that writes `tour_hold`.

A live hold occupies its seat through the database's occupancy rule; whether a hold is live is the SQL function
`hold_is_live` (expires_at against the counting statement's clock, not consumed), never a comparison in Python.
Inserting a hold goes through its capacity trigger, which refuses a full slot and a fourth live hold of one
conversation; both refusals come out of here as the exceptions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


class HoldSlotTakenError(Exception):
    """The capacity trigger refused the hold: some instant of its period is full."""


class HoldLimitError(Exception):
    """The conversation already holds the most slots allowed at once (sql/060)."""


@dataclass(frozen=True)
class Hold:
    id: UUID
    property_id: UUID
    conversation_id: UUID | None
    tour_type: str
    scheduled_datetime: datetime
    scheduled_end: datetime
    expires_at: datetime
    created_at: datetime


_COLUMNS = b"id, property_id, conversation_id, tour_type, scheduled_datetime, scheduled_end, expires_at, created_at"


def _hold(row: dict[str, Any]) -> Hold:
    return Hold(**row)


def insert_hold(
    conn: Connection,
    *,
    property_id: UUID,
    conversation_id: UUID | None,
    tour_type: str,
    start: datetime,
    end: datetime,
    ttl: timedelta,
) -> Hold:
    """A new hold, live for `ttl` from the database's clock."""
    try:
        row = conn.execute(
            b"INSERT INTO tour_hold (property_id, conversation_id, tour_type, scheduled_datetime, scheduled_end, "
            b"expires_at) VALUES (%s, %s, %s, %s, %s, now() + %s) RETURNING " + _COLUMNS,
            (property_id, conversation_id, tour_type, start, end, ttl),
        ).fetchone()
    except psycopg.errors.ExclusionViolation as error:
        raise HoldSlotTakenError(str(error.diag.constraint_name)) from error
    except psycopg.errors.CheckViolation as error:
        if error.diag.constraint_name == "tour_hold_per_conversation":
            raise HoldLimitError() from error
        raise
    if row is None:
        raise LookupError("the hold inserted is gone")
    return _hold(row)


def live_hold_for_update(conn: Connection, hold_id: UUID) -> Hold | None:
    """The hold if it is live, its row locked until the transaction ends (a release or another booking of it
    waits, then finds it consumed)."""
    row = conn.execute(
        b"SELECT " + _COLUMNS + b" FROM tour_hold h WHERE h.id = %s AND hold_is_live(h) FOR UPDATE",
        (hold_id,),
    ).fetchone()
    return None if row is None else _hold(row)


def consume(conn: Connection, hold_id: UUID, tour_id: UUID) -> None:
    """Marks the hold consumed by the tour about to be inserted with `tour_id`: from now on it occupies nothing,
    and the tour's capacity trigger lets that tour take the hold's seat (sql/060)."""
    conn.execute(b"UPDATE tour_hold SET booked_tour_id = %s WHERE id = %s", (tour_id, hold_id))


def release(conn: Connection, hold_id: UUID) -> bool:
    """Deletes a live hold; False when there is none with this id (unknown, expired or consumed)."""
    row = conn.execute(b"DELETE FROM tour_hold h WHERE h.id = %s AND hold_is_live(h) RETURNING h.id", (hold_id,))
    return row.fetchone() is not None


def delete_expired(conn: Connection) -> int:
    """Deletes holds past expires_at (consumed ones included): they occupy nothing already."""
    cursor = conn.execute(b"DELETE FROM tour_hold WHERE expires_at <= now()")
    return cursor.rowcount
