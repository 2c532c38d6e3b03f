"""In-memory stand-ins for ResMan's prospect search, for the cache refresh's tests and benchmarks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tour_booking.refresh.prospect_source import WindowTooWideError


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
