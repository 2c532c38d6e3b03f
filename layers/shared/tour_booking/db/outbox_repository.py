"""The tour events' outbox (sql/070): the only Python that reads or writes `tour_event_outbox`, `tour_reminder`
and `tour_reminder_arm`.

Rows are written by the trigger on `tour_booking_sync` in the transaction of each change; a writer names its
origin for its transaction with `set_origin` (transaction-local, safe behind RDS Proxy and PgBouncer). The
publisher claims rows with a lease in a short transaction, sends them, and marks them in another: no transaction
stays open across PutEvents, and a crashed publisher's rows come back once their lease expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import psycopg

Connection = psycopg.Connection[dict[str, Any]]
Origin = Literal["domiq", "resman", "system"]

_COLUMNS = (
    b"o.seq, o.event_id, o.detail_type, o.tour_id, o.property_id, o.conversation_id, o.status, o.tour_type, "
    b"o.scheduled_datetime, o.previous_scheduled_datetime, o.tour_version, o.reminder_minutes, o.origin, "
    b"o.timezone, o.occurred_at, o.attempts"
)


def set_origin(conn: Connection, origin: Origin) -> None:
    """The origin of the tour events this transaction's changes emit (unset: `system`)."""
    conn.execute(b"SELECT set_config('tour_booking.origin', %s, true)", (origin,))


def claim(conn: Connection, limit: int, lease_seconds: int) -> list[dict[str, Any]]:
    """Leases up to `limit` pending events, each its tour's earliest unpublished one (a tour's next event waits
    until this one is published, so each tour's events go out in order), oldest first. Rows another publisher is
    claiming right now are skipped, not waited for."""
    return conn.execute(
        b"WITH due AS (SELECT o.seq FROM tour_event_outbox o "
        b"WHERE o.published_at IS NULL AND (o.lease_until IS NULL OR o.lease_until <= now()) "
        b"AND NOT EXISTS (SELECT 1 FROM tour_event_outbox e "
        b"WHERE e.tour_id = o.tour_id AND e.published_at IS NULL AND e.seq < o.seq) "
        b"ORDER BY o.seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
        b"UPDATE tour_event_outbox o SET lease_until = now() + make_interval(secs => %(lease)s), "
        b"attempts = o.attempts + 1 FROM due WHERE o.seq = due.seq RETURNING " + _COLUMNS,
        {"limit": limit, "lease": lease_seconds},
    ).fetchall()


def mark_published(conn: Connection, seqs: Sequence[int]) -> None:
    if seqs:
        conn.execute(
            b"UPDATE tour_event_outbox SET published_at = now(), lease_until = NULL, last_error = NULL "
            b"WHERE seq = ANY(%s) AND published_at IS NULL",
            (list(seqs),),
        )


def mark_failed(conn: Connection, failures: Sequence[tuple[int, str]], retry_seconds: int) -> None:
    """Entries EventBridge refused (or a call that failed): sent again once `retry_seconds` have passed; the
    reason is EventBridge's error code and message, which carry no event content."""
    if failures:
        conn.execute(
            b"UPDATE tour_event_outbox o SET lease_until = now() + make_interval(secs => %(retry)s), "
            b"last_error = f.reason FROM (SELECT unnest(%(seqs)s::bigint[]) AS seq, unnest(%(reasons)s::text[]) "
            b"AS reason) f WHERE o.seq = f.seq AND o.published_at IS NULL",
            {"retry": retry_seconds, "seqs": [s for s, _ in failures], "reasons": [r[:500] for _, r in failures]},
        )


def issue_due_reminders(conn: Connection, offsets: Sequence[int], now: datetime) -> int:
    """Writes a TourReminderDue for each active, not started tour and offset whose time has come (now >= start -
    offset) and that was not issued for this start yet, unless the tour took this start inside the offset.
    Tours a writer holds right now are skipped (their change may cancel them; the next run sees them), so a
    reminder never follows its tour's cancel in the outbox. Returns how many were issued."""
    if not offsets:
        return 0
    row = conn.execute(
        b"WITH due AS (SELECT t.id, t.property_id, t.conversation_id, t.status, t.tour_type, t.scheduled_datetime, "
        b"t.version, o.m, s.timezone FROM tour_booking_sync t "
        b"JOIN unnest(%(offsets)s::int[]) AS o(m) "
        b"ON t.scheduled_datetime <= %(now)s::timestamptz + make_interval(mins => o.m) "
        b"LEFT JOIN tour_reminder_arm a ON a.tour_id = t.id "
        b"LEFT JOIN tour_schedule s ON s.property_id = t.property_id "
        b"WHERE tour_is_active(t.status) AND t.scheduled_datetime > %(now)s "
        b"AND t.scheduled_datetime <= %(now)s::timestamptz + make_interval(mins => %(longest)s) "
        b"AND COALESCE(a.armed_at, t.created_at) < t.scheduled_datetime - make_interval(mins => o.m) "
        b"FOR SHARE OF t SKIP LOCKED), "
        b"issued AS (INSERT INTO tour_reminder (tour_id, scheduled_datetime, reminder_minutes) "
        b"SELECT id, scheduled_datetime, m FROM due ON CONFLICT DO NOTHING "
        b"RETURNING tour_id, scheduled_datetime, reminder_minutes), "
        b"events AS (INSERT INTO tour_event_outbox (detail_type, tour_id, property_id, conversation_id, status, "
        b"tour_type, scheduled_datetime, tour_version, reminder_minutes, origin, timezone, occurred_at) "
        b"SELECT 'TourReminderDue', d.id, d.property_id, d.conversation_id, d.status, d.tour_type, "
        b"d.scheduled_datetime, d.version, d.m, 'system', COALESCE(d.timezone, 'UTC'), %(now)s "
        b"FROM issued i JOIN due d ON d.id = i.tour_id AND d.m = i.reminder_minutes "
        b"ORDER BY d.scheduled_datetime, d.id, d.m DESC RETURNING 1) "
        b"SELECT count(*) AS n FROM events",
        {"offsets": list(offsets), "now": now, "longest": max(offsets)},
    ).fetchone()
    return 0 if row is None else int(row["n"])


def prune(conn: Connection, published_before: datetime, started_before: datetime, limit: int = 5000) -> int:
    """Deletes up to `limit` events published before `published_before`, and the reminder bookkeeping of
    starts before `started_before` (a started tour gets no reminder). Returns the events deleted."""
    deleted = conn.execute(
        b"DELETE FROM tour_event_outbox WHERE seq IN (SELECT seq FROM tour_event_outbox "
        b"WHERE published_at < %s ORDER BY published_at LIMIT %s)",
        (published_before, limit),
    ).rowcount
    conn.execute(b"DELETE FROM tour_reminder WHERE scheduled_datetime < %s", (started_before,))
    return deleted


def pending_count(conn: Connection) -> int:
    row = conn.execute(b"SELECT count(*) AS n FROM tour_event_outbox WHERE published_at IS NULL").fetchone()
    return 0 if row is None else int(row["n"])
