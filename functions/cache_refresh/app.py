"""The scheduled cache refresh (EventBridge Scheduler -> this function): see tour_booking.refresh.resman_refresh.

With REFRESH_QUEUE_URL (template.yaml): queues every active property in batches per ResMan account for the
refresh worker (functions/refresh_worker), and raises CacheRefreshFailedError when a batch could not be sent.
Without it (sam local, tests): refreshes every property itself, even when some fail; then, if any failed, raises
CacheRefreshFailedError so Lambda's Errors metric (and the CacheRefreshErrorsAlarm) fires. The schedule does
not retry (MaximumRetryAttempts 0): what succeeded is committed and the next run resumes the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.observability import logger, metrics, traced_handler

if TYPE_CHECKING:
    from tour_booking.refresh.prospect_source import ProspectSource


class CacheRefreshFailedError(Exception):
    """Some properties failed to refresh; the others were refreshed."""


@logger.inject_lambda_context
@traced_handler
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, source: ProspectSource | None = None
) -> dict[str, Any]:
    # Cold start: the refresh (psycopg, the SQL modules) is imported by the first invocation.
    from tour_booking.refresh.resman_refresh import enqueue_all, refresh_all  # noqa: PLC0415
    from tour_booking.resman.refresh_adapter import ResManProspectSource  # noqa: PLC0415
    from tour_booking.settings import get_settings  # noqa: PLC0415

    queue_url = get_settings().refresh_queue_url
    if queue_url:
        queued = enqueue_all(queue_url)
        sent = queued.batches - queued.unsent_batches
        metrics.add_metric(name="RefreshBatchesQueued", unit=MetricUnit.Count, value=sent)
        logger.info("refresh queued", extra=queued.as_dict())
        if queued.unsent_batches:
            raise CacheRefreshFailedError(f"{queued.unsent_batches} of {queued.batches} refresh batches were not sent")
        return queued.as_dict()
    report = refresh_all(source if source is not None else ResManProspectSource())
    refreshed = len(report.results) - len(report.failed)
    metrics.add_metric(name="PropertiesRefreshed", unit=MetricUnit.Count, value=refreshed)
    metrics.add_metric(name="PropertyRefreshFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.add_metric(name="RefreshDuration", unit=MetricUnit.Seconds, value=report.seconds)
    summary = report.as_dict()
    for failed in report.failed:
        logger.error("property refresh failed", extra={"property_id": str(failed.property_id), "error": failed.error})
    logger.info("cache refreshed", extra={k: summary[k] for k in ("properties", "failed", "seconds")})
    if report.failed:
        raise CacheRefreshFailedError(f"{len(report.failed)} of {len(report.results)} properties failed to refresh")
    return summary
