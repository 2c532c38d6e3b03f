"""GET /health."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from tour_booking.api.json_response import json_response
from tour_booking.api.models import Health
from tour_booking.api.openapi import responses

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


@router.get("/health", summary="200 when the database answers", responses=responses(200, Health, "healthy"))
def health() -> Response[Any]:
    from tour_booking import db  # noqa: PLC0415 - cold start: loaded by the first call

    db.ping()
    return json_response(200, {"status": "ok"})
