"""GET /metrics/tour-success-rate."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from tour_booking.api.json_response import json_response
from tour_booking.api.models import SuccessRates
from tour_booking.api.openapi import responses

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


@router.get(
    "/metrics/tour-success-rate",
    summary="Per property: percent of tours completed and percent synced to ResMan",
    responses=responses(200, SuccessRates, "the rates"),
)
def tour_success_rate(property_id: Annotated[UUID | None, Query()] = None) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    rates = [
        {
            "property_id": str(row["property_id"]),
            "completion_rate": row["completion_rate"],
            "sync_success_rate": row["sync_success_rate"],
        }
        for row in booking_service.success_rates(property_id)
    ]
    return json_response(200, {"items": rates})
