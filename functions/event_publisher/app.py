"""The tour events' publisher (EventBridge Scheduler, every minute -> this function).

See tour_booking.events.event_publisher.

Invoked with the schedule's event it issues the reminders due, publishes everything pending to EVENT_BUS_NAME, and
returns; it stops early, leaving the rest to the next run, when the invocation's time is nearly up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.observability import logger, metrics, traced_handler

if TYPE_CHECKING:
    from tour_booking.events.event_publisher import EventBus

# Time kept back from the invocation's limit for the last PutEvents call and its mark.
RESERVE_SECONDS = 10.0


@logger.inject_lambda_context
@traced_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext, bus: EventBus | None = None) -> dict[str, Any]:
    # Cold start: the publisher (psycopg, pydantic-settings, the SQL modules) is imported by the first invocation.
    from tour_booking.events.event_publisher import eventbridge, publish_pending  # noqa: PLC0415

    deadline = time.monotonic() + max(context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS, 1.0)
    report = publish_pending(bus if bus is not None else eventbridge(), deadline=deadline)
    metrics.add_metric(name="TourEventsPublished", unit=MetricUnit.Count, value=report.published)
    metrics.add_metric(name="TourEventsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="TourEventsPending", unit=MetricUnit.Count, value=report.pending)
    metrics.add_metric(name="TourRemindersIssued", unit=MetricUnit.Count, value=report.reminders)
    summary = report.as_dict()
    logger.info("tour events published", extra=summary)
    return summary
