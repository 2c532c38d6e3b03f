"""Constraints, triggers and the monitoring view of the migrated schema."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tour_booking.domain.enums import ACTIVE_STATUSES, TourStatus

pytestmark = pytest.mark.migrations

Conn = psycopg.Connection[tuple[Any, ...]]

PROSPECT = json.dumps({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})


def _property(conn: Conn, capacity: int | None = None) -> uuid.UUID:
    (pid,) = conn.execute(b"INSERT INTO property (id) VALUES (DEFAULT) RETURNING id").fetchone()  # type: ignore[misc]
    if capacity is not None:
        conn.execute(
            b"""INSERT INTO tour_schedule (property_id, timezone, slot_minutes, capacity, tour_types, weekly_hours)
                VALUES (%s, 'America/New_York', 30, %s, ARRAY['in_person'], '{}')""",
            (pid, capacity),
        )
    return pid  # type: ignore[no-any-return]


def _conversation(conn: Conn) -> uuid.UUID:
    (cid,) = conn.execute(b"INSERT INTO conversation (id) VALUES (DEFAULT) RETURNING id").fetchone()  # type: ignore[misc]
    return cid  # type: ignore[no-any-return]


def _tour(conn: Conn, pid: uuid.UUID, cid: uuid.UUID, **overrides: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "conversation_id": cid,
        "property_id": pid,
        "tour_type": "in_person",
        "scheduled_datetime": "2030-01-07T15:00:00Z",
        "prospect_info": PROSPECT,
    } | overrides
    columns = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    row = conn.execute(
        f"INSERT INTO tour_booking_sync ({columns}) VALUES ({placeholders}) RETURNING id".encode(),
        list(values.values()),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_minimal_property_and_conversation_need_only_an_id(conn: Conn) -> None:
    conn.execute(b"INSERT INTO property (id) VALUES (%s)", (uuid.uuid4(),))
    conn.execute(b"INSERT INTO conversation (id) VALUES (%s)", (uuid.uuid4(),))
    assert conn.execute(b"SELECT count(*) FROM property").fetchone() == (1,)


def test_a_new_tour_defaults_to_scheduled_and_pending(conn: Conn) -> None:
    tid = _tour(conn, _property(conn), _conversation(conn))
    row = conn.execute(
        b"SELECT status, sync_status, version, synced_version, created_at = updated_at"
        b" FROM tour_booking_sync WHERE id = %s",
        (tid,),
    ).fetchone()
    assert row == ("scheduled", "pending", 1, 0, True)


@pytest.mark.parametrize(
    ("column", "value"),
    [("status", "maybe"), ("tour_type", "drive_by"), ("sync_status", "unknown")],
)
def test_unknown_enum_values_are_refused(conn: Conn, column: str, value: str) -> None:
    pid, cid = _property(conn), _conversation(conn)
    with pytest.raises(errors.CheckViolation):
        _tour(conn, pid, cid, **{column: value})


@pytest.mark.parametrize(
    "column",
    ["conversation_id", "property_id", "tour_type", "scheduled_datetime", "status", "sync_status", "prospect_info"],
)
def test_nulls_are_refused_where_they_mean_nothing(conn: Conn, column: str) -> None:
    pid, cid = _property(conn), _conversation(conn)
    with pytest.raises(errors.NotNullViolation):
        _tour(conn, pid, cid, **{column: None})


def test_a_synced_version_beyond_the_version_is_refused(conn: Conn) -> None:
    pid, cid = _property(conn), _conversation(conn)
    with pytest.raises(errors.CheckViolation):
        _tour(conn, pid, cid, version=2, synced_version=3)


def test_updated_at_moves_on_update_and_not_on_insert(conn: Conn) -> None:
    tid = _tour(conn, _property(conn), _conversation(conn))
    before = conn.execute(b"SELECT created_at, updated_at FROM tour_booking_sync WHERE id = %s", (tid,)).fetchone()
    assert before is not None and before[0] == before[1]

    conn.execute(b"UPDATE tour_booking_sync SET staff_notes = 'gate code 1234' WHERE id = %s", (tid,))

    after = conn.execute(b"SELECT created_at, updated_at FROM tour_booking_sync WHERE id = %s", (tid,)).fetchone()
    assert after is not None
    assert after[0] == before[0]
    assert after[1] > before[1]


def test_deleting_a_conversation_deletes_its_tours(conn: Conn) -> None:
    pid, cid, other = _property(conn), _conversation(conn), _conversation(conn)
    _tour(conn, pid, cid)
    kept = _tour(conn, pid, other, scheduled_datetime="2030-01-07T16:00:00Z")

    conn.execute(b"DELETE FROM conversation WHERE id = %s", (cid,))

    rows = conn.execute(b"SELECT id FROM tour_booking_sync").fetchall()
    assert rows == [(kept,)]


def test_the_cache_allows_one_row_per_property_and_date(conn: Conn) -> None:
    pid = _property(conn)
    insert = (
        b"INSERT INTO calendar_availability_cache (property_id, date, available_slots) VALUES (%s, '2030-01-07', '[]')"
    )
    conn.execute(insert, (pid,))
    with pytest.raises(errors.UniqueViolation):
        conn.execute(insert, (pid,))


def test_the_cache_refuses_slots_that_are_not_an_array(conn: Conn) -> None:
    with pytest.raises(errors.CheckViolation):
        conn.execute(
            b"INSERT INTO calendar_availability_cache (property_id, date, available_slots)"
            b" VALUES (%s, '2030-01-07', '{}')",
            (_property(conn),),
        )


def test_the_view_gives_completion_and_sync_success_rates_per_property(conn: Conn) -> None:
    # given property A with 4 tours (1 completed, 3 synced) and property B with 2 (2 completed, 0 synced)
    a, b, cid = _property(conn), _property(conn), _conversation(conn)
    hours = iter(range(10, 30))

    def tour(pid: uuid.UUID, status: str, sync_status: str) -> None:
        _tour(
            conn,
            pid,
            cid,
            status=status,
            sync_status=sync_status,
            scheduled_datetime="2030-01-07T00:00:00Z",
            staff_notes=str(next(hours)),
        )

    tour(a, "completed", "success")
    tour(a, "scheduled", "success")
    tour(a, "cancelled", "success")
    tour(a, "no_show", "failed")
    tour(b, "completed", "pending")
    tour(b, "completed", "failed")

    rows = dict(
        (row[0], (row[1], row[2]))
        for row in conn.execute(
            b"SELECT property_id, completion_rate, sync_success_rate FROM tour_booking_success_rate"
        )
    )

    assert rows == {a: (25.0, 75.0), b: (100.0, 0.0)}


def test_the_database_refuses_more_active_tours_than_the_capacity(conn: Conn) -> None:
    pid, cid = _property(conn, capacity=2), _conversation(conn)
    _tour(conn, pid, cid)
    _tour(conn, pid, cid)
    with pytest.raises(errors.ExclusionViolation):
        _tour(conn, pid, cid)
    # a cancelled tour frees its place
    conn.execute(
        b"UPDATE tour_booking_sync SET status = 'cancelled' WHERE id = (SELECT id FROM tour_booking_sync LIMIT 1)"
    )
    _tour(conn, pid, cid)
    assert conn.execute(b"SELECT count(*) FROM tour_booking_sync WHERE status = 'scheduled'").fetchone() == (2,)


def test_zero_capacity_refuses_every_active_tour(conn: Conn) -> None:
    pid, cid = _property(conn, capacity=0), _conversation(conn)
    with pytest.raises(errors.ExclusionViolation):
        _tour(conn, pid, cid)


def test_the_database_and_python_agree_on_which_statuses_are_active(conn: Conn) -> None:
    # every status the table allows, as the SQL rule and the Python constant judge it
    allowed = [str(status) for status in TourStatus]
    rows = conn.execute(b"SELECT s, tour_is_active(s) FROM unnest(%s::text[]) AS s", (allowed,)).fetchall()
    assert {status for status, active in rows if active} == {str(status) for status in ACTIVE_STATUSES}


def test_tour_is_active_is_inlined_so_the_partial_index_of_active_tours_serves_it(conn: Conn) -> None:
    conn.execute(b"SET LOCAL enable_seqscan = off")
    plan = conn.execute(
        b"EXPLAIN SELECT id FROM tour_booking_sync "
        b"WHERE tour_is_active(status) AND tstzrange(scheduled_datetime, scheduled_end) && tstzrange(now(), NULL)"
    ).fetchall()
    assert "idx_tour_booking_sync_active_during" in " ".join(row[0] for row in plan)
