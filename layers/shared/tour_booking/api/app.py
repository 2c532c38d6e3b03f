"""The booking API: the Powertools REST resolver joining one Router per resource, and the Lambda handler's body.

Routes parse and validate (Powertools + pydantic), call one service function and answer JSON; every error leaves
through tour_booking.api.errors. Bodies too large or not text are refused before routing (body_guard).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.api import body_guard, errors
from tour_booking.api.json_body import parse_json_body
from tour_booking.api.resolver import ThreadLocalRestResolver
from tour_booking.api.routers import availability, health, holds, tour_schedule, tours
from tour_booking.api.routers import metrics as metrics_routes
from tour_booking.observability import logger, metrics

app = ThreadLocalRestResolver(enable_validation=True, json_body_deserializer=parse_json_body)
for resource in (availability, tour_schedule, tours, holds, metrics_routes, health):
    app.include_router(resource.router)
app.include_router(errors.router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point's body: refuses oversized or non-UTF-8 bodies before parsing them, then routes."""
    refused = body_guard.refusal(event)
    if refused is not None:
        return refused
    return app.resolve(event, context)
