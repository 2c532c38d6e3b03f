"""Lambda's SQS event source mapping, locally: long-polls the queue and invokes the function with batches.

As the mapping configured with `ReportBatchItemFailures` does: the messages of a batch that succeeded are
deleted; those named in `batchItemFailures` (all of them when the function fails or answers a malformed
list) stay on the queue and are received again, and the queue's RedrivePolicy moves a message to the
dead-letter queue once it has been received maxReceiveCount times. Lambda leaves a failed message invisible
for the rest of its visibility timeout (360 s in the template); locally that wait is shortened to a small
backoff so a retry shows up in the log while one watches.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tools.local_lambda import REGION, FunctionError
from tools.local_logs import set_part

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger("tools.local_sqs_poller")


def exponential_retry_delay(receive_count: int) -> int:
    """1, 2, 4, ... seconds, at most 30: the visibility a failed message gets before its next delivery."""
    return int(min(30, 2 ** max(0, receive_count - 1)))


@dataclass(frozen=True)
class BatchOutcome:
    received: int
    deleted: int
    failed: int


def _message_attributes(message: MessageTypeDef) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        attribute: dict[str, Any] = {
            "dataType": value["DataType"],
            "stringListValues": [],
            "binaryListValues": [],
        }
        if "StringValue" in value:
            attribute["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        converted[name] = attribute
    return converted


def sqs_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """One record of the event Lambda builds from a received message."""
    body = message["Body"]
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _message_attributes(message),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(result: Any, message_ids: list[str]) -> set[str]:
    """The messages to retry, read from the function's answer as Lambda reads a partial batch response.

    No answer, or one without `batchItemFailures`, is a full success; an identifier that is empty or not
    in the batch, or a malformed list, fails the whole batch.
    """
    if not isinstance(result, dict) or result.get("batchItemFailures") is None:
        return set()
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return set(message_ids)
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


class LocalSqsPoller:
    """`pollers` threads, each receiving up to `batch_size` messages per long poll and invoking `invoke`."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        part: str = "sync",
        batch_size: int = 10,
        wait_seconds: int = 1,
        pollers: int = 1,
        retry_delay: Callable[[int], int] = exponential_retry_delay,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.invoke = invoke
        self.part = part
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.retry_delay = retry_delay
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-poller-{index}", daemon=True) for index in range(pollers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            set_part(self.part, thread)
            thread.start()

    def stop(self, wait_seconds: float = 10) -> None:
        """Stops polling; a batch in flight is finished first."""
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(wait_seconds)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stopping.is_set():
                    return
                logger.exception("polling the queue failed; retrying")
                self._stopping.wait(2)

    def poll_once(self) -> BatchOutcome:
        """One receive, one invocation, and the deletes and visibility changes it calls for."""
        messages = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return BatchOutcome(0, 0, 0)
        ids = [message["MessageId"] for message in messages]
        event = {"Records": [sqs_record(message, self.queue_arn) for message in messages]}
        try:
            failed = failed_message_ids(self.invoke(event), ids)
        except FunctionError as error:
            logger.warning("batch of %d failed as a whole (%s): every message will be retried", len(ids), error)
            failed = set(ids)
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        retried = [message for message in messages if message["MessageId"] in failed]
        if succeeded:
            self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(succeeded)],
            )
        if retried:
            self.client.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "ReceiptHandle": message["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay(
                            int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                        ),
                    }
                    for index, message in enumerate(retried)
                ],
            )
        print(f"batch of {len(ids)}: {len(succeeded)} done, {len(retried)} to retry")
        return BatchOutcome(len(ids), len(succeeded), len(retried))
