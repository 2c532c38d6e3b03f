"""Occupancy over time: the database's occupancy rule (sql/functions/30_occupancy.sql), asked from Python.

A tour occupies [start, end + buffer), and a staff appointment and a live hold the same way; the SQL functions
`occupancy`, `occupancy_peaks` and `over_capacity_tours` are the rule, and the capacity triggers and the
cached-`remaining` trigger use the very same functions. Nothing here counts in Python. The cache stores counts
without holds (`booked_occupancy_peaks`), since a hold expires without a write; reads add live holds back.

`lock` is the property's transaction-scoped advisory lock: whoever writes cached days or the schedule takes it
before reading occupancy, as the triggers do before counting, so no write can fall between a count and its use.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


def lock(conn: Connection, property_id: UUID) -> None:
    """Waits for the property's occupancy lock, held until this transaction ends. Statements after this one see
    every commit of an earlier holder (READ COMMITTED takes a snapshot per statement)."""
    conn.execute(b"SELECT lock_occupancy(%s)", (property_id,))


def slot_peaks(
    conn: Connection,
    property_id: UUID,
    slots: Iterable[tuple[datetime, datetime]],
    except_tour: UUID | None = None,
    *,
    count_holds: bool = True,
) -> dict[datetime, int]:
    """Per slot (start, end): the most occupants at one instant of [start, end + buffer), keyed by the UTC start.
    `except_tour` is not counted (a tour being moved does not compete with itself). Without `count_holds`, live
    holds are not counted either: what calendar_availability_cache stores."""
    starts, ends = [], []
    for start, end in slots:
        starts.append(start)
        ends.append(end)
    if not starts:
        return {}
    if count_holds:
        rows = conn.execute(
            b"SELECT slot_start, peak FROM occupancy_peaks(%s, %s::timestamptz[], %s::timestamptz[], %s)",
            (property_id, starts, ends, except_tour),
        ).fetchall()
    else:
        if except_tour is not None:
            raise ValueError("the cache's counts leave no tour out")
        rows = conn.execute(
            b"SELECT slot_start, peak FROM booked_occupancy_peaks(%s, %s::timestamptz[], %s::timestamptz[])",
            (property_id, starts, ends),
        ).fetchall()
    return {row["slot_start"].astimezone(UTC): int(row["peak"]) for row in rows}


def over_capacity_tours(conn: Connection, property_id: UUID, after: datetime) -> set[UUID]:
    """Active tours starting after `after` that do not fit the capacity beside the occupants booked before them."""
    rows = conn.execute(b"SELECT tour_id FROM over_capacity_tours(%s, %s)", (property_id, after)).fetchall()
    return {row["tour_id"] for row in rows}
