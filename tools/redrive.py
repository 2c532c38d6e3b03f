"""Moves the dead-letter queue's messages back to the queue they came from (after the cause was fixed).

In AWS this starts SQS's own redrive, StartMessageMoveTask, and reports its progress. moto (and so the local
stack and the tests) does not implement that API: when AWS_ENDPOINT_URL is set the messages are moved by hand,
receive -> send -> delete, and a message is deleted only once its copy was sent (a failure can leave a
duplicate, never a loss; the sync is state-based, so a duplicate is harmless).

    make redrive QUEUE=tour-booking-sync-dlq-prod                        # AWS (the shell's credentials)
    AWS_ENDPOINT_URL=http://127.0.0.1:3002 make redrive QUEUE=tour-booking-sync-dlq-dev   # make dev's queue
    python -m tools.redrive --queue <dlq url> --destination <queue name or url> --wait
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

BATCH = 10
# Longer than one receive-send-delete round: a message being moved is not received a second time meanwhile.
MOVE_VISIBILITY_SECONDS = 60
MAX_FAILED_ROUNDS = 3
FINISHED_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


class RedriveError(Exception):
    """The redrive could not be done (queue unknown, no source queue, sends failing)."""


@dataclass(frozen=True)
class MoveReport:
    moved: int
    failed_sends: int


def queue_url(client: SQSClient, queue: str) -> str:
    """A queue URL as given, or the URL of the queue of that name."""
    if queue.startswith(("http://", "https://")):
        return queue
    try:
        return client.get_queue_url(QueueName=queue)["QueueUrl"]
    except client.exceptions.QueueDoesNotExist as error:
        raise RedriveError(f"no queue named {queue!r}") from error


def queue_arn(client: SQSClient, url: str) -> str:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def source_queue_url(client: SQSClient, dead_letter_url: str) -> str:
    """The one queue whose RedrivePolicy names this dead-letter queue."""
    sources = client.list_dead_letter_source_queues(QueueUrl=dead_letter_url).get("queueUrls", [])
    if len(sources) != 1:
        raise RedriveError(f"expected one source queue of {dead_letter_url}, found {len(sources)}: pass --destination")
    return sources[0]


def _attributes(message: MessageTypeDef) -> dict[str, Any]:
    """The message attributes as SendMessage takes them (the receive answer's list fields are left out)."""
    kept: dict[str, Any] = {}
    attributes: dict[str, MessageAttributeValueOutputTypeDef] = message.get("MessageAttributes", {})
    for name, value in attributes.items():
        copy: dict[str, Any] = {"DataType": value["DataType"]}
        if "StringValue" in value:
            copy["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            copy["BinaryValue"] = value["BinaryValue"]
        kept[name] = copy
    return kept


def move_messages(client: SQSClient, dead_letter_url: str, destination_url: str) -> MoveReport:
    """receive -> send -> delete until the dead-letter queue is empty; deletes only what was sent."""
    moved = failed_sends = failed_rounds = 0
    while True:
        messages = client.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return MoveReport(moved, failed_sends)
        answer = client.send_message_batch(
            QueueUrl=destination_url,
            Entries=[
                {"Id": str(index), "MessageBody": message["Body"], "MessageAttributes": _attributes(message)}
                for index, message in enumerate(messages)
            ],
        )
        sent = [messages[int(entry["Id"])] for entry in answer.get("Successful", [])]
        unsent = [messages[int(entry["Id"])] for entry in answer.get("Failed", [])]
        if sent:
            client.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
            )
        moved += len(sent)
        if unsent:
            failed_sends += len(unsent)
            # Back on the dead-letter queue at once, for the next round (or the next run) to move.
            client.change_message_visibility_batch(
                QueueUrl=dead_letter_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(unsent)
                ],
            )
            failed_rounds = 0 if sent else failed_rounds + 1
            if failed_rounds >= MAX_FAILED_ROUNDS:
                reason = answer["Failed"][0].get("Message") or answer["Failed"][0]["Code"]
                raise RedriveError(f"sends to {destination_url} keep failing: {reason}")


def start_move_task(
    client: SQSClient, dead_letter_arn: str, destination_arn: str | None, per_second: int | None
) -> str:
    """SQS's redrive (StartMessageMoveTask); without a destination the messages go back to their source."""
    arguments: dict[str, Any] = {"SourceArn": dead_letter_arn}
    if destination_arn:
        arguments["DestinationArn"] = destination_arn
    if per_second:
        arguments["MaxNumberOfMessagesPerSecond"] = per_second
    return client.start_message_move_task(**arguments)["TaskHandle"]


def wait_for_move_task(client: SQSClient, dead_letter_arn: str, poll_seconds: float = 5) -> dict[str, Any]:
    """The newest move task of this queue, once finished."""
    while True:
        tasks = client.list_message_move_tasks(SourceArn=dead_letter_arn, MaxResults=1).get("Results", [])
        if tasks and tasks[0].get("Status") in FINISHED_STATES:
            return dict(tasks[0])
        moved = tasks[0].get("ApproximateNumberOfMessagesMoved", 0) if tasks else 0
        print(f"moving... {moved} moved so far", file=sys.stderr)
        time.sleep(poll_seconds)


def local_endpoint() -> bool:
    """A local stack or moto (AWS_ENDPOINT_URL): no StartMessageMoveTask there."""
    return bool(os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_SQS"))


def redrive(
    client: SQSClient, queue: str, destination: str | None = None, *, per_second: int | None = None, wait: bool = False
) -> str:
    """Redrives `queue` (the dead-letter queue, name or URL); returns a one-line report."""
    dead_letter_url = queue_url(client, queue)
    if local_endpoint():
        destination_url = queue_url(client, destination) if destination else source_queue_url(client, dead_letter_url)
        report = move_messages(client, dead_letter_url, destination_url)
        return f"moved {report.moved} message(s) to {destination_url} ({report.failed_sends} send(s) retried)"
    dead_letter_arn = queue_arn(client, dead_letter_url)
    destination_arn = queue_arn(client, queue_url(client, destination)) if destination else None
    handle = start_move_task(client, dead_letter_arn, destination_arn, per_second)
    if not wait:
        return f"move task started: {handle} (progress: aws sqs list-message-move-tasks --source-arn {dead_letter_arn})"
    task = wait_for_move_task(client, dead_letter_arn)
    return f"move task {task.get('Status')}: {task.get('ApproximateNumberOfMessagesMoved', 0)} moved" + (
        f" ({task['FailureReason']})" if task.get("FailureReason") else ""
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", required=True, help="the dead-letter queue: name or URL")
    parser.add_argument("--destination", help="name or URL; default: the queue whose RedrivePolicy names it")
    parser.add_argument("--per-second", type=int, help="AWS: MaxNumberOfMessagesPerSecond of the move task")
    parser.add_argument("--wait", action="store_true", help="AWS: wait until the move task has finished")
    args = parser.parse_args(argv)
    if local_endpoint():
        # The local stack's region and moto's dummy credentials, unless the shell names others.
        from tools.local_sqs import MOTO_AWS_ENVIRONMENT  # noqa: PLC0415 - AWS needs no moto defaults

        for name, value in MOTO_AWS_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
    import boto3  # noqa: PLC0415 - the help answers without it
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        print(redrive(boto3.client("sqs"), args.queue, args.destination, per_second=args.per_second, wait=args.wait))
    except (RedriveError, BotoCoreError, ClientError) as error:
        print(f"redrive: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
