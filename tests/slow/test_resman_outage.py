"""ResMan down for hours (on the double's clock), the whole pipeline running: the booking API's handler, moto's
SQS server with the sync queue and its dead-letter queue as template.yaml declares them, the sync function fed
batches by the local event source mapping (partial batch responses honoured), the sweeper, the redrive.

Bookings keep succeeding; the tours wait `pending` while their messages are retried and dead-lettered; once
ResMan is back and the dead-letter queue is redriven, every tour ends `success` or `failed` with its reason,
and ResMan holds exactly one guest card and one appointment per synced tour."""

from __future__ import annotations

import json
import logging
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import psycopg
import pytest
from psycopg.rows import dict_row

from functions.resman_sync.app import lambda_handler
from tests.api_events import LambdaContext, call
from tests.builders import ALL_DAYS, SOURCE, appointments, future_slot, new_conversation, schedule_body, tour_body
from tools import redrive
from tools.local_sqs import LocalSqsServer, SyncQueues, create_sync_queues, sqs_client
from tools.local_sqs_poller import LocalSqsPoller
from tools.resman_double import DoubleHandle, Fault, start_double
from tools.sam_template import queue_settings
from tour_booking import observability
from tour_booking.resman.client import get_resman_client
from tour_booking.settings import get_settings
from tour_booking.sync import sync_queue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# (account, ResMan property, time zone): two ResMan accounts, four properties
RESMAN_PROPERTIES = [
    ("400", "8e2b3f4a-5c6d-4e7f-8091-a2b3c4d5e6f7", "America/Chicago"),
    ("400", "1f0c9a7e-2b3d-4c5e-8f60-718293a4b5c6", "America/New_York"),
    ("401", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", "America/Chicago"),
    ("401", "c0ffee00-1234-4abc-9def-0123456789ab", "America/Denver"),
]
TOURS_PER_PROPERTY = 8
PERMANENT_FAILURES = 3
AMBIGUOUS_POSTS = 4
SYNC_FUNCTION = "resman-sync-outage"
logger = logging.getLogger(__name__)


@dataclass
class Tally:
    batches: int = 0
    received: int = 0
    failed: int = 0
    passes: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def double() -> Iterator[DoubleHandle]:
    handle = start_double(port=0)
    for account, resman_property, zone in RESMAN_PROPERTIES:
        handle.state.add_property(account, resman_property, timezone=zone, prospect_sources={SOURCE: "DomIQ"})
    yield handle
    handle.stop()


@pytest.fixture
def queues(clean_db: str, double: DoubleHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncQueues]:
    """moto's SQS server as AWS_ENDPOINT_URL (as in the local stack), the template's queue pair, and settings
    that keep the retries short: the outage is simulated by passes, not by waiting."""
    server = LocalSqsServer(port=0)
    server.start()
    settings = {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RESMAN_BASE_URL": double.url,
        "RESMAN_INTEGRATION_PARTNER_ID": "partner",
        "RESMAN_API_KEY": "key",
        "RESMAN_PROSPECT_SOURCE_ID": SOURCE,
        "RESMAN_TIMEOUT_SECONDS": "0.15",
        "RESMAN_MAX_ATTEMPTS": "2",
        "RESMAN_BACKOFF_BASE_SECONDS": "0.001",
        "RESMAN_BACKOFF_MAX_SECONDS": "0.01",
        "RESMAN_MAX_CONCURRENCY_PER_ACCOUNT": "4",
        # The real clock stands still while the double's moves hours: every pending tour is old enough.
        "SWEEPER_PENDING_AGE_SECONDS": "0",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RESMAN_SECRET_ARN", raising=False)

    monkeypatch.setattr(observability.metrics.provider, "namespace", "TourBooking")
    suffix = uuid.uuid4().hex[:8]
    pair = create_sync_queues(sqs_client(), f"tour-booking-sync-{suffix}", f"tour-booking-sync-dlq-{suffix}")
    monkeypatch.setenv("SYNC_QUEUE_URL", pair.url)
    _clear_caches()
    yield pair
    _clear_caches()
    server.stop()


def _clear_caches() -> None:
    get_settings.cache_clear()
    sync_queue._sqs.cache_clear()
    get_resman_client.cache_clear()


def advance_double_clock(double: DoubleHandle, seconds: float) -> None:
    request = urllib.request.Request(
        f"{double.url}/__double__/clock", data=json.dumps({"advance_seconds": seconds}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # nosec B310 - the loopback double
        assert answer.status == 200


def depth(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


class HiddenForTheVisibilityTimeout:
    """The SQS client as the event source mapping uses it, remembering the failed messages it left invisible
    for the queue's visibility timeout, so that the test can end that timeout when it moves the double's clock
    past it (moto's visibility runs on the real clock)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.hidden: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.hidden.extend(entry["ReceiptHandle"] for entry in Entries)
        return self.client.change_message_visibility_batch(QueueUrl=QueueUrl, Entries=Entries)

    def end_visibility_timeout(self, url: str) -> None:
        handles, self.hidden = self.hidden, []
        for offset in range(0, len(handles), 10):
            self.client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for i, h in enumerate(handles[offset : offset + 10])
                ],
            )


def drain(client: Any, queues: SyncQueues, double: DoubleHandle, tally: Tally, passes: int | None = None) -> None:
    """Runs the event source mapping until the queue is empty (or for `passes` passes). In a pass every message
    on the queue reaches the function once; a failed one stays invisible for the queue's visibility timeout, as
    in AWS; then the double's clock moves by that timeout and the failed messages come back."""
    visibility = int(queue_settings()["VisibilityTimeout"])
    mapping_client = HiddenForTheVisibilityTimeout(client)

    def invoke_sync(event: dict[str, Any]) -> Any:
        tally.records.extend(event["Records"])
        return lambda_handler(event, LambdaContext(function_name=SYNC_FUNCTION))

    poller = LocalSqsPoller(
        cast("SQSClient", mapping_client),
        queues.url,
        queues.arn,
        invoke_sync,
        wait_seconds=0,
        retry_delay=lambda _: visibility,
    )
    done = 0
    while depth(client, queues.url) and (passes is None or done < passes):
        while (outcome := poller.poll_once()).received:
            tally.batches += 1
            tally.received += outcome.received
            tally.failed += outcome.failed
        mapping_client.end_visibility_timeout(queues.url)
        advance_double_clock(double, visibility)
        done += 1
        tally.passes += 1
        assert tally.passes < 50, "the queue never drained"


def book(properties: list[uuid.UUID], url: str, wave: int) -> list[dict[str, Any]]:
    answers = []
    for index, property_id in enumerate(properties):
        zone = RESMAN_PROPERTIES[index][2]
        for number in range(TOURS_PER_PROPERTY // 2):
            prospect = {
                "first_name": f"Prospect{wave}{number}",
                "last_name": f"Outage{index}",
                "email": f"p{wave}-{index}-{number}-{uuid.uuid4().hex[:6]}@example.com",
                "phone": f"+1 312 555 {wave}{index}{number:02d}",
            }
            start = future_slot(days_ahead=2 + number % 3, hour=9 + number, minute=30 * wave, zone=zone)
            answer = call("POST", "/tours", tour_body(property_id, new_conversation(url), start, prospect=prospect))
            assert answer.status == 201, answer.json
            assert answer.json["sync_status"] == "pending"
            answers.append(answer.json)
    return answers


def tours(url: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM tour_booking_sync").fetchall()
    return {str(row["id"]): row for row in rows}


def resman_is_down(double: DoubleHandle) -> None:
    """Every call fails, each in one of the ways ResMan and Cloudflare fail (first matching fault wins)."""
    for fault in (
        Fault("hang", seconds=0.3, probability=0.02),  # past the client's 0.15 s timeout, then the line drops
        Fault("latency", seconds=0.2, probability=0.02),  # answers, but after the client gave up
        Fault("http_429", retry_after=30, probability=0.2),
        Fault("http_502", probability=0.3),  # Cloudflare's HTML page
        Fault("http_504", probability=0.2),
        Fault("http_503"),
    ):
        double.state.add_fault(fault)


def resman_is_back(double: DoubleHandle) -> None:
    """Back, with a few refusals (permanent) and a few posts that land but answer 504 (ambiguous)."""
    double.state.clear_faults()
    post = "MITS/PostLeadManagement4_0"
    double.state.add_fault(Fault("status_failed", method=post, times=PERMANENT_FAILURES))
    double.state.add_fault(Fault("http_504", method=post, times=AMBIGUOUS_POSTS, after_commit=True))


def test_hours_of_resman_outage_end_with_every_tour_synced_or_failed_and_nothing_duplicated(
    clean_db: str, double: DoubleHandle, queues: SyncQueues, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sqs_client()
    assert queues.max_receive_count == queue_settings()["maxReceiveCount"]
    properties = []
    for account, resman_property, zone in RESMAN_PROPERTIES:
        property_id = uuid.uuid4()
        body = schedule_body(
            timezone=zone,
            capacity=50,
            weekly_hours={day: [["08:00", "20:00"]] for day in ALL_DAYS},
            resman_account_id=account,
            resman_property_id=resman_property,
        )
        assert call("PUT", f"/properties/{property_id}/tour-schedule", body).status == 200
        properties.append(property_id)

    # given ResMan down
    resman_is_down(double)
    outage = Tally()
    # when DomIQ books a first wave of tours, the queue is worked for two passes (24 minutes of the outage),
    # the sweeper runs, a second wave is booked, and the queue is worked until every message is dead-lettered
    booked = book(properties, clean_db, wave=0)
    assert double.state.requests() == []  # ResMan is never on the request path
    drain(client, queues, double, outage, passes=2)
    swept = lambda_handler({"sweep": True}, LambdaContext(function_name=SYNC_FUNCTION))
    booked += book(properties, clean_db, wave=1)
    drain(client, queues, double, outage)
    outage_requests = len(double.state.requests())

    # then every booking was answered 201, and every tour is still pending with the transient reason kept
    tour_ids = {tour["id"] for tour in booked}
    assert len(tour_ids) == len(RESMAN_PROPERTIES) * TOURS_PER_PROPERTY
    assert swept == {"found": len(tour_ids) // 2, "sent": len(tour_ids) // 2, "unsent": 0}  # the first wave
    during = tours(clean_db)
    assert set(during) == tour_ids
    assert {row["sync_status"] for row in during.values()} == {"pending"}
    assert all(row["sync_attempts"] > 0 and row["last_sync_error"] for row in during.values())
    # and every message was dead-lettered after maxReceiveCount receives, having made no guest card
    assert outage.received == outage.failed
    dead_lettered = depth(client, queues.dead_letter_url)
    assert dead_lettered == len(tour_ids) + swept["sent"]
    assert outage.received == dead_lettered * queues.max_receive_count
    assert double.state.all_prospects() == []
    assert depth(client, queues.url) == 0
    assert {entry["fault"] for entry in double.state.requests()} == {
        "hang",
        "latency",
        "http_429",
        "http_502",
        "http_504",
        "http_503",
    }

    visibility = int(queue_settings()["VisibilityTimeout"])
    assert (double.state.now() - datetime.now(UTC)).total_seconds() > (outage.passes - 0.1) * visibility
    # given ResMan back (a few refusals, a few posts that land but answer 504), and the deployed timeout: the
    # outage's short one only kept its hangs cheap, and a busy test machine must not look like ResMan failing
    resman_is_back(double)
    monkeypatch.setenv("RESMAN_TIMEOUT_SECONDS", "5")
    _clear_caches()
    # when the dead-letter queue is redriven, the queue worked until empty, and the sweeper runs again
    report = redrive.redrive(client, queues.dead_letter_url)
    recovery = Tally()
    drain(client, queues, double, recovery)
    late_sweep = lambda_handler({"sweep": True}, LambdaContext(function_name=SYNC_FUNCTION))

    # then every dead letter went back once, and was handled without a retry
    assert report.startswith(f"moved {dead_lettered} message(s) to {queues.url}")
    assert (recovery.received, recovery.failed) == (dead_lettered, 0)
    assert depth(client, queues.url) == depth(client, queues.dead_letter_url) == 0
    correlation_ids = Counter(r["messageAttributes"]["correlation_id"]["stringValue"] for r in recovery.records)
    assert correlation_ids.pop("sweeper") == swept["sent"]  # the booking's request id, or the sweeper's mark
    assert sorted(correlation_ids.values()) == [1] * len(tour_ids)
    assert late_sweep == {"found": 0, "sent": 0, "unsent": 0}
    recovery_log = double.state.requests()[outage_requests:]
    assert sum(1 for entry in recovery_log if entry.get("committed")) == AMBIGUOUS_POSTS
    # and every tour ended success or failed, each failure with its reason
    after = tours(clean_db)
    statuses = Counter(row["sync_status"] for row in after.values())
    assert statuses == {"success": len(tour_ids) - PERMANENT_FAILURES, "failed": PERMANENT_FAILURES}
    for row in after.values():
        if row["sync_status"] == "failed":
            assert row["last_sync_error"].startswith("ResManPermanentError: MITS/PostLeadManagement4_0: Failed")
            assert appointments(double, row["id"]) == []
        else:
            assert row["last_sync_error"] is None
            assert row["synced_version"] == row["version"]
    # and ResMan holds one guest card and one marked appointment per synced tour, none duplicated
    cards = Counter(prospect.email for prospect in double.state.all_prospects())
    for tour_id, row in after.items():
        if row["sync_status"] != "success":
            continue
        email = row["prospect_info"]["email"]
        assert cards[email] == 1, email
        [(prospect_id, event)] = appointments(double, uuid.UUID(tour_id))
        assert f"DomIQ tour {tour_id}" in (event.comments or "")
        assert (row["resman_prospect_id"], row["resman_appointment_id"]) == (prospect_id, event.event_id)
    assert sum(cards.values()) == statuses["success"]
    assert len(appointments(double)) == statuses["success"]

    logger.info(
        f"outage: {len(tour_ids)} tours, {outage.passes} passes "
        f"({outage.passes * int(queue_settings()['VisibilityTimeout']) // 60} min on the double's clock), "
        f"{outage.received} deliveries, {outage_requests} ResMan requests, {dead_lettered} dead-lettered "
        f"({swept['sent']} of them swept); recovery: {report}, {recovery.received} deliveries, "
        f"{len(recovery_log)} ResMan requests, {dict(statuses)}"
    )
