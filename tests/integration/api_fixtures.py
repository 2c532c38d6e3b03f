"""Fixtures of the booking API tests: moto SQS as the sync queue, properties with schedules, conversations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.integration.api_events import call
from tour_booking.settings import get_settings
from tour_booking.sync import sync_queue

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def schedule_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timezone": "America/New_York",
        "slot_minutes": 30,
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "capacity": 2,
        "tour_types": ["in_person", "virtual"],
        "weekly_hours": {day: [["09:00", "17:00"]] for day in ALL_DAYS},
        "blackouts": [],
        "horizon_days": 60,
    }
    body.update(overrides)
    return body


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


def queued_messages(client: Any) -> list[str]:
    bodies: list[str] = []
    while True:
        answer = client.receive_message(QueueUrl=client.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            client.delete_message(QueueUrl=client.queue_url, ReceiptHandle=message["ReceiptHandle"])


def new_property(**overrides: Any) -> uuid.UUID:
    property_id = uuid.uuid4()
    answer = call("PUT", f"/properties/{property_id}/tour-schedule", schedule_body(**overrides))
    assert answer.status == 200, answer.json
    return property_id


def new_conversation(url: str) -> uuid.UUID:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(b"INSERT INTO conversation DEFAULT VALUES RETURNING id").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def future_slot(days_ahead: int = 3, hour: int = 10, minute: int = 0, zone: str = "America/New_York") -> str:
    day = datetime.now(UTC).astimezone(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).isoformat()


def local_date(days_ahead: int, zone: str = "America/New_York") -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date() + timedelta(days=days_ahead)


def tour_body(property_id: uuid.UUID, conversation_id: uuid.UUID, start: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "conversation_id": str(conversation_id),
        "property_id": str(property_id),
        "tour_type": "in_person",
        "scheduled_datetime": start,
        "prospect": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone": "+1 555 010 0199",
        },
    }
    body.update(overrides)
    return body


def start_has_passed(url: str, tour_id: str | uuid.UUID, ago: timedelta = timedelta(hours=1)) -> None:
    """Arranges that the tour started `ago` (booking in the past is refused, so its start is moved in SQL)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            b"UPDATE tour_booking_sync SET scheduled_datetime = date_trunc('minute', now()) - %s WHERE id = %s",
            (ago, tour_id),
        )
