"""Helpers of the cache refresh tests: properties, tours and an in-memory ResMan prospect source."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tour_booking import db
from tour_booking.db.schedules_repository import put_schedule
from tour_booking.domain.schedule import TourSchedule
from tour_booking.refresh.prospect_source import WindowTooWideError

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def new_property(url: str, **overrides: Any) -> uuid.UUID:
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
    property_id = uuid.uuid4()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        put_schedule(conn, property_id, TourSchedule.model_validate(body))
    return property_id


def resman_ids(url: str, property_id: uuid.UUID) -> tuple[str, str]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT resman_account_id, resman_property_id FROM tour_schedule WHERE property_id = %s", (property_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def add_tour(url: str, property_id: uuid.UUID, start: datetime, **columns: Any) -> uuid.UUID:
    with psycopg.connect(url, autocommit=True) as conn:
        conversation = conn.execute("INSERT INTO conversation DEFAULT VALUES RETURNING id").fetchone()
        assert conversation is not None
        values = {
            "conversation_id": conversation[0],
            "property_id": property_id,
            "tour_type": "in_person",
            "scheduled_datetime": start,
            "prospect_info": json.dumps({"first_name": "A", "last_name": "B", "email": "a@example.com"}),
            **columns,
        }
        names = ", ".join(values)
        marks = ", ".join(f"%({name})s" for name in values)
        row = conn.execute(
            f"INSERT INTO tour_booking_sync ({names}) VALUES ({marks}) RETURNING id".encode(),
            values,
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


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


@dataclass(frozen=True)
class FakeEvent:
    event_type: str
    event_date: datetime | None
    event_id: str | None = None
    comments: str | None = None


@dataclass
class FakeProspect:
    prospect_id: str
    modified_at: datetime
    events: list[FakeEvent] = field(default_factory=list)
    customer_type: str = "prospect"


@dataclass
class FakeResMan:
    """ResMan's SearchProspects by modified window, in memory, with failures on demand."""

    prospects: dict[str, list[FakeProspect]] = field(default_factory=dict)  # by ResMan property id
    failing: set[str] = field(default_factory=set)  # ResMan property ids that answer errors
    widest: float | None = None  # seconds: wider windows answer buffer overflow
    fail_after_calls: int | None = None
    calls: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, resman_property_id: str, prospect: FakeProspect) -> None:
        self.prospects.setdefault(resman_property_id, []).append(prospect)

    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> list[FakeProspect]:
        with self.lock:
            self.calls.append((property_id, start, end))
            if property_id in self.failing:
                raise RuntimeError("ResMan answered 500")
            if self.fail_after_calls is not None and len(self.calls) > self.fail_after_calls:
                raise RuntimeError("ResMan answered 503")
            if self.widest is not None and (end - start).total_seconds() > self.widest:
                raise WindowTooWideError("buffer overflow")
            return [p for p in self.prospects.get(property_id, []) if start <= p.modified_at < end]


def close_worker_connections() -> None:
    db.close()


@dataclass
class ConcurrencyProbe:
    """A ProspectSource that answers after `latency` seconds (what `inner` answers, or nothing) and records the
    most calls it saw in flight at once, per ResMan account."""

    latency: float
    inner: Any = None
    in_flight: dict[str, int] = field(default_factory=dict)
    most: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def search_prospects_modified(self, account_id: str, property_id: str, start: datetime, end: datetime) -> Any:
        with self.lock:
            self.calls += 1
            self.in_flight[account_id] = self.in_flight.get(account_id, 0) + 1
            self.most[account_id] = max(self.most.get(account_id, 0), self.in_flight[account_id])
        try:
            threading.Event().wait(self.latency)
            if self.inner is None:
                return []
            return self.inner.search_prospects_modified(account_id, property_id, start, end)
        finally:
            with self.lock:
                self.in_flight[account_id] -= 1
