"""The database each benchmark module runs on, and the environment it leaves behind: as it found it.

`make bench` runs every module in one process. A module that left DATABASE_URL pointing at its scratch database
sent the next one to a server already stopped; so each module gets its own scratch database (on DATABASE_URL's
server, or on an embedded server started for it) inside `module_environment`, which puts the environment back.
"""

# ruff: noqa: PLC0415  - imports follow the environment the benchmark sets up
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def _forget_environment() -> None:
    """Drops what was built from the environment: settings, clients, this thread's database connection and the
    worker pools, whose threads keep connections to the database they first used."""
    from tour_booking import db
    from tour_booking.refresh import resman_refresh
    from tour_booking.resman.client import get_resman_client
    from tour_booking.settings import get_settings
    from tour_booking.sync import resman_sync, sync_queue

    db.close()
    resman_refresh._executor.cache_clear()
    resman_sync._executor.cache_clear()
    get_settings.cache_clear()
    get_resman_client.cache_clear()
    sync_queue._sqs.cache_clear()


@contextmanager
def module_environment() -> Iterator[None]:
    """Whatever a module sets in os.environ inside the block is undone when it ends."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        _forget_environment()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated scratch database, which DATABASE_URL names inside the block (and no longer after it)."""
    from tests.database import SQL_DIR
    from tests.database import scratch_database as scratch_on
    from tools.embedded_postgres import database_url
    from tour_booking.db.migrations import apply_migrations

    with module_environment(), database_url() as server, scratch_on(server) as url:
        apply_migrations(url, SQL_DIR)
        os.environ["DATABASE_URL"] = url
        _forget_environment()  # nothing built before (by another module, or a test) reaches the old database
        try:
            yield url
        finally:
            _forget_environment()
