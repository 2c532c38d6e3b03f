"""A throwaway PostgreSQL for tests and the local stack when DATABASE_URL is not set.

pgserver ships PostgreSQL binaries in its wheel, so nothing is installed by hand; the data directory is
a temporary one, deleted when the context ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def database_url() -> Iterator[str]:
    """DATABASE_URL when set; otherwise the URL of a fresh embedded server, removed afterwards."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    import pgserver  # noqa: PLC0415 - only needed without DATABASE_URL

    data_dir = tempfile.mkdtemp(prefix="tour-booking-pg-")
    server = pgserver.get_server(data_dir, cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
