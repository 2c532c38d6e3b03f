"""Applies the numbered SQL files of `sql/` in order, once, then the current definitions of `sql/functions/`.

Every pending file runs in one transaction that first takes a transaction-scoped advisory lock, so concurrent
runs (two deploys, two laptops' `make migrate`) serialize and apply each file once, and the runner holds no
session state: it is as safe through RDS Proxy or PgBouncer in transaction mode as directly. Each file is
recorded with its SHA-256; a recorded file whose text changed is refused, and so is a pending file that sorts
before one already applied (a fresh database would run it in another order). A failure applies nothing.

Migration files are history; `sql/functions/` is the one current definition of every function, trigger function
and view (CREATE OR REPLACE, files in name order). In the same transaction, after the pending files, its files run
again whenever the directory's SHA-256 differs from the one recorded under the version `functions/`: a fresh
database and an upgraded one end with the same definitions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tour_booking.db import conninfo

# Any fixed bigint: it names this project's migration lock among the server's advisory locks.
MIGRATION_LOCK_KEY = 0x746F75725F6D6967

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
COMMENT ON TABLE schema_migrations IS
    'Migration files applied to this database, with the SHA-256 of each; functions/ is sql/functions/ as last applied';
"""


# The ledger row of sql/functions/: no migration file is named so, and it takes no part in their order.
FUNCTIONS_VERSION = "functions/"


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path) -> list[Migration]:
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise MigrationError(f"no migration files in {directory}")
    return [Migration(path.name, path.read_text(encoding="utf-8")) for path in files]


def load_functions(directory: Path) -> Migration:
    """`directory`/functions/*.sql as one unit, in name order: its checksum changes with any file's name or text."""
    files = sorted((directory / "functions").glob("*.sql"))
    if not files:
        raise MigrationError(f"no function files in {directory / 'functions'}")
    text = "".join(f"-- {path.name}\n{path.read_text(encoding='utf-8')}\n" for path in files)
    return Migration(FUNCTIONS_VERSION, text)


def apply_migrations(conninfo: str, directory: Path) -> list[str]:
    """Applies what is pending and returns the versions applied now (empty when up to date); FUNCTIONS_VERSION
    comes last when sql/functions/ was applied."""
    migrations = load_migrations(directory)
    functions = load_functions(directory)
    # No prepared statements: behind a pooler the next statement may land on another server connection.
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(CREATE_LEDGER)
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
        applied: dict[str, str] = dict(rows)
        functions_checksum = applied.pop(FUNCTIONS_VERSION, None)
        _refuse_changed(migrations, applied)
        pending = [m for m in migrations if m.version not in applied]
        _refuse_out_of_order(pending, applied)
        for migration in pending:
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                (migration.version, migration.checksum),
            )
        if functions_checksum == functions.checksum:
            return [m.version for m in pending]
        conn.execute(functions.sql.encode())
        conn.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s) "
            "ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at",
            (functions.version, functions.checksum),
        )
        return [*(m.version for m in pending), functions.version]


def _refuse_changed(migrations: list[Migration], applied: dict[str, str]) -> None:
    changed = [m.version for m in migrations if m.version in applied and applied[m.version] != m.checksum]
    if changed:
        raise MigrationError(f"applied migrations changed since they ran: {', '.join(changed)}; add a new file instead")


def _refuse_out_of_order(pending: list[Migration], applied: dict[str, str]) -> None:
    latest = max(applied, default="")
    early = [m.version for m in pending if m.version < latest]
    if early:
        raise MigrationError(
            f"pending migrations sort before {latest}, which is already applied: {', '.join(early)}; "
            "rename them to sort after it"
        )


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(description="Apply the SQL migrations to DATABASE_URL.")
    parser.add_argument("directory", type=Path, nargs="?", default=Path("sql"))
    args = parser.parse_args(argv)
    try:
        applied = apply_migrations(conninfo(), args.directory)
    except (MigrationError, psycopg.Error) as error:
        print(f"migration failed: {error}", file=sys.stderr)
        return 1
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
