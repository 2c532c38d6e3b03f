"""Queues ResMan syncs on SQS. The message names a tour and the version to bring ResMan to; the sync
function reads the tour's current row, so the message carries no prospect data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aws_lambda_powertools import Logger

from tour_booking.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)

SQS_BATCH_LIMIT = 10


@dataclass(frozen=True)
class SyncRequest:
    tour_id: UUID
    version: int
    correlation_id: str | None = None

    def body(self) -> str:
        return json.dumps({"tour_id": str(self.tour_id), "version": self.version})

    @classmethod
    def from_body(cls, body: str, correlation_id: str | None = None) -> SyncRequest:
        data: dict[str, Any] = json.loads(body)
        return cls(UUID(str(data["tour_id"])), int(data["version"]), correlation_id)


@lru_cache(maxsize=1)
def _sqs() -> SQSClient:
    import boto3  # noqa: PLC0415 - reads never pay for boto3's import

    # boto3 honours AWS_ENDPOINT_URL, which points the local stack and the tests at moto.
    return boto3.client("sqs")


def send_sync_requests(requests: Sequence[SyncRequest]) -> list[SyncRequest]:
    """Sends after commit; returns the requests that could not be sent (the sweeper re-sends them)."""
    queue_url = get_settings().sync_queue_url
    if not requests:
        return []
    if not queue_url:
        logger.warning("SYNC_QUEUE_URL is not set: sync left to the sweeper", extra={"tours": len(requests)})
        return list(requests)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    unsent: list[SyncRequest] = []
    for offset in range(0, len(requests), SQS_BATCH_LIMIT):
        chunk = requests[offset : offset + SQS_BATCH_LIMIT]
        entries = [
            {
                "Id": str(index),
                "MessageBody": request.body(),
                "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": request.correlation_id}}
                if request.correlation_id
                else {},
            }
            for index, request in enumerate(chunk)
        ]
        try:
            answer = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        except (BotoCoreError, ClientError) as error:
            logger.warning("sync queue send failed", extra={"error": type(error).__name__, "tours": len(chunk)})
            unsent.extend(chunk)
            continue
        for failure in answer.get("Failed", []):
            unsent.append(chunk[int(failure["Id"])])
    if unsent:
        logger.warning("sync requests left to the sweeper", extra={"tour_ids": [str(r.tour_id) for r in unsent]})
    return unsent
