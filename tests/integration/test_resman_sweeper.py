"""The sweeper: tours stuck in `pending` are queued again (moto SQS, real PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from functions.resman_sync.app import lambda_handler
from tests.api_events import LambdaContext
from tests.builders import add_tour, change_tour, queued_messages, synced_property, tour_row
from tour_booking import observability
from tour_booking.sync.sweeper import sweep_pending

START = datetime(2027, 3, 20, 11, 0, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture(autouse=True)
def _metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(observability.metrics.provider, "namespace", "TourBooking")


def test_tours_pending_longer_than_the_age_are_sent_again(sqs_queue: Any, clean_db: str) -> None:
    # given a pending tour, a synced one and a failed one
    prop = synced_property(clean_db)
    pending = add_tour(clean_db, prop, START)
    version = change_tour(clean_db, pending, staff_notes="gate code at the desk")
    synced = add_tour(clean_db, prop, START, sync_status="success", synced_version=1)
    add_tour(clean_db, prop, START, sync_status="failed", last_sync_error="ResManPermanentError: Failed")
    # when the sweeper runs once they are older than SWEEPER_PENDING_AGE_SECONDS (300 s)
    report = sweep_pending(now=datetime.now(UTC) + timedelta(seconds=301))
    # then only the pending tour is queued again, at its current version
    assert (report.found, report.sent, report.unsent) == (1, 1, 0)
    assert [json.loads(body) for body in queued_messages(sqs_queue)] == [{"tour_id": str(pending), "version": version}]
    assert tour_row(clean_db, synced)["sync_status"] == "success"


def test_a_recent_pending_tour_is_left_to_its_own_message(sqs_queue: Any, clean_db: str) -> None:
    # given a tour booked a moment ago
    add_tour(clean_db, synced_property(clean_db), START)
    # when the sweeper runs now
    report = sweep_pending()
    # then nothing is sent (its own message is still on its way)
    assert report.found == 0
    assert queued_messages(sqs_queue) == []


def test_a_swept_tour_waits_a_full_age_before_the_next_sweep(sqs_queue: Any, clean_db: str) -> None:
    # given a pending tour swept once
    add_tour(clean_db, synced_property(clean_db), START)
    assert sweep_pending(now=datetime.now(UTC) + timedelta(seconds=301)).sent == 1
    # when the next sweep runs a moment later (its clock still past the first age)
    later = sweep_pending(now=datetime.now(UTC) + timedelta(seconds=290))
    # then it is not sent again
    assert later.sent == 0


def test_the_scheduled_sweep_event_runs_the_sweeper(sqs_queue: Any, clean_db: str) -> None:
    # given no stale tour
    # when the schedule's {"sweep": true} reaches the sync function
    answer = lambda_handler({"sweep": True}, LambdaContext(function_name="resman-sync-test"))
    # then it answers the sweep's counts and needs no ResMan client
    assert answer == {"found": 0, "sent": 0, "unsent": 0}
