"""The shared database module: one reused connection that survives the server dropping it."""

from __future__ import annotations

import psycopg

from tour_booking import db


def test_the_connection_is_reused_across_calls(clean_db: str) -> None:
    with db.transaction() as first:
        pid_first = first.execute(b"SELECT pg_backend_pid() AS pid").fetchone()
    with db.transaction() as second:
        pid_second = second.execute(b"SELECT pg_backend_pid() AS pid").fetchone()
    assert pid_first == pid_second


def test_reconnects_after_the_server_terminated_the_connection(clean_db: str) -> None:
    # given a connection in use
    with db.transaction() as conn:
        row = conn.execute(b"SELECT pg_backend_pid() AS pid").fetchone()
    assert row is not None
    old_pid = row["pid"]

    # when another session terminates it
    with psycopg.connect(clean_db, autocommit=True) as admin:
        admin.execute(b"SELECT pg_terminate_backend(%s)", (old_pid,))
        # the backend needs a moment to send its goodbye
        admin.execute(b"SELECT pg_sleep(0.2)")

    # then the next transaction runs on a new connection
    with db.transaction() as conn:
        row = conn.execute(b"SELECT pg_backend_pid() AS pid, 1 AS answer").fetchone()
    assert row is not None
    assert row["answer"] == 1
    assert row["pid"] != old_pid


def test_a_transaction_rolls_back_on_error(clean_db: str) -> None:
    try:
        with db.transaction() as conn:
            conn.execute(b"INSERT INTO property (id) VALUES (gen_random_uuid())")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.transaction() as conn:
        assert conn.execute(b"SELECT count(*) AS n FROM property").fetchone() == {"n": 0}
