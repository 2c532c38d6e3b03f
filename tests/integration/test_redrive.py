"""tools/redrive against moto's SQS server: the receive-send-delete fallback of the local stack, and the
StartMessageMoveTask request made in AWS."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import redrive
from tools.local_sqs import SyncQueues, create_sync_queues, sqs_client


@pytest.fixture
def client(sqs_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_url)
    return sqs_client()


@pytest.fixture
def queues(client: Any) -> SyncQueues:
    suffix = uuid.uuid4().hex[:8]
    return create_sync_queues(client, f"sync-{suffix}", f"dlq-{suffix}", max_receive_count=2, visibility_timeout=30)


def dead_letter(client: Any, queues: SyncQueues, count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` messages on the dead-letter queue, each with its own body and attributes."""
    sent = []
    for index in range(count):
        body = f'{{"tour_id": "{uuid.uuid4()}", "version": {index + 1}}}'
        attributes = {
            "correlation_id": {"DataType": "String", "StringValue": f"req-{index}"},
            "hops": {"DataType": "Number", "StringValue": str(index)},
            "raw": {"DataType": "Binary", "BinaryValue": bytes([index, 255])},
        }
        client.send_message(QueueUrl=queues.dead_letter_url, MessageBody=body, MessageAttributes=attributes)
        sent.append((body, attributes))
    return sent


def drain(client: Any, url: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    while messages := client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            attributes = {
                name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
                for name, value in message.get("MessageAttributes", {}).items()
            }
            found.append((message["Body"], attributes))
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def depth(client: Any, url: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def by_body(messages: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(messages, key=lambda message: message[0])


def test_every_dead_letter_goes_back_to_its_source_queue_once_with_its_attributes(
    client: Any, queues: SyncQueues
) -> None:
    # given 23 messages on the dead-letter queue (three receive batches)
    sent = dead_letter(client, queues, 23)
    # when the dead-letter queue is redriven by name
    report = redrive.redrive(client, queues.dead_letter_url.rsplit("/", 1)[-1])
    # then the queue whose RedrivePolicy names it holds each message exactly once, body and attributes kept
    assert report.startswith(f"moved 23 message(s) to {queues.url}")
    assert by_body(drain(client, queues.url)) == by_body(sent)
    assert depth(client, queues.dead_letter_url) == 0


def test_a_message_dead_lettered_by_sqs_itself_is_redriven_and_received_anew(client: Any, queues: SyncQueues) -> None:
    # given a message received past maxReceiveCount (2), so SQS moved it to the dead-letter queue
    client.send_message(
        QueueUrl=queues.url,
        MessageBody="tour",
        MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "req-1"}},
    )
    for _ in range(3):
        for message in client.receive_message(QueueUrl=queues.url, VisibilityTimeout=0).get("Messages", []):
            client.change_message_visibility(
                QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    assert depth(client, queues.dead_letter_url) == 1
    # when the dead-letter queue is redriven by URL
    redrive.redrive(client, queues.dead_letter_url)
    # then it is back on the sync queue with its correlation id, a new message (first receive)
    [message] = client.receive_message(
        QueueUrl=queues.url, MessageAttributeNames=["All"], AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert message["Body"] == "tour"
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "req-1"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_an_empty_dead_letter_queue_moves_nothing(client: Any, queues: SyncQueues) -> None:
    # given nothing dead-lettered
    # when it is redriven
    report = redrive.redrive(client, queues.dead_letter_url)
    # then nothing moved and the sync queue stays empty
    assert report.startswith("moved 0 message(s)")
    assert depth(client, queues.url) == 0


def test_an_explicit_destination_takes_the_messages(client: Any, queues: SyncQueues) -> None:
    other = client.create_queue(QueueName=f"other-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sent = dead_letter(client, queues, 3)
    redrive.redrive(client, queues.dead_letter_url, destination=other.rsplit("/", 1)[-1])
    assert by_body(drain(client, other)) == by_body(sent)
    assert depth(client, queues.url) == 0


def test_no_message_is_deleted_when_its_copy_could_not_be_sent(client: Any, queues: SyncQueues) -> None:
    # given dead letters and a destination queue that is gone
    gone = client.create_queue(QueueName=f"gone-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    client.delete_queue(QueueUrl=gone)
    dead_letter(client, queues, 4)
    # when the redrive sends to it
    with pytest.raises(client.exceptions.QueueDoesNotExist):
        redrive.move_messages(client, queues.dead_letter_url, gone)
    # then every message is still on the dead-letter queue
    assert depth(client, queues.dead_letter_url) == 4


def test_the_command_line_names_the_queue_and_fails_on_an_unknown_one(
    client: Any, queues: SyncQueues, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter(client, queues, 2)
    # (the local stack's region and dummy credentials need not be in the shell)
    for name in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert redrive.main(["--queue", queues.dead_letter_url.rsplit("/", 1)[-1]]) == 0
    assert "moved 2 message(s)" in capsys.readouterr().out
    assert depth(client, queues.url) == 2
    assert redrive.main(["--queue", "no-such-queue"]) == 1
    assert "no queue named 'no-such-queue'" in capsys.readouterr().err


def test_in_aws_the_redrive_is_sqs_move_task_from_the_dead_letter_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    # given AWS itself (no endpoint override); moto has no StartMessageMoveTask, so botocore's stubber answers
    # and checks each request against the SQS service model
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    aws = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/tour-booking-sync-dlq-prod"
    arn = "arn:aws:sqs:us-east-1:123456789012:tour-booking-sync-dlq-prod"
    with Stubber(aws) as stub:
        stub.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": "tour-booking-sync-dlq-prod"})
        stub.add_response(
            "get_queue_attributes", {"Attributes": {"QueueArn": arn}}, {"QueueUrl": url, "AttributeNames": ["QueueArn"]}
        )
        stub.add_response(
            "start_message_move_task", {"TaskHandle": "task-1"}, {"SourceArn": arn, "MaxNumberOfMessagesPerSecond": 5}
        )
        stub.add_response(
            "list_message_move_tasks",
            {"Results": [{"Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 7}]},
            {"SourceArn": arn, "MaxResults": 1},
        )
        # when the dead-letter queue is redriven by name and waited for
        report = redrive.redrive(aws, "tour-booking-sync-dlq-prod", per_second=5, wait=True)
        # then one move task was started from the dead-letter queue's ARN, with no destination (back to its
        # source), and its completion reported
        stub.assert_no_pending_responses()
    assert report == "move task COMPLETED: 7 moved"
