"""Benchmark of the scheduled cache refresh (`make bench`; not a test).

1,000 properties x 14 days (BENCH_REFRESH_PROPERTIES to scale), each with a few tours in the horizon:
1. the database part alone (no ResMan): 14,000 property-days recomputed and upserted; target under 2 s;
2. the whole refresh with ResMan answering every SearchProspects after 100 ms (BENCH_RESMAN_LATENCY_MS),
   the ResMan test double over HTTP when it is importable, otherwise an in-process stand-in with the same
   latency; target under 60 s.
Both print the per-property time. REFRESH_CONCURRENCY (default as in settings) sets the worker threads.
"""

# ruff: noqa: PLC0415  - imports follow the environment this benchmark sets up
from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles")
ACCOUNTS = 100


class _LatencySource:
    """ResMan's SearchProspects answering nothing after a fixed latency (when the double is not available)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def search_prospects_modified(
        self, account_id: str, property_id: str, start: datetime, end: datetime
    ) -> Sequence[Any]:
        threading.Event().wait(self.latency)
        return []


def _seed(url: str, properties: int) -> list[uuid.UUID]:
    import psycopg

    rng = random.Random(7)  # noqa: S311 - benchmark data
    ids = [uuid.uuid4() for _ in range(properties)]
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor().copy("COPY property (id) FROM STDIN") as copy:
            for pid in ids:
                copy.write_row((pid,))
        with conn.cursor().copy(
            "COPY tour_schedule (property_id, timezone, slot_minutes, buffer_minutes, capacity, tour_types, "
            "weekly_hours, horizon_days, resman_account_id, resman_property_id) FROM STDIN"
        ) as copy:
            hours = '{"' + '": [["09:00", "17:00"]], "'.join(ALL_DAYS) + '": [["09:00", "17:00"]]}'
            for i, pid in enumerate(ids):
                copy.write_row(
                    (
                        pid,
                        ZONES[i % len(ZONES)],
                        30,
                        0,
                        2,
                        "{in_person,virtual}",
                        hours,
                        30,
                        str(1000 + i % ACCOUNTS),
                        str(uuid.uuid4()),
                    )
                )
        conversation = conn.execute("INSERT INTO conversation DEFAULT VALUES RETURNING id").fetchone()
        assert conversation is not None
        with conn.cursor().copy(
            "COPY tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, prospect_info) "
            "FROM STDIN"
        ) as copy:
            base = now.replace(minute=0, second=0, microsecond=0)
            for pid in ids:
                for day, hour in rng.sample([(d, h) for d in range(1, 13) for h in range(7)], 5):
                    copy.write_row((conversation[0], pid, "in_person", base + timedelta(days=day, hours=hour), "{}"))
    return ids


def _report(label: str, seconds: float, properties: int, target: float | None) -> None:
    verdict = "" if target is None else f"; target < {target:.0f} s: {'OK' if seconds < target else 'OVER TARGET'}"
    print(
        f"{label}: {seconds:.2f} s for {properties} properties x 14 days "
        f"({seconds / properties * 1000:.2f} ms per property{verdict})",
        flush=True,
    )


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    from bench.database import scratch_database
    from tour_booking import db
    from tour_booking.refresh import resman_refresh
    from tour_booking.settings import get_settings

    properties = int(os.environ.get("BENCH_REFRESH_PROPERTIES", "1000"))
    latency = int(os.environ.get("BENCH_RESMAN_LATENCY_MS", "100")) / 1000
    with scratch_database() as url:
        os.environ["REFRESH_HORIZON_DAYS"] = "14"
        get_settings.cache_clear()
        _seed(url, properties)
        settings = get_settings()
        print(f"{properties} properties, REFRESH_CONCURRENCY={settings.refresh_concurrency}", flush=True)

        # First run of a container: connections opened, slot layouts computed, cache rows created.
        started = time.perf_counter()
        resman_refresh.refresh_all(None)
        _report(
            "database part, first run (empty cache, cold container)", time.perf_counter() - started, properties, None
        )
        started = time.perf_counter()
        report = resman_refresh.refresh_all(None)
        db_seconds = time.perf_counter() - started
        assert not report.failed, report.failed[:3]
        _report("database part, steady state (every 15 minutes)", db_seconds, properties, 2)

        with contextlib.ExitStack() as stack:
            source, label = _resman_source(url, latency, stack)
            started = time.perf_counter()
            report = resman_refresh.refresh_all(source)
            full_seconds = time.perf_counter() - started
            assert not report.failed, report.failed[:3]
            calls = sum(r.windows for r in report.results)
            _report(
                f"full refresh ({label}, {latency * 1000:.0f} ms per SearchProspects, {calls} calls)",
                full_seconds,
                properties,
                60,
            )
        db.close()


def _resman_source(url: str, latency: float, stack: contextlib.ExitStack) -> tuple[Any, str]:
    """The ResMan double over HTTP, every SearchProspects answered after `latency`, with every property seeded."""
    try:
        from tools.resman_double import Fault, start_double
    except ImportError:
        return _LatencySource(latency), "in-process ResMan stand-in"
    import psycopg

    from tour_booking.resman.client import get_resman_client
    from tour_booking.resman.refresh_adapter import ResManProspectSource
    from tour_booking.settings import get_settings

    double = start_double(port=0)
    stack.callback(double.stop)
    with psycopg.connect(url) as conn:
        for account_id, property_id in conn.execute("SELECT resman_account_id, resman_property_id FROM tour_schedule"):
            double.state.add_property(account_id, property_id)
    double.state.add_fault(Fault("latency", method="MITS/SearchProspects", seconds=latency))
    os.environ.update(RESMAN_BASE_URL=double.url, RESMAN_INTEGRATION_PARTNER_ID="partner", RESMAN_API_KEY="key")
    get_settings.cache_clear()
    get_resman_client.cache_clear()
    return ResManProspectSource(), "the ResMan double over HTTP"


if __name__ == "__main__":
    main()
