"""DomIQ's booking API: API Gateway REST proxy events -> the routes of tour_booking.api.routes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.api.routes import handle
from tour_booking.tracing import traced_handler


@traced_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer: dict[str, Any] = handle(event, context)
    return answer
