"""Tours: the only Python that writes `tour_booking_sync`, for the booking API, the cache refresh's outcomes and
the ResMan sync's bookkeeping (its sync columns: sync_status, synced_version, the ResMan ids, the attempts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

Connection = psycopg.Connection[dict[str, Any]]


def property_of(conn: Connection, tour_id: UUID) -> UUID | None:
    """The tour's property (it never changes), read without a lock: writers lock the property's occupancy
    before the tour's row, in the order every other writer of occupancy takes them."""
    row = conn.execute(b"SELECT property_id FROM tour_booking_sync WHERE id = %s", (tour_id,)).fetchone()
    return None if row is None else row["property_id"]


def active_future_tours(conn: Connection, property_id: UUID, after: datetime) -> list[dict[str, Any]]:
    """Active tours of a property starting after `after`: id, tour_type, scheduled_datetime, scheduled_end."""
    return conn.execute(
        b"SELECT id, tour_type, scheduled_datetime, scheduled_end FROM tour_booking_sync "
        b"WHERE property_id = %s AND tour_is_active(status) AND scheduled_datetime > %s "
        b"ORDER BY scheduled_datetime, id",
        (property_id, after),
    ).fetchall()


class SlotTakenError(Exception):
    """The capacity trigger refused the write: the slot holds its capacity of active tours."""


class ConversationMissingError(Exception):
    """The tour names a conversation that does not exist."""


_TOUR_COLUMNS = (
    b"t.id, t.conversation_id, t.property_id, t.resman_appointment_id, t.resman_prospect_id, t.tour_type, "
    b"t.scheduled_datetime, t.scheduled_end, t.status, t.prospect_info, t.staff_notes, t.preferences, t.sync_status, "
    b"t.version, t.synced_version, t.sync_attempts, t.last_sync_error, t.last_synced_at, t.created_at, t.updated_at"
)
# The property's zone comes along, so times are answered with the property's local offset.
_TOUR_SELECT = (
    b"SELECT " + _TOUR_COLUMNS + b", s.timezone FROM tour_booking_sync t "
    b"LEFT JOIN tour_schedule s ON s.property_id = t.property_id "
)


def _returned(row: dict[str, Any] | None) -> dict[str, Any]:
    # Callers write a row they hold (just inserted, or locked FOR UPDATE): RETURNING always answers it.
    if row is None:
        raise LookupError("the tour written is gone")
    return row


def _translate(error: psycopg.Error) -> Exception:
    if isinstance(error, psycopg.errors.ExclusionViolation):
        return SlotTakenError(str(error.diag.constraint_name))
    if isinstance(error, psycopg.errors.ForeignKeyViolation) and "conversation" in str(error.diag.constraint_name):
        return ConversationMissingError()
    return error


_JSON_COLUMNS = frozenset({"prospect_info", "preferences"})


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON columns' dicts as jsonb parameters."""
    return {
        column: Jsonb(value) if column in _JSON_COLUMNS and value is not None else value
        for column, value in values.items()
    }


def insert_tour(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """Inserts a new tour (scheduled, pending) and returns its row with the property's time zone; `id` may be given
    (a booking that consumes a hold names the tour in the hold first), else the database makes one."""
    try:
        row = conn.execute(
            b"WITH t AS (INSERT INTO tour_booking_sync (id, conversation_id, property_id, tour_type, "
            b"scheduled_datetime, scheduled_end, prospect_info, staff_notes, preferences) VALUES "
            b"(COALESCE(%(id)s::uuid, gen_random_uuid()), %(conversation_id)s, %(property_id)s, "
            b"%(tour_type)s, %(scheduled_datetime)s, %(scheduled_end)s, %(prospect_info)s, %(staff_notes)s, "
            b"%(preferences)s) RETURNING *) "
            b"SELECT "
            + _TOUR_COLUMNS
            + b", s.timezone FROM t LEFT JOIN tour_schedule s ON s.property_id = t.property_id",
            _bound(values),
        ).fetchone()
    except psycopg.errors.IntegrityError as error:
        raise _translate(error) from error
    return _returned(row)


def get_tour(conn: Connection, tour_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    query = _TOUR_SELECT + b"WHERE t.id = %s" + (b" FOR UPDATE OF t" if for_update else b"")
    return conn.execute(query, (tour_id,)).fetchone()


def update_tour(conn: Connection, tour_id: UUID, changes: dict[str, Any], *, bump_version: bool) -> dict[str, Any]:
    """Applies `changes` (column -> value); a change ResMan must learn bumps the version and marks it pending."""

    assignments: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)) for column in changes
    ]
    if bump_version:
        assignments += [sql.SQL("version = version + 1"), sql.SQL("sync_status = 'pending'")]
    query = sql.SQL(
        "WITH t AS (UPDATE tour_booking_sync SET {} WHERE id = {} RETURNING *) "
        "SELECT {}, s.timezone FROM t LEFT JOIN tour_schedule s ON s.property_id = t.property_id"
    ).format(sql.SQL(", ").join(assignments), sql.Placeholder("_id"), sql.SQL(_TOUR_COLUMNS.decode()))
    try:
        row = conn.execute(query, {**_bound(changes), "_id": tour_id}).fetchone()
    except psycopg.errors.IntegrityError as error:
        raise _translate(error) from error
    return _returned(row)


def list_tours(
    conn: Connection,
    *,
    conversation_id: UUID | None,
    property_id: UUID | None,
    status: str | None,
    start_from: datetime | None,
    start_to: datetime | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Tours in (created_at, id) order, keyset-paged after `after` = (created_at, id) of the last tour seen.

    Both columns are immutable (sql/045 keeps created_at), so a reschedule or a status change never moves a tour
    across a page boundary: no tour is skipped or listed twice."""

    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit}
    for column, value in (("conversation_id", conversation_id), ("property_id", property_id), ("status", status)):
        if value is not None:
            conditions.append(sql.SQL("t.{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
            params[column] = value
    if start_from is not None:
        conditions.append(sql.SQL("t.scheduled_datetime >= %(start_from)s"))
        params["start_from"] = start_from
    if start_to is not None:
        conditions.append(sql.SQL("t.scheduled_datetime < %(start_to)s"))
        params["start_to"] = start_to
    if after is not None:
        conditions.append(sql.SQL("(t.created_at, t.id) > (%(after_created)s, %(after_id)s)"))
        params["after_created"], params["after_id"] = after
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    query = sql.SQL("{}{} ORDER BY t.created_at, t.id LIMIT %(limit)s").format(sql.SQL(_TOUR_SELECT.decode()), where)
    return conn.execute(query, params).fetchall()


def success_rates(conn: Connection, property_id: UUID | None) -> list[dict[str, Any]]:
    if property_id is None:
        return conn.execute(
            b"SELECT property_id, completion_rate, sync_success_rate FROM tour_booking_success_rate "
            b"ORDER BY property_id"
        ).fetchall()
    return conn.execute(
        b"SELECT property_id, completion_rate, sync_success_rate FROM tour_booking_success_rate WHERE property_id = %s",
        (property_id,),
    ).fetchall()


def tours_for_outcomes(
    conn: Connection, property_id: UUID, prospect_ids: list[str], due_before: datetime | None
) -> list[dict[str, Any]]:
    """The cache refresh's view of a property's tours: every tour of the given ResMan prospects (any status,
    so a finished tour's prospect is still known as ours), and the active ones that started before
    `due_before` (no-show candidates; none when it is None)."""
    return conn.execute(
        b"SELECT id, status, scheduled_datetime, resman_prospect_id, resman_appointment_id FROM tour_booking_sync "
        b"WHERE property_id = %(p)s AND (resman_prospect_id = ANY(%(prospects)s) "
        b"OR (tour_is_active(status) AND scheduled_datetime < %(due)s::timestamptz))",
        {"p": property_id, "prospects": prospect_ids, "due": due_before},
    ).fetchall()


def record_outcomes(conn: Connection, outcomes: dict[UUID, str]) -> list[UUID]:
    """Sets outcomes that came from ResMan, in one statement; returns the tours changed.

    Only active tours move (a concurrent cancel or finish wins). ResMan already knows these outcomes, so neither
    `version` nor `sync_status` changes: nothing is queued back to ResMan.
    """
    if not outcomes:
        return []
    rows = conn.execute(
        b"UPDATE tour_booking_sync t SET status = o.status FROM "
        b"(SELECT unnest(%(ids)s::uuid[]) AS id, unnest(%(statuses)s::text[]) AS status) o "
        b"WHERE t.id = o.id AND tour_is_active(t.status) RETURNING t.id",
        {"ids": list(outcomes), "statuses": list(outcomes.values())},
    ).fetchall()
    return [row["id"] for row in rows]


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


def mark_sync_failed(conn: Connection, tour_id: UUID, loaded_version: int, reason: str) -> bool:
    """A permanent failure: `failed` with the reason (no personal data), unless a newer version is queued."""
    row = conn.execute(
        b"UPDATE tour_booking_sync SET sync_status = 'failed', last_sync_error = %s, sync_attempts = sync_attempts + 1 "
        b"WHERE id = %s AND version = %s AND synced_version < version RETURNING id",
        (reason[:500], tour_id, loaded_version),
    ).fetchone()
    return row is not None


def record_sync_attempt_failed(conn: Connection, tour_id: UUID, reason: str) -> None:
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
