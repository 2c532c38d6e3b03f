"""The local event source mapping against moto's SQS server: batches, partial failures, redrive."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tools.local_lambda import LocalFunction
from tools.local_sqs import SyncQueues, create_sync_queues, sqs_client
from tools.local_sqs_poller import LocalSqsPoller, failed_message_ids


@pytest.fixture
def client(sqs_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return sqs_client(sqs_url)


@pytest.fixture
def queues(client: Any) -> SyncQueues:
    suffix = uuid.uuid4().hex[:8]
    return create_sync_queues(client, f"sync-{suffix}", f"dlq-{suffix}", max_receive_count=2)


def send(client: Any, queues: SyncQueues, bodies: list[str]) -> None:
    client.send_message_batch(
        QueueUrl=queues.url,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": body,
                "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": f"c-{i}"}},
            }
            for i, body in enumerate(bodies)
        ],
    )


def depth(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def poller(client: Any, queues: SyncQueues, invoke: Any) -> LocalSqsPoller:
    return LocalSqsPoller(client, queues.url, queues.arn, invoke, wait_seconds=0, retry_delay=lambda count: 0)


def test_a_batch_reaches_the_function_as_lambda_shapes_it_and_successes_are_deleted(
    client: Any, queues: SyncQueues
) -> None:
    # given three messages on the queue
    send(client, queues, ["a", "b", "c"])
    events: list[dict[str, Any]] = []

    def succeed(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return {"batchItemFailures": []}

    # when one poll invokes a function that succeeds
    outcome = poller(client, queues, succeed).poll_once()
    # then the function got one SQS event with the three records, and the queue is empty
    assert outcome.received == 3
    assert outcome.deleted == 3
    records = events[0]["Records"]
    assert sorted(record["body"] for record in records) == ["a", "b", "c"]
    record = records[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queues.arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["correlation_id"]["stringValue"].startswith("c-")
    assert record["messageAttributes"]["correlation_id"]["dataType"] == "String"
    assert {"messageId", "receiptHandle", "md5OfBody", "awsRegion"} <= record.keys()
    assert depth(client, queues.url) == 0


def test_the_messages_named_in_batch_item_failures_come_back_and_the_others_do_not(
    client: Any, queues: SyncQueues
) -> None:
    send(client, queues, ["ok", "fail"])

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"] == "fail"
            ]
        }

    first = poller(client, queues, handler).poll_once()
    seen: list[dict[str, Any]] = []
    second = poller(client, queues, lambda event: seen.extend(event["Records"])).poll_once()
    assert (first.deleted, first.failed) == (1, 1)
    assert second.received == 1
    assert seen[0]["body"] == "fail"
    assert seen[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert depth(client, queues.url) == 0


def test_a_message_failing_past_max_receive_count_lands_in_the_dead_letter_queue(
    client: Any, queues: SyncQueues
) -> None:
    # given a function that always fails the whole batch, as a raising handler does
    send(client, queues, [json.dumps({"tour_id": "t", "version": 1})])

    def raising(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("ResMan is down")

    function = LocalFunction("ResmanSyncFunction", raising, part="sync", timeout_seconds=5)
    try:
        local = poller(client, queues, function.invoke)
        # when it is polled more often than maxReceiveCount (2)
        outcomes = [local.poll_once() for _ in range(4)]
    finally:
        function.stop()
    # then it was delivered twice and then moved to the dead-letter queue
    assert [outcome.failed for outcome in outcomes] == [1, 1, 0, 0]
    assert depth(client, queues.url) == 0
    assert depth(client, queues.dead_letter_url) == 1


def test_a_malformed_partial_batch_answer_fails_the_whole_batch() -> None:
    ids = ["m1", "m2"]
    assert failed_message_ids(None, ids) == set()
    assert failed_message_ids({}, ids) == set()
    assert failed_message_ids({"batchItemFailures": []}, ids) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == {"m2"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "other"}]}, ids) == set(ids)
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == set(ids)
    assert failed_message_ids({"batchItemFailures": "m1"}, ids) == set(ids)


def test_the_started_poller_drains_the_queue_in_batches_of_ten(client: Any, queues: SyncQueues) -> None:
    import threading

    bodies = [str(i) for i in range(25)]
    for offset in range(0, 25, 10):
        send(client, queues, bodies[offset : offset + 10])
    received: list[str] = []
    sizes: list[int] = []
    done = threading.Event()

    def handler(event: dict[str, Any]) -> None:
        sizes.append(len(event["Records"]))
        received.extend(record["body"] for record in event["Records"])
        if len(received) >= 25:
            done.set()

    local = LocalSqsPoller(client, queues.url, queues.arn, handler, wait_seconds=1)
    local.start()
    try:
        assert done.wait(20)
    finally:
        local.stop()
    assert sorted(received, key=int) == bodies
    assert max(sizes) <= 10
    assert depth(client, queues.url) == 0
