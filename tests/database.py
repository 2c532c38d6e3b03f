"""Test databases: one server per run (embedded or DATABASE_URL), a fresh database per need."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# Every table the migrations create, emptied between tests (DomIQ's stand-ins cascade to the rest).
TRUNCATE = (
    "TRUNCATE property, conversation, idempotency_record, resman_tour_tombstone, sync_claim, tour_event_outbox CASCADE"
)


def pooled(url: str) -> str:
    """`url` as the code under test reaches it: through PgBouncer when TEST_POOLER_URL is set (tools/pgbouncer.py
    serves every database of the server), else directly. Tests arrange and check over direct connections."""
    pooler = os.environ.get("TEST_POOLER_URL")
    if not pooler:
        return url
    params = conninfo_to_dict(url)
    params.update({k: v for k, v in conninfo_to_dict(pooler).items() if k in {"host", "port"}})
    return make_conninfo("", **params)


def with_dbname(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards."""
    name = f"tb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def advisory_locks_of_idle_sessions(url: str) -> int:
    """Advisory locks that sessions of this database hold while idle: session-level locks that outlived their
    transaction (behind a pooler they would sit on a server connection another client gets next)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            b"SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            b"WHERE l.locktype = 'advisory' AND a.datname = current_database() AND a.state = 'idle'"
        ).fetchone()
    return int(row[0]) if row else 0
