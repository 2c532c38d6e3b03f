"""Database access shared by every function.

Lambda runs one request at a time per container, so each container (each thread, locally) keeps one
connection: opened lazily, reused across invocations, replaced when the server dropped it.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from tour_booking.errors import DatabaseUnavailableError
from tour_booking.settings import Settings, get_settings

Connection = psycopg.Connection[dict[str, Any]]

_local = threading.local()


def conninfo(settings: Settings | None = None, *, refresh_secret: bool = False) -> str:
    """DATABASE_URL locally; in AWS the RDS secret, with DB_HOST (the RDS Proxy endpoint) in front."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    if not settings.db_secret_arn:
        raise DatabaseUnavailableError("neither DATABASE_URL nor DB_SECRET_ARN is set")
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - only AWS needs boto3

    secret: dict[str, Any] = parameters.get_secret(
        settings.db_secret_arn, transform="json", max_age=300, force_fetch=refresh_secret
    )
    return make_conninfo(
        host=settings.db_host or secret["host"],
        port=settings.db_port or secret.get("port", 5432),
        dbname=settings.db_name or secret.get("dbname", "postgres"),
        user=secret["username"],
        password=secret["password"],
        sslmode="require",
    )


def connect(settings: Settings | None = None) -> Connection:
    settings = settings or get_settings()
    options = f"-c statement_timeout={settings.db_statement_timeout_ms}"
    try:
        try:
            conn = _open(conninfo(settings), settings, options)
        except psycopg.errors.InvalidPassword:
            # The secret may have been rotated since it was cached.
            conn = _open(conninfo(settings, refresh_secret=True), settings, options)
    except psycopg.OperationalError as error:
        raise DatabaseUnavailableError("cannot connect to the database") from error
    return conn


def _open(info: str, settings: Settings, options: str) -> Connection:
    conn = psycopg.connect(
        info,
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=settings.db_connect_timeout_seconds,
        options=options,
        application_name="tour-booking",
    )
    conn.prepare_threshold = settings.db_prepare_threshold
    return conn


def _is_alive(conn: Connection) -> bool:
    """Tells a dropped connection without a round trip.

    A terminated backend sends its FATAL message and closes the socket. Nothing else writes to an idle
    connection of ours (we never LISTEN), so a readable socket means a dropped one; a rare false alarm
    costs one reconnect.
    """
    if conn.closed or conn.broken or conn.pgconn.status != psycopg.pq.ConnStatus.OK:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def connection() -> Connection:
    """This container's (this thread's) connection, reconnecting when the server dropped it."""
    conn: Connection | None = getattr(_local, "conn", None)
    if conn is not None and not _is_alive(conn):
        conn.close()
        conn = None
    if conn is None:
        conn = connect()
        _local.conn = conn
    return conn


@contextmanager
def transaction() -> Iterator[Connection]:
    """A transaction on this container's connection; database outages surface as DatabaseUnavailableError."""
    conn = connection()
    try:
        with conn.transaction():
            yield conn
    except psycopg.OperationalError as error:
        if conn.broken or conn.closed:
            close()
        raise DatabaseUnavailableError("the database is unavailable") from error


def close() -> None:
    conn: Connection | None = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()
