"""Database access shared by every function.

Lambda runs one request at a time per container, so each container (each thread, locally) keeps one
connection: opened lazily, reused across invocations, replaced when the server dropped it.

The same code runs directly against PostgreSQL, behind RDS Proxy and behind PgBouncer in transaction mode, so
nothing lives in the session: no startup `options` (both poolers refuse them), no `SET`, no session-level
advisory lock. The statement timeout is set per transaction with `SET LOCAL`, sent in the same message as the
transaction's `BEGIN` (or its single statement), so it costs no round trip of its own.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from tour_booking.domain.errors import DatabaseUnavailableError
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
        **tls_params(settings),
    )


def tls_params(settings: Settings) -> dict[str, str]:
    """`verify-full` against DB_SSLROOTCERT, by default certifi's bundle: it holds the Amazon Trust Services roots
    that sign RDS Proxy's ACM certificates. Direct RDS needs the RDS CA bundle, which the deploy supplies."""
    params: dict[str, str] = {"sslmode": settings.db_sslmode}
    if settings.db_sslmode in {"verify-ca", "verify-full"}:
        if settings.db_sslrootcert:
            params["sslrootcert"] = settings.db_sslrootcert
        else:
            import certifi  # noqa: PLC0415 - only the AWS path verifies against it

            params["sslrootcert"] = certifi.where()
    return params


def connect(settings: Settings | None = None) -> Connection:
    settings = settings or get_settings()
    try:
        try:
            conn = _open(conninfo(settings), settings)
        except psycopg.errors.InvalidPassword:
            # The secret may have been rotated since it was cached.
            conn = _open(conninfo(settings, refresh_secret=True), settings)
    except psycopg.OperationalError as error:
        raise DatabaseUnavailableError("cannot connect to the database") from error
    return conn


def _open(info: str, settings: Settings) -> Connection:
    # application_name is the one startup parameter beyond user and database that RDS Proxy passes on.
    conn = psycopg.connect(
        info,
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=settings.db_connect_timeout_seconds,
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


def _set_timeout() -> bytes:
    return b"SET LOCAL statement_timeout = %d" % get_settings().db_statement_timeout_ms


@contextmanager
def transaction(*, pipeline: bool = False) -> Iterator[Connection]:
    """A transaction on this container's connection, its statements bounded by DB_STATEMENT_TIMEOUT_MS;
    database outages surface as DatabaseUnavailableError.

    `BEGIN; SET LOCAL ...` goes out as one simple-protocol message. With `pipeline`, the transaction runs in
    psycopg's pipeline mode (its statements are sent without waiting for each answer), where one message may
    hold one statement only: the timeout is then a pipelined `set_config(..., true)`.
    """
    conn = connection()
    with _outage_as_unavailable(conn):
        if pipeline:
            with conn.pipeline(), conn.transaction():
                _pipelined_timeout(conn)
                yield conn
        else:
            with _explicit_transaction(conn):
                yield conn


@contextmanager
def _explicit_transaction(conn: Connection) -> Iterator[None]:
    # psycopg's own conn.transaction() would send BEGIN alone; inside this block it makes savepoints.
    conn.execute(b"BEGIN; " + _set_timeout())
    try:
        yield
    except BaseException:
        if not conn.closed and not conn.broken:
            conn.execute(b"ROLLBACK")
        raise
    conn.execute(b"COMMIT")


def fetch_all(query: bytes | sql.SQL | sql.Composed, params: Mapping[str, Any] | Sequence[Any]) -> list[dict[str, Any]]:
    """One read-only statement outside any explicit transaction, bounded by the statement timeout, in one round
    trip: pipeline mode sends `set_config('statement_timeout', ..., true)` and the statement before a single
    Sync, so the two run in one implicit transaction (the setting ends with it; nothing stays in the session).
    The extended protocol keeps the parameters server-side and lets psycopg prepare the statement where
    DB_PREPARE_THRESHOLD allows it; BEGIN and COMMIT would add two statements and nothing else."""
    conn = connection()
    with _outage_as_unavailable(conn):
        with conn.pipeline():
            _pipelined_timeout(conn)
            cursor = conn.execute(query, params)
        # Fetched after the pipeline's one Sync: fetching inside it would send a second one (a round trip).
        return cursor.fetchall()


def ping() -> None:
    """Returns when the database answers a statement; raises DatabaseUnavailableError when it does not."""
    with transaction() as conn:
        conn.execute(b"SELECT 1")


@contextmanager
def _outage_as_unavailable(conn: Connection) -> Iterator[None]:
    """A lost connection is dropped (the next call opens a new one) and surfaces as DatabaseUnavailableError."""
    try:
        yield
    except psycopg.OperationalError as error:
        if conn.broken or conn.closed:
            close()
        raise DatabaseUnavailableError("the database is unavailable") from error


def _pipelined_timeout(conn: Connection) -> None:
    # In pipeline mode one message holds one statement: the timeout goes as its own, unanswered until the Sync.
    conn.execute(b"SELECT set_config('statement_timeout', %s, true)", (str(get_settings().db_statement_timeout_ms),))


def close() -> None:
    conn: Connection | None = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()
