"""The scheduled cache refresh (EventBridge Scheduler -> this function): see tour_booking.cache_refresh.

Every property is refreshed even when some fail; then, if any failed, the invocation raises
CacheRefreshFailedError so Lambda's Errors metric (and the CacheRefreshErrorsAlarm) fires. The schedule does
not retry (MaximumRetryAttempts 0): what succeeded is committed and the next run resumes the rest.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.cache_refresh import ProspectSource, ResManProspectSource, refresh_all
from tour_booking.tracing import traced_handler

logger = Logger()
# The namespace template.yaml's dashboard reads; fixed here so a missing POWERTOOLS_METRICS_NAMESPACE (sam local
# with a partial env file) cannot turn a good run into a metrics validation error.
metrics = Metrics(namespace="TourBooking")


class CacheRefreshFailedError(Exception):
    """Some properties failed to refresh; the others were refreshed."""


@logger.inject_lambda_context
@traced_handler
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, source: ProspectSource | None = None
) -> dict[str, Any]:
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
