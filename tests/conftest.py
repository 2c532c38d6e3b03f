"""What every tier shares: each test's tier marker, and the services the code under test runs against (the database,
moto's SQS, the local API Gateway). Each tier's own fixtures live in its folder's conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.api_events import KEY
from tests.database import SQL_DIR, TRUNCATE, advisory_locks_of_idle_sessions, pooled, scratch_database
from tools import local_stack
from tools.embedded_postgres import database_url
from tour_booking import db
from tour_booking.db.migrations import apply_migrations
from tour_booking.settings import get_settings
from tour_booking.sync import sync_queue

TESTS = Path(__file__).resolve().parent
# The folders under tests/, each a tier with the marker of its name (pyproject.toml); the Makefile runs them by folder.
TIERS = frozenset({"unit", "integration", "slow", "e2e", "infra"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.resolve().relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(tier)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The PostgreSQL server of this run: DATABASE_URL, or an embedded one started for it."""
    with database_url() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_url(server_url: str) -> Iterator[str]:
    """A database of this run with every migration applied (its direct URL, for arranging and checking); the code
    under test is pointed at it through `app_url`."""
    with scratch_database(server_url) as url:
        apply_migrations(pooled(url), SQL_DIR)
        previous = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = pooled(url)
        get_settings.cache_clear()
        yield url
        db.close()
        # Checked once the whole run is over: no session kept an advisory lock past its transaction.
        assert advisory_locks_of_idle_sessions(url) == 0
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def app_url(migrated_url: str) -> str:
    """The URL the code under test uses (DATABASE_URL): through PgBouncer when the run is behind one."""
    return pooled(migrated_url)


@pytest.fixture
def clean_db(migrated_url: str) -> Iterator[str]:
    """The migrated database, emptied before the test."""
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(TRUNCATE)
    yield migrated_url


@pytest.fixture
def conn(clean_db: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain autocommit connection to the emptied, migrated database, for arranging and checking."""
    with psycopg.connect(clean_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def sqs_queue(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SQS queue as SYNC_QUEUE_URL; yields the boto3 client (receive to see what was queued)."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="tour-booking-sync-test")["QueueUrl"]
        monkeypatch.setenv("SYNC_QUEUE_URL", url)
        get_settings.cache_clear()
        sync_queue._sqs.cache_clear()
        client.queue_url = url  # type: ignore[attr-defined]
        yield client
    get_settings.cache_clear()
    sync_queue._sqs.cache_clear()


@pytest.fixture
def gateway_url(clean_db: str, sqs_queue: Any) -> Iterator[str]:
    """The booking API behind the local API Gateway over real HTTP (tools/local_stack.py), on the test database and
    the moto queue: the gateway's base URL; the only valid x-api-key is KEY."""
    with ExitStack() as stack:
        yield local_stack.start_booking_api(stack, {KEY})
