"""DomIQ's booking API: API Gateway REST proxy events -> the routes of tour_booking.api.app."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking import snapstart
from tour_booking.api.app import handle
from tour_booking.observability import traced_handler

# SnapStart (a no-op without it): the snapshot holds the modules a first request needs, a restore drops the
# connections, credentials and random state the snapshot froze (tour_booking/snapstart.py).
snapstart.register()


@traced_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer: dict[str, Any] = handle(event, context)
    return answer
