"""The migration runner against a real, empty PostgreSQL database."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.database import SQL_DIR, scratch_database
from tour_booking.db.migrations import (
    CREATE_LEDGER,
    FUNCTIONS_VERSION,
    Migration,
    MigrationError,
    apply_migrations,
    load_migrations,
)

pytestmark = pytest.mark.migrations

SEED_TABLES = {"tour_booking_sync", "calendar_availability_cache"}
SEED_INDEXES = {
    "idx_tour_booking_sync_status",
    "idx_tour_booking_sync_conversation",
}


@pytest.fixture
def empty_url(server_url: str) -> Iterator[str]:
    with scratch_database(server_url) as url:
        yield url


def _names(url: str, query: bytes) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(query).fetchall()}


def test_applies_every_file_to_an_empty_database_then_nothing(empty_url: str) -> None:
    # given an empty database
    # when the migrations run twice
    first = apply_migrations(empty_url, SQL_DIR)
    second = apply_migrations(empty_url, SQL_DIR)

    # then the first run applies every file in order, then sql/functions/, and the second none
    assert first == [*(m.version for m in load_migrations(SQL_DIR)), FUNCTIONS_VERSION]
    assert second == []
    tables = _names(empty_url, b"SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert SEED_TABLES | {"property", "conversation", "tour_schedule", "schema_migrations"} <= tables
    indexes = _names(empty_url, b"SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    assert indexes >= SEED_INDEXES
    assert "idx_calendar_availability_cache_property_date" not in indexes
    with psycopg.connect(empty_url) as conn:
        assert conn.execute(b"SELECT count(*) FROM tour_booking_success_rate").fetchone() == (0,)


def test_concurrent_runs_apply_each_file_once(empty_url: str) -> None:
    # given four runners started together
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            results.append(apply_migrations(empty_url, SQL_DIR))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then exactly one applied the files and the ledger holds each once
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations(SQL_DIR)) + 1]
    with psycopg.connect(empty_url) as conn:
        rows = conn.execute(b"SELECT version, count(*) FROM schema_migrations GROUP BY version").fetchall()
    assert all(count == 1 for _, count in rows)


def test_a_changed_applied_file_is_refused(empty_url: str, tmp_path: Path) -> None:
    # given a database migrated from a copy of sql/
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    apply_migrations(empty_url, copy)

    # when an applied file is edited
    first = sorted(copy.glob("*.sql"))[1]
    first.write_text(first.read_text() + "\n-- edited\n")

    # then the next run refuses it by name
    with pytest.raises(MigrationError, match=first.name):
        apply_migrations(empty_url, copy)


def test_a_new_file_is_applied_after_the_others(empty_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    apply_migrations(empty_url, copy)
    (copy / "999_extra.sql").write_text("CREATE TABLE extra_table (id int);")

    # sql/functions/ is unchanged: only the new file runs
    assert apply_migrations(empty_url, copy) == ["999_extra.sql"]


def test_a_failing_file_leaves_nothing_of_its_run_applied(empty_url: str, tmp_path: Path) -> None:
    # given the migrations with a broken file at the end
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    (copy / "999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();")

    # when they run, the run fails and applies nothing: the pending files share one transaction
    with pytest.raises(psycopg.Error):
        apply_migrations(empty_url, copy)
    tables = _names(empty_url, b"SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert "half_done" not in tables
    assert "tour_booking_sync" not in tables

    # then, once the file is mended, the next run applies every file
    (copy / "999_broken.sql").write_text("CREATE TABLE half_done (id int);")
    assert apply_migrations(empty_url, copy) == [*(m.version for m in load_migrations(copy)), FUNCTIONS_VERSION]


def test_a_pending_file_that_sorts_before_an_applied_one_is_refused_by_name(empty_url: str, tmp_path: Path) -> None:
    # given a database migrated from a copy of sql/
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    apply_migrations(empty_url, copy)

    # when a file that sorts before the applied ones is added
    (copy / "001_domiq_minimal_tables_a_late.sql").write_text("CREATE TABLE late_table (id int);")

    # then the run refuses it by name and applies nothing
    with pytest.raises(MigrationError, match=r"001_domiq_minimal_tables_a_late\.sql"):
        apply_migrations(empty_url, copy)
    assert "late_table" not in _names(empty_url, b"SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


def test_applies_beside_domiq_own_tables_and_leaves_them_alone(empty_url: str) -> None:
    # given DomIQ's own property and conversation tables, with required columns
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute(
            b"""
            CREATE TABLE property (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL,
                address text NOT NULL, city text NOT NULL, state text NOT NULL, zip_code text NOT NULL);
            COMMENT ON TABLE property IS 'DomIQ property';
            CREATE TABLE conversation (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), chatbot_id uuid,
                user_id uuid, is_book_tour boolean, tour_type text, tour_datetime timestamptz);
            """
        )

    # when the migrations run
    apply_migrations(empty_url, SQL_DIR)

    # then DomIQ's columns and comment are untouched
    with psycopg.connect(empty_url) as conn:
        columns = {
            row[0]
            for row in conn.execute(b"SELECT column_name FROM information_schema.columns WHERE table_name = 'property'")
        }
        comment = conn.execute(b"SELECT obj_description('property'::regclass, 'pg_class')").fetchone()
    assert columns == {"id", "name", "address", "city", "state", "zip_code"}
    assert comment == ("DomIQ property",)


# Everything a migration or sql/functions/ defines, as the catalog gives it back (object names, no oids).
SCHEMA = b"""
SELECT 'function ' || p.oid::regprocedure::text, pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid), '')
FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT 'view ' || c.relname, pg_get_viewdef(c.oid) || coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
UNION ALL
SELECT 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal
UNION ALL
SELECT 'index ' || indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint ' || conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'column ' || table_name || '.' || column_name,
       concat_ws(' ', data_type, is_nullable, column_default, col_description(
           (quote_ident(table_name))::regclass, ordinal_position::int))
FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
"""


def _schema(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(SCHEMA).fetchall())


def _migrate_without_functions(url: str, migrations: list[Migration]) -> None:
    """What the runner did before sql/functions/ existed: each file once, recorded in the ledger."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(CREATE_LEDGER.encode())
        for migration in migrations:
            conn.execute(migration.sql.encode())
            conn.execute(
                b"INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                (migration.version, migration.checksum),
            )


def test_an_upgraded_database_ends_identical_to_a_fresh_one(server_url: str) -> None:
    # given a database migrated up to 050 by the runner of before sql/functions/, and an empty one
    migrations = load_migrations(SQL_DIR)
    upto_050 = [m for m in migrations if m.version < "051"]
    with scratch_database(server_url) as upgraded, scratch_database(server_url) as fresh:
        _migrate_without_functions(upgraded, upto_050)

        # when the runner brings both up to date
        assert apply_migrations(upgraded, SQL_DIR) == [
            *(m.version for m in migrations if m not in upto_050),
            FUNCTIONS_VERSION,
        ]
        apply_migrations(fresh, SQL_DIR)

        # then every function, view, trigger, index, constraint and column is the same
        fresh_schema = _schema(fresh)
        assert _schema(upgraded) == fresh_schema
    assert "function tour_is_active(text)" in fresh_schema


def test_the_functions_run_again_only_when_their_directory_changed(empty_url: str, tmp_path: Path) -> None:
    # given a database migrated from a copy of sql/
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    apply_migrations(empty_url, copy)
    assert apply_migrations(empty_url, copy) == []

    # when a function's definition changes (and no migration is added)
    occupancy = copy / "functions" / "30_occupancy.sql"
    occupancy.write_text(
        occupancy.read_text()
        + "\nCOMMENT ON FUNCTION peak_overlap(TSTZRANGE[], TSTZRANGE) IS 'The busiest instant of a window';\n"
    )

    # then the next run applies the functions once, with the new definition
    assert apply_migrations(empty_url, copy) == [FUNCTIONS_VERSION]
    assert apply_migrations(empty_url, copy) == []
    with psycopg.connect(empty_url) as conn:
        comment = conn.execute(
            b"SELECT obj_description('peak_overlap(tstzrange[], tstzrange)'::regprocedure)"
        ).fetchone()
    assert comment == ("The busiest instant of a window",)


def test_every_function_and_view_of_the_schema_is_defined_in_sql_functions(empty_url: str) -> None:
    # given a migrated database
    apply_migrations(empty_url, SQL_DIR)

    # then sql/functions/ names every function and view the database holds, and nothing more
    defined = set()
    for path in (SQL_DIR / "functions").glob("*.sql"):
        defined |= set(re.findall(r"CREATE OR REPLACE (?:FUNCTION|VIEW) (\w+)", path.read_text()))
    in_database = {
        name.split()[1].split("(")[0] for name in _schema(empty_url) if name.startswith(("function ", "view "))
    }
    assert defined == in_database
