"""Beside DomIQ's real `property` table (NOT NULL name, address...), PUT tour-schedule cannot create a
property: an unknown one answers 404 property_not_found, a known one gets its schedule."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.api_events import call
from tests.builders import schedule_body
from tests.database import SQL_DIR, pooled, scratch_database
from tour_booking import db
from tour_booking.db.migrations import apply_migrations
from tour_booking.settings import get_settings

DOMIQ_TABLES = b"""
CREATE TABLE property (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL, address VARCHAR(255) NOT NULL, city VARCHAR(100) NOT NULL,
    state VARCHAR(50) NOT NULL, zip_code VARCHAR(20) NOT NULL
);
CREATE TABLE conversation (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    chatbot_id UUID, user_id UUID, is_book_tour BOOLEAN, tour_type VARCHAR(50), tour_datetime TIMESTAMPTZ
);
"""


@pytest.fixture
def domiq_db(server_url: str, migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with scratch_database(server_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(DOMIQ_TABLES)
        apply_migrations(pooled(url), SQL_DIR)
        db.close()
        monkeypatch.setenv("DATABASE_URL", pooled(url))
        get_settings.cache_clear()
        yield url
        db.close()
    get_settings.cache_clear()


def test_unknown_property_is_404_and_a_known_one_gets_its_schedule(domiq_db: str) -> None:
    # given DomIQ's property table with one community
    with psycopg.connect(domiq_db, autocommit=True) as conn:
        row = conn.execute(
            b"INSERT INTO property (name, address, city, state, zip_code) "
            b"VALUES ('Elm Court', '1 Elm St', 'Austin', 'TX', '78701') RETURNING id"
        ).fetchone()
    assert row is not None
    known = row[0]
    # when schedules are put for an unknown and for the known property
    unknown = call("PUT", f"/properties/{uuid.uuid4()}/tour-schedule", schedule_body())
    saved = call("PUT", f"/properties/{known}/tour-schedule", schedule_body())
    # then the unknown one is 404 property_not_found and nothing was created; the known one is saved
    assert unknown.status == 404
    assert unknown.json["error"]["code"] == "property_not_found"
    assert saved.status == 200
    assert call("GET", f"/properties/{known}/tour-schedule").status == 200
    with psycopg.connect(domiq_db) as conn:
        assert conn.execute(b"SELECT count(*) FROM property").fetchone() == (1,)
