"""A local SQS: moto's server on loopback, with the sync queue and its dead-letter queue as template.yaml
declares them (RedrivePolicy and maxReceiveCount included; moto's server moves messages past it)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tools.sam_template import queue_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

logger = logging.getLogger("tools.local_sqs")

# A region and dummy credentials for moto: it accepts anything, and real credentials stay out of local runs.
MOTO_AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 - moto's dummy credentials
}


@dataclass(frozen=True)
class SyncQueues:
    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str
    max_receive_count: int


class LocalSqsServer:
    """moto's threaded server on host:port (0 picks a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only the local stack needs moto

        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        # werkzeug logs every request, long polls included: too much for a shared log.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def start(self) -> None:
        self._server.start()

    @property
    def url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()


def sqs_client(endpoint_url: str | None = None) -> SQSClient:
    import boto3  # noqa: PLC0415

    # Without endpoint_url boto3 reads AWS_ENDPOINT_URL, as the handlers' clients do.
    return boto3.client("sqs", endpoint_url=endpoint_url) if endpoint_url else boto3.client("sqs")


def create_sync_queues(
    client: SQSClient,
    name: str = "tour-booking-sync-dev",
    dead_letter_name: str = "tour-booking-sync-dlq-dev",
    *,
    max_receive_count: int | None = None,
    visibility_timeout: int | None = None,
) -> SyncQueues:
    """The queue pair of template.yaml (idempotent: CreateQueue returns an existing queue with equal settings)."""
    settings: dict[str, Any] = queue_settings()
    receives = max_receive_count or settings["maxReceiveCount"]
    return _create_queue_pair(
        client, name, dead_letter_name, settings, receives=receives, visibility_timeout=visibility_timeout, fifo=False
    )


# ---------------------------------------------------------------- refresh queue (issue 18)


def create_refresh_queues(
    client: SQSClient,
    name: str = "tour-booking-refresh-dev.fifo",
    dead_letter_name: str = "tour-booking-refresh-dlq-dev.fifo",
    *,
    visibility_timeout: int | None = None,
) -> SyncQueues:
    """The refresh queue pair of template.yaml: FIFO, content-based deduplication, its RedrivePolicy."""
    settings: dict[str, Any] = queue_settings("RefreshQueue")
    receives = settings["maxReceiveCount"]
    return _create_queue_pair(
        client, name, dead_letter_name, settings, receives=receives, visibility_timeout=visibility_timeout, fifo=True
    )


def _create_queue_pair(
    client: SQSClient,
    name: str,
    dead_letter_name: str,
    settings: dict[str, Any],
    *,
    receives: int,
    visibility_timeout: int | None,
    fifo: bool,
) -> SyncQueues:
    """A queue and its dead-letter queue with template.yaml's `settings`. A FIFO queue deduplicates by content,
    and its dead-letter queue is FIFO too (SQS requires it)."""
    dead_letter_attributes: dict[QueueAttributeNameType, str] = {"MessageRetentionPeriod": "1209600"}
    attributes: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(visibility_timeout or settings["VisibilityTimeout"]),
        "MessageRetentionPeriod": str(settings["MessageRetentionPeriod"]),
    }
    if fifo:
        dead_letter_attributes["FifoQueue"] = attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = "true"
    dead_letter_url = client.create_queue(QueueName=dead_letter_name, Attributes=dead_letter_attributes)["QueueUrl"]
    dead_letter_arn = client.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": receives})
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    logger.info("queues ready: %s (dead letters after %d receives -> %s)", name, receives, dead_letter_name)
    return SyncQueues(url, arn, dead_letter_url, dead_letter_arn, receives)
