"""The migration runner against a real, empty PostgreSQL database."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.database import SQL_DIR, scratch_database
from tour_booking.db.migrations import MigrationError, apply_migrations, load_migrations

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

    # then the first run applies every file in order and the second none
    assert first == [m.version for m in load_migrations(SQL_DIR)]
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
    assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations(SQL_DIR))]
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
    assert apply_migrations(empty_url, copy) == [m.version for m in load_migrations(copy)]


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
