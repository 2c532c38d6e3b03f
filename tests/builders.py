"""What the tests arrange with and read back: schedules, properties (through the API or stored directly), conversations,
tours and their bodies, and the rows and messages the code under test wrote."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from tests.api_events import call
from tour_booking.db.schedules_repository import put_schedule
from tour_booking.domain.schedule import TourSchedule

if TYPE_CHECKING:
    from tools.resman_double import DoubleHandle

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# The ResMan double's property (the `double` fixture seeds it) and DomIQ's prospect source there.
ACCOUNT = "400"
RESMAN_PROPERTY = "8e2b3f4a-5c6d-4e7f-8091-a2b3c4d5e6f7"
SOURCE = "7001"


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


def stored_property(url: str, body: dict[str, Any]) -> uuid.UUID:
    """A property with the schedule `body`, written straight to the database (no API call, no cache)."""
    property_id = uuid.uuid4()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        put_schedule(conn, property_id, TourSchedule.model_validate(body))
    return property_id


def synced_property(url: str, *, resman: bool = True, timezone: str = "America/Chicago") -> uuid.UUID:
    """A property the sync tests book into freely: open round the clock, capacity 1000, linked to the double's
    ResMan property (to none with resman=False)."""
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
    return stored_property(url, body)


def refresh_property(url: str, **overrides: Any) -> uuid.UUID:
    """A property the cache refresh tests fill: three hourly morning slots of capacity 2 over 30 days, linked to a
    ResMan property of its own."""
    body: dict[str, Any] = {
        "timezone": "America/New_York",
        "slot_minutes": 60,
        "capacity": 2,
        "tour_types": ["in_person"],
        "weekly_hours": {day: [["09:00", "12:00"]] for day in ALL_DAYS},
        "horizon_days": 30,
        "resman_account_id": "400",
        "resman_property_id": str(uuid.uuid4()),
    }
    body.update(overrides)
    return stored_property(url, body)


def resman_ids(url: str, property_id: uuid.UUID) -> tuple[str, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT resman_account_id, resman_property_id FROM tour_schedule WHERE property_id = %s", (property_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def add_tour(
    url: str, property_id: uuid.UUID, start: datetime, prospect: dict[str, Any] | None = None, /, **columns: Any
) -> uuid.UUID:
    """A tour written straight to the table (its triggers run; no API call), in a conversation of its own; `columns`
    set the rest of its row."""
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


def cached_days(url: str, property_id: uuid.UUID) -> dict[date, list[dict[str, Any]]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT date, available_slots FROM calendar_availability_cache WHERE property_id = %s ORDER BY date",
            (property_id,),
        ).fetchall()
    return {row["date"]: row["available_slots"] for row in rows}


def watermark(url: str, property_id: uuid.UUID) -> dict[str, Any] | None:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM resman_watermark WHERE property_id = %s", (property_id,)).fetchone()


def sqs_event(*messages: tuple[uuid.UUID, int]) -> dict[str, Any]:
    """The sync queue's event for `resman_sync`: one record per (tour id, version)."""
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
