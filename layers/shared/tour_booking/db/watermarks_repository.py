"""ResMan polling watermarks: the only Python that reads or writes `resman_watermark`.

`modified_since` is where the next pull of a property starts: every ResMan prospect modified before it has
been read and its changes recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

Connection = psycopg.Connection[dict[str, Any]]


def get_modified_since(conn: Connection, property_id: UUID) -> datetime | None:
    row = conn.execute(b"SELECT modified_since FROM resman_watermark WHERE property_id = %s", (property_id,)).fetchone()
    return None if row is None else row["modified_since"]


def advance(conn: Connection, property_id: UUID, modified_since: datetime, now: datetime) -> None:
    """Moves the watermark to `modified_since` (never backwards) and clears the last error."""
    conn.execute(
        b"INSERT INTO resman_watermark (property_id, modified_since, last_success_at, last_error) "
        b"VALUES (%(p)s, %(m)s, %(now)s, NULL) "
        b"ON CONFLICT (property_id) DO UPDATE SET "
        b"modified_since = GREATEST(resman_watermark.modified_since, EXCLUDED.modified_since), "
        b"last_success_at = EXCLUDED.last_success_at, last_error = NULL",
        {"p": property_id, "m": modified_since, "now": now},
    )


def record_error(conn: Connection, property_id: UUID, error: str, initial_modified_since: datetime) -> None:
    """Keeps the reason of a failed pull (no personal data) and leaves `modified_since` where it was; a property
    that never succeeded gets `initial_modified_since`, so the next run starts where this one tried to."""
    conn.execute(
        b"INSERT INTO resman_watermark (property_id, modified_since, last_error) VALUES (%(p)s, %(m)s, %(e)s) "
        b"ON CONFLICT (property_id) DO UPDATE SET last_error = EXCLUDED.last_error",
        {"p": property_id, "m": initial_modified_since, "e": error[:1000]},
    )
