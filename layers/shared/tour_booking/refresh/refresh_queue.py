"""The refresh spread over a queue: the schedule's batches of properties, one ResMan account per batch.

The refresh queue is FIFO and a batch's message group is its ResMan account: SQS hands Lambda at most one
batch of a group at a time, so the properties of one account are refreshed by one worker at a time, with at
most RESMAN_MAX_CONCURRENCY_PER_ACCOUNT of them at once (tour_booking.refresh.resman_refresh.refresh_batches), whatever
the number of workers. Accounts run in parallel, up to the worker mapping's MaximumConcurrency. Properties
without ResMan ids need only their slots recomputed: their batches get groups of their own.

A message names the run and the properties, nothing else; the queue's content-based deduplication drops a
batch sent twice for the same run (a retried schedule).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10
LOCAL_GROUP_PREFIX = "slots-only-"


@dataclass(frozen=True)
class RefreshBatch:
    account_id: str | None
    property_ids: tuple[UUID, ...]
    run_at: datetime

    @property
    def group_id(self) -> str:
        return f"account-{self.account_id}" if self.account_id else LOCAL_GROUP_PREFIX + str(self.property_ids[0])

    def body(self) -> str:
        return json.dumps(
            {
                "account_id": self.account_id,
                "property_ids": [str(p) for p in self.property_ids],
                "run_at": self.run_at.isoformat(),
            }
        )

    @classmethod
    def from_body(cls, body: str) -> RefreshBatch:
        data: dict[str, Any] = json.loads(body)
        account = data.get("account_id")
        ids = tuple(UUID(str(p)) for p in data["property_ids"])
        if not ids:
            raise ValueError("a refresh batch names no property")
        return cls(str(account) if account is not None else None, ids, datetime.fromisoformat(data["run_at"]))


def plan_batches(
    properties: Iterable[tuple[UUID, str | None]], batch_size: int, run_at: datetime
) -> list[RefreshBatch]:
    """(property, ResMan account or None) -> batches of at most `batch_size` properties of one account, in the
    order given; the accounts interleaved, so that every account's first batch is queued before any second one."""
    by_account: dict[str | None, list[UUID]] = {}
    for property_id, account_id in properties:
        by_account.setdefault(account_id or None, []).append(property_id)
    per_account = [
        [
            RefreshBatch(account, tuple(ids[offset : offset + batch_size]), run_at)
            for offset in range(0, len(ids), batch_size)
        ]
        for account, ids in by_account.items()
    ]
    batches: list[RefreshBatch] = []
    for index in range(max((len(b) for b in per_account), default=0)):
        batches.extend(b[index] for b in per_account if index < len(b))
    return batches


@lru_cache(maxsize=1)
def _sqs() -> SQSClient:
    import boto3  # noqa: PLC0415 - only the schedule sends

    return boto3.client("sqs")


def send_batches(queue_url: str, batches: Sequence[RefreshBatch]) -> list[RefreshBatch]:
    """Sends the batches; returns those that could not be sent (the next run covers their properties)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    unsent: list[RefreshBatch] = []
    for offset in range(0, len(batches), SQS_BATCH_LIMIT):
        chunk = batches[offset : offset + SQS_BATCH_LIMIT]
        entries = [
            {"Id": str(index), "MessageBody": batch.body(), "MessageGroupId": batch.group_id}
            for index, batch in enumerate(chunk)
        ]
        try:
            answer = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        except (BotoCoreError, ClientError):
            unsent.extend(chunk)
            continue
        unsent.extend(chunk[int(failure["Id"])] for failure in answer.get("Failed", []))
    return unsent
