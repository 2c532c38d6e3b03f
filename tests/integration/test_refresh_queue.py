"""The refresh spread over a queue: the schedule queues batches per ResMan account on a FIFO queue (moto's SQS
server, the template's queue pair), the refresh worker drains them through the local event source mapping with
partial batch responses, against real PostgreSQL and the same watermarks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import cached_days, refresh_property, resman_ids, watermark
from tests.fakes import ConcurrencyProbe, FakeResMan
from tools.local_lambda import LambdaContext
from tools.local_sqs import SyncQueues, create_refresh_queues, sqs_client
from tools.local_sqs_poller import LocalSqsPoller
from tour_booking import observability
from tour_booking.refresh import refresh_queue
from tour_booking.settings import get_settings


@pytest.fixture
def queues(sqs_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncQueues]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": sqs_url,
        "REFRESH_BATCH_PROPERTIES": "2",
        "REFRESH_CONCURRENCY": "6",
        "RESMAN_MAX_CONCURRENCY_PER_ACCOUNT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    suffix = uuid.uuid4().hex[:8]
    pair = create_refresh_queues(
        sqs_client(), f"refresh-{suffix}.fifo", f"refresh-dlq-{suffix}.fifo", visibility_timeout=30
    )
    monkeypatch.setenv("REFRESH_QUEUE_URL", pair.url)
    refresh_queue._sqs.cache_clear()
    get_settings.cache_clear()

    monkeypatch.setattr(observability.metrics.provider, "namespace", "TourBooking")
    yield pair
    refresh_queue._sqs.cache_clear()
    get_settings.cache_clear()


def _schedule() -> dict[str, Any]:
    from functions.cache_refresh.app import lambda_handler

    answer: dict[str, Any] = lambda_handler({"source": "aws.scheduler"}, LambdaContext("cache-refresh", 1769, 300))
    return answer


def _poller(queues: SyncQueues, source: Any, answers: list[dict[str, Any]], pollers: int = 1) -> LocalSqsPoller:
    from functions.refresh_worker.app import lambda_handler

    def invoke(event: dict[str, Any]) -> Any:
        answer: dict[str, Any] = lambda_handler(event, LambdaContext("refresh-worker", 1769, 120), source=source)
        answers.append({"event": event, "answer": answer})
        return answer

    return LocalSqsPoller(
        sqs_client(), queues.url, queues.arn, invoke, part="refresh", pollers=pollers, retry_delay=lambda receives: 0
    )


def _drain(poller: LocalSqsPoller, rounds: int = 50) -> None:
    empty = 0
    for _ in range(rounds):
        outcome = poller.poll_once()
        empty = empty + 1 if outcome.received == 0 else 0
        if empty == 2:
            return
    raise AssertionError("the queue did not drain")


def test_the_schedule_queues_batches_per_account_and_the_worker_refreshes_them(
    clean_db: str, queues: SyncQueues
) -> None:
    # given 5 properties of ResMan account 401, 3 of account 402 and 2 without ResMan
    a = [refresh_property(clean_db, resman_account_id="401") for _ in range(5)]
    b = [refresh_property(clean_db, resman_account_id="402") for _ in range(3)]
    local = [refresh_property(clean_db, resman_account_id=None, resman_property_id=None) for _ in range(2)]

    # when the schedule runs
    queued = _schedule()

    # then it queued batches of at most 2 properties of one account, grouped by account
    assert (queued["properties"], queued["accounts"], queued["batches"], queued["unsent_batches"]) == (10, 2, 6, 0)
    assert all(watermark(clean_db, p) is None for p in a + b)  # nothing refreshed yet

    # when the worker drains the queue, ResMan answering after 50 ms
    probe = ConcurrencyProbe(0.05, FakeResMan())
    answers: list[dict[str, Any]] = []
    _drain(_poller(queues, probe, answers))

    # then every property was refreshed once, through its watermark, ResMan asked once per ResMan property
    assert probe.calls == 8
    assert all(watermark(clean_db, p) is not None for p in a + b)
    assert all(len(cached_days(clean_db, p)) == 14 for p in a + b + local)
    # each message held one account's properties and named its group after it
    for item in answers:
        for record in item["event"]["Records"]:
            body = json.loads(record["body"])
            assert 1 <= len(body["property_ids"]) <= 2
            assert record["attributes"]["MessageGroupId"].startswith(
                f"account-{body['account_id']}" if body["account_id"] else "slots-only-"
            )
        assert item["answer"] == {"batchItemFailures": []}
    # and no account had more ResMan calls in flight than RESMAN_MAX_CONCURRENCY_PER_ACCOUNT
    assert max(probe.most.values()) <= 2


def test_a_failed_property_fails_its_message_only_and_the_retry_completes_it(clean_db: str, queues: SyncQueues) -> None:
    # given account 401 with two properties (one batch) whose first answers errors, and account 402 with one
    failing, healthy = (
        refresh_property(clean_db, resman_account_id="401"),
        refresh_property(clean_db, resman_account_id="401"),
    )
    other = refresh_property(clean_db, resman_account_id="402")
    resman = FakeResMan(failing={resman_ids(clean_db, failing)[1]})
    _schedule()

    # when the worker receives both batches
    answers: list[dict[str, Any]] = []
    poller = _poller(queues, resman, answers)
    received = 0
    for _ in range(5):  # one receive may hand out one group or both
        received += poller.poll_once().received
        if received == 2:
            break

    # then only the failing account's message is listed in batchItemFailures
    failures = [f["itemIdentifier"] for item in answers for f in item["answer"]["batchItemFailures"]]
    records = {r["messageId"]: json.loads(r["body"]) for item in answers for r in item["event"]["Records"]}
    assert [records[m]["account_id"] for m in failures] == ["401"]
    # and what succeeded is kept: the healthy property of that batch and the other account moved their watermarks
    assert watermark(clean_db, healthy) is not None and watermark(clean_db, other) is not None
    failed_mark = watermark(clean_db, failing)
    assert failed_mark is not None and "ResMan answered 500" in failed_mark["last_error"]

    # when ResMan recovers and the message comes back
    resman.failing.clear()
    _drain(poller)

    # then the retried batch refreshed the property, and the queue and its dead-letter queue are empty
    recovered = watermark(clean_db, failing)
    assert recovered is not None and recovered["last_error"] is None
    assert len([r for r in records.values() if r["account_id"] == "401"]) == 1
    client = sqs_client()
    for url in (queues.url, queues.dead_letter_url):
        attributes = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
