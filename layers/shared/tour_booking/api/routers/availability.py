"""GET /properties/{property_id}/availability."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from tour_booking.api.availability_answer import availability_json
from tour_booking.api.json_response import JSON
from tour_booking.api.openapi import responses
from tour_booking.domain.availability import Availability
from tour_booking.domain.enums import TourType
from tour_booking.domain.time_bounds import DATE_RANGE, LocalDate

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


@router.get(
    "/properties/<property_id>/availability",
    summary="Available tour slots of a property's local dates",
    responses=responses(200, Availability, "the available slots", e404="property_not_found"),
)
def get_availability(
    property_id: Annotated[UUID, Path()],
    start_date: Annotated[
        LocalDate | None, Query(description=f"first local date, {DATE_RANGE}; default: the property's today")
    ] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 1,
    tour_type: Annotated[TourType | None, Query()] = None,
) -> Response[Any]:
    from tour_booking.availability import availability_service  # noqa: PLC0415 - cold start: loaded by the first call

    offered = availability_service.get_availability(property_id, start_date, days, tour_type)
    return Response(status_code=200, content_type=JSON, body=availability_json(offered))
