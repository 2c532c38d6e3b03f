"""PUT and GET /properties/{property_id}/tour-schedule."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from tour_booking.api.json_response import json_response
from tour_booking.api.models import SavedTourSchedule, TourScheduleBody
from tour_booking.api.openapi import responses

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


@router.put(
    "/properties/<property_id>/tour-schedule",
    summary="Create or replace a property's tour schedule (creates the property row when absent)",
    responses=responses(
        200,
        SavedTourSchedule,
        "the saved schedule and the active future tours it no longer fits (tours are never moved or cancelled)",
        has_body=True,
        e404="property_not_found (beside DomIQ's table)",
    ),
)
def put_tour_schedule(
    property_id: Annotated[UUID, Path()], schedule: Annotated[TourScheduleBody, Body()]
) -> Response[Any]:
    from tour_booking.availability import availability_service  # noqa: PLC0415 - cold start: loaded by the first call

    saved, conflicts = availability_service.put_schedule(property_id, schedule)
    answer = saved.model_dump(mode="json")
    answer["conflicts"] = [
        {"tour_id": str(c.tour_id), "scheduled_datetime": c.scheduled_datetime.isoformat(), "reason": str(c.reason)}
        for c in conflicts
    ]
    return json_response(200, answer)


@router.get(
    "/properties/<property_id>/tour-schedule",
    summary="A property's tour schedule",
    responses=responses(200, TourScheduleBody, "the schedule", e404="property_not_found"),
)
def get_tour_schedule(property_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.availability import availability_service  # noqa: PLC0415 - cold start: loaded by the first call

    return json_response(200, availability_service.get_schedule(property_id).model_dump(mode="json"))
