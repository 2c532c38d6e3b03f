"""Fixtures of the ResMan tests: the double over real HTTP, a client pointed at it with tiny backoff, tours."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tools.resman_double import DoubleHandle, start_double
from tour_booking.db.schedules_repository import put_schedule
from tour_booking.domain.schedule import TourSchedule
from tour_booking.resman.client import ResManClient
from tour_booking.settings import get_settings

ACCOUNT = "400"
RESMAN_PROPERTY = "8e2b3f4a-5c6d-4e7f-8091-a2b3c4d5e6f7"
SOURCE = "7001"
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def double() -> Iterator[DoubleHandle]:
    handle = start_double(port=0)
    handle.state.add_property(ACCOUNT, RESMAN_PROPERTY, prospect_sources={SOURCE: "DomIQ"})
    yield handle
    handle.stop()


@pytest.fixture
def resman_env(double: DoubleHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "RESMAN_BASE_URL": double.url,
        "RESMAN_INTEGRATION_PARTNER_ID": "partner",
        "RESMAN_API_KEY": "key",
        "RESMAN_TIMEOUT_SECONDS": "0.5",
        "RESMAN_MAX_ATTEMPTS": "4",
        "RESMAN_BACKOFF_BASE_SECONDS": "0.005",
        "RESMAN_BACKOFF_MAX_SECONDS": "0.05",
        "RESMAN_MAX_CONCURRENCY_PER_ACCOUNT": "4",
        "RESMAN_PROSPECT_SOURCE_ID": SOURCE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RESMAN_SECRET_ARN", raising=False)
    from functions.resman_sync import app

    # the namespace template.yaml gives every function (POWERTOOLS_METRICS_NAMESPACE)
    monkeypatch.setattr(app.metrics.provider, "namespace", "TourBooking")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(resman_env: None) -> ResManClient:
    return ResManClient(get_settings())


def new_property(url: str, *, resman: bool = True, timezone: str = "America/Chicago") -> uuid.UUID:
    body: dict[str, Any] = {
        "timezone": timezone,
        "slot_minutes": 30,
        "capacity": 1000,
        "tour_types": ["in_person", "virtual"],
        "weekly_hours": {day: [["00:00", "23:30"]] for day in ALL_DAYS},
        "horizon_days": 60,
    }
    if resman:
        body |= {"resman_account_id": ACCOUNT, "resman_property_id": RESMAN_PROPERTY}
    property_id = uuid.uuid4()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        put_schedule(conn, property_id, TourSchedule.model_validate(body))
    return property_id


def add_tour(
    url: str, property_id: uuid.UUID, start: datetime, prospect: dict[str, Any] | None = None, **columns: Any
) -> uuid.UUID:
    info = prospect or {"first_name": "Ada", "last_name": "Lovelace", "email": f"{uuid.uuid4().hex[:10]}@example.com"}
    with psycopg.connect(url, autocommit=True) as conn:
        conversation = conn.execute("INSERT INTO conversation DEFAULT VALUES RETURNING id").fetchone()
        assert conversation is not None
        values = {
            "conversation_id": conversation[0],
            "property_id": property_id,
            "tour_type": "in_person",
            "scheduled_datetime": start,
            "prospect_info": json.dumps(info),
            **columns,
        }
        names = ", ".join(values)
        marks = ", ".join(f"%({n})s" for n in values)
        row = conn.execute(
            f"INSERT INTO tour_booking_sync ({names}) VALUES ({marks}) RETURNING id",
            values,
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def change_tour(url: str, tour_id: uuid.UUID, **changes: Any) -> int:
    """A change ResMan must learn, as the booking API makes it: version bumped, pending."""
    sets = ", ".join(f"{k} = %({k})s" for k in changes)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            f"UPDATE tour_booking_sync SET {sets}, version = version + 1, sync_status = 'pending' "
            "WHERE id = %(_id)s RETURNING version",
            {**changes, "_id": tour_id},
        ).fetchone()
    assert row is not None
    return int(row[0])


def tour_row(url: str, tour_id: uuid.UUID) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM tour_booking_sync WHERE id = %s", (tour_id,)).fetchone()
    assert row is not None
    return row


def sqs_event(*messages: tuple[uuid.UUID, int]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}-{uuid.uuid4().hex[:8]}",
                "receiptHandle": "handle",
                "body": json.dumps({"tour_id": str(tour_id), "version": version}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tour-booking-sync-test",
                "awsRegion": "us-east-1",
            }
            for index, (tour_id, version) in enumerate(messages)
        ]
    }


def appointments(double: DoubleHandle, tour_id: uuid.UUID | None = None) -> list[tuple[str, Any]]:
    """(prospect id, event) of every Appointment event in the double (of one tour when given)."""
    found = []
    for prospect in double.state.all_prospects():
        for event in prospect.events:
            if event.event_type == "Appointment" and (tour_id is None or str(tour_id) in (event.comments or "")):
                found.append((prospect.prospect_id, event))
    return found
