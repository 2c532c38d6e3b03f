"""The ResMan sync (SQS -> this function, partial batch responses) and, on the `{"sweep": true}` schedule, the
sweeper: see tour_booking.sync.resman_sync and tour_booking.sync.sweeper."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.observability import logger, metrics, traced_handler

if TYPE_CHECKING:
    from tour_booking.resman.client import ResManClient
    from tour_booking.sync.resman_port import ResManPort
    from tour_booking.sync.sync_queue import SyncRequest

# The names template.yaml's sync failure-rate alarm and dashboard read.
METRIC_NAMES = {
    "synced": "SyncSucceeded",
    "already_synced": "SyncDuplicateIgnored",
    "already_failed": "SyncDuplicateIgnored",
    "failed": "SyncFailed",
    "retried": "SyncRetried",
}
MATCH_METRIC = "GuestCardMatched"
# A batch whose every message failed is answered like any other (all listed in batchItemFailures) instead of
# raising: SQS retries the same messages either way, and the SyncRetried metric counts them.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _request(record: dict[str, Any]) -> SyncRequest:
    from tour_booking.sync.sync_queue import SyncRequest  # noqa: PLC0415 - cold start: the sync loads when called

    attribute = (record.get("messageAttributes") or {}).get("correlation_id") or {}
    return SyncRequest.from_body(record["body"], attribute.get("stringValue"))


def handle_batch(event: dict[str, Any], context: LambdaContext, client: ResManPort) -> dict[str, Any]:
    # Cold start: the sync (psycopg, the SQL modules) is imported by the first batch.
    from tour_booking.sync.resman_sync import SyncOutcome, sync_requests  # noqa: PLC0415

    parsed: list[tuple[str, SyncRequest]] = []
    for record in event.get("Records", []):
        try:
            parsed.append((record["messageId"], _request(record)))
        except (KeyError, ValueError, TypeError):
            # A body that names no tour can never succeed: acknowledged (logged without its content).
            logger.error("unreadable sync message acknowledged", extra={"message_id": record.get("messageId")})
    results = sync_requests(parsed, client)
    counts = Counter(o.result if isinstance(o, SyncOutcome) else "retried" for o in results.values())
    for result, count in counts.items():
        metrics.add_metric(name=METRIC_NAMES.get(result, f"Sync_{result}"), unit=MetricUnit.Count, value=count)
    # Which guest-card rule matched (stored_id, email, phone_last_name, new): a dimension of its own metric, so
    # it needs a metric of its own; the rule's name is all it says (no personal data).
    synced = {o.tour_id: o for o in results.values() if isinstance(o, SyncOutcome)}  # a tour's messages share one
    rules = Counter(o.match_rule for o in synced.values() if o.match_rule)
    for rule, count in sorted(rules.items()):
        with single_metric(
            name=MATCH_METRIC, unit=MetricUnit.Count, value=count, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="MatchRule", value=rule)

    def record_handler(record: SQSRecord) -> str:
        outcome = results.get(record.message_id)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome.result if outcome else "unreadable"

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


@logger.inject_lambda_context
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext, client: ResManClient | None = None) -> dict[str, Any]:
    if event.get("sweep"):
        from tour_booking.sync.sweeper import sweep_pending  # noqa: PLC0415

        report = sweep_pending()
        metrics.add_metric(name="SweptTours", unit=MetricUnit.Count, value=report.sent)
        return report.as_dict()
    # The sweep needs no client: imported when a batch comes.
    from tour_booking.resman.sync_adapter import ResManSyncAdapter  # noqa: PLC0415

    if client is None:
        from tour_booking.resman.client import get_resman_client  # noqa: PLC0415

        client = get_resman_client()
    return handle_batch(event, context, ResManSyncAdapter(client))
