"""Benchmark of the ResMan sync function (`make bench`; not a test).

One SQS batch of 10 messages for 10 new tours (each a new prospect with email and phone: SearchProspects by
email, by phone, then one PostLeadManagement4_0 = 3 ResMan calls per tour), the ResMan double over HTTP
answering every call after 200 ms (BENCH_RESMAN_LATENCY_MS). Target: the batch in under 1 s, which takes the
tours syncing concurrently inside the batch. Printed for RESMAN_MAX_CONCURRENCY_PER_ACCOUNT = 10 (the target)
and for the default of 2 (ResMan's limited capacity: one account's tours queue behind each other), plus the
steady throughput of one function instance (messages per second) over 10 batches.
"""

# ruff: noqa: PLC0415  - imports follow the environment this benchmark sets up; prints are the output
from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "400"
RESMAN_PROPERTY = "8e2b3f4a-5c6d-4e7f-8091-a2b3c4d5e6f7"


def _event(tours: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "h",
                "body": json.dumps({"tour_id": str(t), "version": 1}),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for t in tours
        ]
    }


def _tours(url: str, property_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    import psycopg

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    ids = []
    with psycopg.connect(url, autocommit=True) as conn:
        for index in range(count):
            conversation = conn.execute("INSERT INTO conversation DEFAULT VALUES RETURNING id").fetchone()
            assert conversation is not None
            info = {
                "first_name": "Bench",
                "last_name": str(index),
                "email": f"{uuid.uuid4().hex}@example.com",
                "phone": f"+1 312 {index % 1000:03d} {index % 10000:04d}",
            }
            row = conn.execute(
                "INSERT INTO tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, "
                "prospect_info) VALUES (%s, %s, 'in_person', %s, %s) RETURNING id",
                (conversation[0], property_id, start + timedelta(minutes=30 * (index % 16)), json.dumps(info)),
            ).fetchone()
            assert row is not None
            ids.append(row[0])
    return ids


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TourBooking")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from psycopg.rows import dict_row

    from bench.database import scratch_database
    from functions.resman_sync.app import lambda_handler
    from tools.local_lambda import LambdaContext
    from tools.resman_double import Fault, start_double
    from tour_booking import db
    from tour_booking.db.schedules_repository import put_schedule
    from tour_booking.domain.schedule import TourSchedule
    from tour_booking.resman.client import ResManClient
    from tour_booking.settings import get_settings

    latency = int(os.environ.get("BENCH_RESMAN_LATENCY_MS", "200")) / 1000
    double = start_double(port=0)
    double.state.add_property(ACCOUNT, RESMAN_PROPERTY)
    double.state.add_fault(Fault("latency", seconds=latency))
    try:
        with scratch_database() as url:
            os.environ.update(
                {"RESMAN_BASE_URL": double.url, "RESMAN_INTEGRATION_PARTNER_ID": "partner", "RESMAN_API_KEY": "key"}
            )
            import psycopg

            property_id = uuid.uuid4()
            with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
                put_schedule(
                    conn,
                    property_id,
                    TourSchedule.model_validate(
                        {
                            "timezone": "America/Chicago",
                            "slot_minutes": 30,
                            "capacity": 1000,
                            "tour_types": ["in_person"],
                            "weekly_hours": {
                                d: [["00:00", "23:30"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                            },
                            "resman_account_id": ACCOUNT,
                            "resman_property_id": RESMAN_PROPERTY,
                        }
                    ),
                )
            context = LambdaContext("tour-booking-resman-sync-bench", 512, 60)
            for per_account in (10, 2):
                os.environ["RESMAN_MAX_CONCURRENCY_PER_ACCOUNT"] = str(per_account)
                get_settings.cache_clear()
                client = ResManClient(get_settings())
                # warm the container: connections to PostgreSQL and ResMan, imports
                lambda_handler(_event(_tours(url, property_id, 10)), context, client=client)
                tours = _tours(url, property_id, 10)
                calls_before = len(double.state.requests())
                started = time.perf_counter()
                answer = lambda_handler(_event(tours), context, client=client)
                seconds = time.perf_counter() - started
                assert answer["batchItemFailures"] == [], answer
                calls = len(double.state.requests()) - calls_before
                verdict = "" if per_account != 10 else (" OK (< 1 s)" if seconds < 1 else " SLOWER than the 1 s target")
                print(
                    f"batch of 10 messages / 10 tours, {latency * 1000:.0f} ms per ResMan call, {calls} calls, "
                    f"RESMAN_MAX_CONCURRENCY_PER_ACCOUNT={per_account}: {seconds:.3f} s "
                    f"({10 / seconds:.1f} messages/s){verdict}",
                    flush=True,
                )
                batches = 10
                tours = _tours(url, property_id, 10 * batches)
                started = time.perf_counter()
                for offset in range(0, len(tours), 10):
                    lambda_handler(_event(tours[offset : offset + 10]), context, client=client)
                seconds = time.perf_counter() - started
                print(
                    f"  one instance, {batches} batches back to back: {len(tours) / seconds:.1f} messages/s", flush=True
                )
            db.close()
    finally:
        double.stop()


if __name__ == "__main__":
    main()
