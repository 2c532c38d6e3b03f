"""Publishes the tour events' outbox to EventBridge (README "Tour events"); run every minute by the schedule.

One run: issue the reminders that fell due, then until nothing is pending (or the run's time is up): claim a batch
with a lease (one short transaction), PutEvents it 10 entries at a time, and mark each call's accepted entries
published and its refused ones for a retry (another short transaction). No transaction stays open across
PutEvents. A publisher that dies between the claim and the mark leaves its rows leased: once the lease expires
the next run sends them again with the same `event_id` (at-least-once; DomIQ deduplicates on it). Each tour's
next event is claimed only once its previous one is published, so a tour's events go out in order. Finally,
published events older than EVENT_RETENTION_DAYS are pruned.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import outbox_repository
from tour_booking.domain import tour_events
from tour_booking.run_reports import report_dict
from tour_booking.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

logger = Logger(child=True)

PUT_EVENTS_LIMIT = 10
CLAIM_BATCH = 100


class EventBus(Protocol):
    """What the publisher needs of EventBridge: boto3's `events` client has it."""

    def put_events(self, *, Entries: Sequence[Any]) -> Any: ...


@lru_cache(maxsize=1)
def eventbridge() -> EventBridgeClient:
    import boto3  # noqa: PLC0415 - only the publisher pays for boto3's import

    # boto3 honours AWS_ENDPOINT_URL, which points the local stack and the tests at moto.
    return boto3.client("events")


@dataclass
class PublishReport:
    reminders: int = 0
    published: int = 0
    failed: int = 0
    pruned: int = 0
    pending: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return report_dict(self)


def _put(bus: EventBus, rows: Sequence[dict[str, Any]], bus_name: str) -> tuple[list[int], list[tuple[int, str]]]:
    """One PutEvents call: the seqs EventBridge accepted and the refused ones with EventBridge's reason."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        answer = bus.put_events(Entries=[tour_events.entry(row, bus_name) for row in rows])
    except (BotoCoreError, ClientError) as error:
        logger.warning("PutEvents failed", extra={"error": type(error).__name__, "entries": len(rows)})
        return [], [(row["seq"], type(error).__name__) for row in rows]
    accepted: list[int] = []
    refused: list[tuple[int, str]] = []
    results = answer.get("Entries", [])
    for index, row in enumerate(rows):
        result = results[index] if index < len(results) else {"ErrorCode": "MissingResult"}
        if result.get("EventId") and not result.get("ErrorCode"):
            accepted.append(row["seq"])
        else:
            refused.append((row["seq"], f"{result.get('ErrorCode')}: {result.get('ErrorMessage', '')}"))
    return accepted, refused


def publish_pending(bus: EventBus, *, now: datetime | None = None, deadline: float | None = None) -> PublishReport:
    """Publishes everything pending (until `deadline`, a time.monotonic() value, when given)."""
    settings = get_settings()
    bus_name = settings.event_bus_name or "default"
    started = time.monotonic()
    now = now or datetime.now(UTC)
    report = PublishReport()
    with db.transaction() as conn:
        report.reminders = outbox_repository.issue_due_reminders(conn, settings.reminder_offsets_minutes, now)
    while deadline is None or time.monotonic() < deadline:
        with db.transaction() as conn:
            rows = outbox_repository.claim(conn, CLAIM_BATCH, settings.event_publish_lease_seconds)
        if not rows:
            break
        for start in range(0, len(rows), PUT_EVENTS_LIMIT):
            chunk = rows[start : start + PUT_EVENTS_LIMIT]
            accepted, refused = _put(bus, chunk, bus_name)
            with db.transaction() as conn:
                outbox_repository.mark_published(conn, accepted)
                outbox_repository.mark_failed(conn, refused, settings.event_retry_seconds)
            report.published += len(accepted)
            report.failed += len(refused)
            for row in chunk:
                if row["seq"] in accepted:
                    logger.info(
                        "tour event published",
                        extra={
                            "event_id": str(row["event_id"]),
                            "detail_type": row["detail_type"],
                            "tour_id": str(row["tour_id"]),
                            "version": row["tour_version"],
                        },
                    )
    with db.transaction() as conn:
        report.pruned = outbox_repository.prune(
            conn, now - timedelta(days=settings.event_retention_days), now - timedelta(days=1)
        )
        report.pending = outbox_repository.pending_count(conn)
    report.seconds = round(time.monotonic() - started, 3)
    return report
