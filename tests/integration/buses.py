"""The buses of the tour events tests: the probe of the `event_bus` fixture's moto bus (whose rule feeds an SQS queue,
what the bus delivered), and buses that record, refuse or die mid-batch around it; the outbox read back."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass
class BusProbe:
    """The moto bus and the queue its catch-all rule delivers to."""

    events: Any
    sqs: Any
    queue_url: str

    def delivered(self) -> list[dict[str, Any]]:
        """Everything the bus delivered since the last call, as EventBridge events (detail parsed)."""
        received: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


class PublisherKilled(BaseException):
    """Stands for the publisher's process dying: nothing of ours catches it, so no transaction runs after it."""


@dataclass
class RecordingBus:
    """Passes PutEvents on to `inner` and records each call's entries; `before` may refuse entries (by returning
    their indexes) or raise PublisherKilled, `after` may raise PublisherKilled once the bus accepted them."""

    inner: Any
    before: Callable[[int, Sequence[dict[str, Any]]], set[int]] | None = None
    after: Callable[[int], None] | None = None
    calls: list[list[dict[str, Any]]] = field(default_factory=list)
    # (tour_id, version, detail_type, started, finished): the call's start and end on one clock of all calls.
    timeline: list[tuple[str, int, str, int, int]] = field(default_factory=list)
    _clock: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _tick(self) -> int:
        with self._lock:
            self._clock += 1
            return self._clock

    def put_events(self, *, Entries: Sequence[Any]) -> Any:
        started = self._tick()
        with self._lock:
            number = len(self.calls)
            self.calls.append(list(Entries))
        refused = self.before(number, Entries) if self.before else set()
        sent = [entry for index, entry in enumerate(Entries) if index not in refused]
        answer = self.inner.put_events(Entries=sent) if sent else {"Entries": []}
        results = iter(answer["Entries"])
        merged = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "refused by the test"}
            if index in refused
            else next(results)
            for index in range(len(Entries))
        ]
        if self.after:
            self.after(number)
        finished = self._tick()
        with self._lock:
            for index, entry in enumerate(Entries):
                if index not in refused:
                    detail = json.loads(entry["Detail"])
                    self.timeline.append((detail["tour_id"], detail["version"], entry["DetailType"], started, finished))
        return {"FailedEntryCount": len(refused), "Entries": merged}


def outbox(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM tour_event_outbox ORDER BY seq").fetchall()


def expire_leases(url: str) -> None:
    """Time passes beyond every lease and retry delay (a killed publisher's claims lapse)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE tour_event_outbox SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL"
        )


def details(delivered: Sequence[dict[str, Any]], detail_type: str | None = None) -> list[dict[str, Any]]:
    return [e["detail"] for e in delivered if detail_type is None or e["detail-type"] == detail_type]


def tour_events(delivered: Sequence[dict[str, Any]], tour_id: uuid.UUID | str) -> list[str]:
    return [e["detail-type"] for e in delivered if e["detail"]["tour_id"] == str(tour_id)]
