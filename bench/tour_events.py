"""Benchmark of the tour events (`make bench`; not a test): what the outbox costs a booking, and how fast the
publisher drains it against moto's EventBridge.

Bookings go through the booking API's handler (as in bench/booking_api.py, SQS send left out), alternating rounds
with the outbox trigger enabled and disabled (`ALTER TABLE ... DISABLE TRIGGER trg_tour_booking_sync_event`), so
both see the same database and machine load. Then the events those bookings wrote are published: once to moto's
EventBridge (in process), once to a bus that accepts everything without a call (the publisher's own cost).

BENCH_EVENTS_PROPERTIES (200), BENCH_EVENTS_SAMPLES (1000 bookings per side) scale it.
"""

# ruff: noqa: PLC0415  - imports follow the environment this benchmark sets up
from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from typing import Any

from bench.booking_api import Bench, _percentiles

TRIGGER = b"ALTER TABLE tour_booking_sync {} TRIGGER trg_tour_booking_sync_event"


class _AcceptingBus:
    def put_events(self, *, Entries: Sequence[Any]) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}


def _bookings(bench: Bench, samples: int, rounds: int = 10) -> dict[str, list[float]]:
    from functions.booking_api.app import lambda_handler
    from tests.api_events import LambdaContext

    context = LambdaContext()
    rng = random.Random(7)  # noqa: S311 - benchmark data
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(20):  # warm-up
        lambda_handler(bench._booking_event(rng), context)
    per_round = max(1, samples // rounds)
    for _ in range(rounds):
        for side in ("with", "without"):
            bench.admin.execute(TRIGGER.replace(b"{}", b"ENABLE" if side == "with" else b"DISABLE"))
            for _ in range(per_round):
                started = time.perf_counter()
                lambda_handler(bench._booking_event(rng), context)
                timings[side].append(time.perf_counter() - started)
    bench.admin.execute(TRIGGER.replace(b"{}", b"ENABLE"))
    return timings


def _publish(bus: Any) -> tuple[int, float]:
    from tour_booking.events.event_publisher import publish_pending

    started = time.perf_counter()
    published = 0
    while True:
        report = publish_pending(bus)
        published += report.published
        if not report.pending:
            break
    return published, time.perf_counter() - started


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.pop("SYNC_QUEUE_URL", None)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from bench.database import scratch_database
    from tour_booking import db
    from tour_booking.events import event_publisher

    properties = int(os.environ.get("BENCH_EVENTS_PROPERTIES", "200"))
    samples = int(os.environ.get("BENCH_EVENTS_SAMPLES", "1000"))
    with scratch_database() as url:
        bench = Bench(url, properties, samples)
        bench.build()
        timings = _bookings(bench, samples)
        with_p50, with_p99 = _percentiles(timings["with"])
        without_p50, without_p99 = _percentiles(timings["without"])
        print(f"  booking through the handler, {len(timings['with'])} per side, alternating rounds")
        print(f"  {'':28} {'p50 ms':>8} {'p99 ms':>8}")
        print(f"  {'with the outbox':28} {with_p50:8.2f} {with_p99:8.2f}")
        print(f"  {'without (trigger disabled)':28} {without_p50:8.2f} {without_p99:8.2f}")
        pending = bench.admin.execute(b"SELECT count(*) FROM tour_event_outbox").fetchone()
        events = int(pending[0]) if pending else 0
        # the same events twice: to moto, then (marked pending again) to a bus that makes no call
        from moto import mock_aws

        with mock_aws():
            import boto3

            client = boto3.client("events", region_name="us-east-1")
            published, seconds = _publish(client)
        print(
            f"  publisher -> moto EventBridge: {published} of {events} events in {seconds:.2f} s "
            f"({published / seconds:.0f} events/s)"
        )
        bench.admin.execute(b"UPDATE tour_event_outbox SET published_at = NULL, lease_until = NULL")
        published, seconds = _publish(_AcceptingBus())
        print(
            f"  publisher -> a bus that makes no call: {published} events in {seconds:.2f} s "
            f"({published / seconds:.0f} events/s: the database part)"
        )
        event_publisher.eventbridge.cache_clear()
        db.close()
        bench.admin.close()


if __name__ == "__main__":
    main()
