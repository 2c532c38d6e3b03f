"""The refresh worker (refresh queue, SQS FIFO -> this function, partial batch responses): refreshes the
batches of properties the schedule queued (functions/cache_refresh, tour_booking.refresh.refresh_queue).

Each message is one ResMan account's batch; its group is the account, so no two workers hold one account's batches at
once, and inside a worker at most RESMAN_MAX_CONCURRENCY_PER_ACCOUNT of its properties refresh at once
(tour_booking.refresh.resman_refresh.refresh_batches). A message whose every property refreshed is acknowledged; one
with a failed property is listed in `batchItemFailures` and comes back after the queue's visibility timeout, as do the
later messages of its group in the batch (FIFO order). Its retry refreshes its properties again from their watermarks
(what the first try committed is not read twice); after maxReceiveCount it goes to the dead-letter queue and the
RefreshDeadLetterDepthAlarm fires. An unreadable message is acknowledged and logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.sqs_fifo_partial_processor import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.observability import logger, metrics, traced_handler

if TYPE_CHECKING:
    from tour_booking.refresh.prospect_source import ProspectSource
    from tour_booking.refresh.resman_refresh import PropertyResult

# A failed message fails the later ones of its group in the batch (FIFO order), not the other accounts'.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# A batch whose every message failed is answered like any other (all listed) instead of raising.
processor.raise_on_entire_batch_failure = False


class RefreshBatchFailedError(Exception):
    """Some properties of the batch failed to refresh (their reasons are in resman_watermark.last_error)."""


def handle_batch(event: dict[str, Any], context: LambdaContext, source: ProspectSource) -> dict[str, Any]:
    from tour_booking.refresh.refresh_queue import RefreshBatch  # noqa: PLC0415
    from tour_booking.refresh.resman_refresh import refresh_batches  # noqa: PLC0415 - cold start: loaded when called

    readable: dict[str, RefreshBatch] = {}
    for record in event.get("Records", []):
        try:
            readable[record["messageId"]] = RefreshBatch.from_body(record["body"])
        except (KeyError, ValueError, TypeError):
            logger.error("unreadable refresh message acknowledged", extra={"message_id": record.get("messageId")})
    results = dict(zip(readable, refresh_batches([b.property_ids for b in readable.values()], source), strict=True))
    failed = [r for batch in results.values() for r in batch if not r.ok]
    for result in failed:
        logger.error("property refresh failed", extra={"property_id": str(result.property_id), "error": result.error})
    refreshed = sum(len(batch) for batch in results.values()) - len(failed)
    metrics.add_metric(name="PropertiesRefreshed", unit=MetricUnit.Count, value=refreshed)
    metrics.add_metric(name="PropertyRefreshFailed", unit=MetricUnit.Count, value=len(failed))

    def record_handler(record: SQSRecord) -> str:
        batch: list[PropertyResult] | None = results.get(record.message_id)
        if batch is None:
            return "unreadable"
        bad = [r for r in batch if not r.ok]
        if bad:
            raise RefreshBatchFailedError(f"{len(bad)} of {len(batch)} properties failed to refresh")
        return "refreshed"

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    logger.info(
        "refresh batch done",
        extra={
            "messages": len(event.get("Records", [])),
            "refreshed": refreshed,
            "failed": len(failed),
            "retried_messages": len(response.get("batchItemFailures", [])),
        },
    )
    return dict(response)


@logger.inject_lambda_context
@traced_handler
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, source: ProspectSource | None = None
) -> dict[str, Any]:
    if source is None:
        from tour_booking.resman.refresh_adapter import ResManProspectSource  # noqa: PLC0415

        source = ResManProspectSource()
    return handle_batch(event, context, source)
