"""POST /holds and DELETE /holds/{hold_id}."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from tour_booking.api.json_response import json_response
from tour_booking.api.models import Hold
from tour_booking.api.openapi import responses
from tour_booking.booking.booking_requests import CreateHoldRequest

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


@router.post(
    "/holds",
    summary="Keep one seat of a slot while the chat collects the prospect's details",
    description=(
        "Takes one seat of a bookable slot for ttl_seconds (60..900, default HOLD_TTL_SECONDS, 300). While live, "
        "the hold counts against capacity in availability and in the database's capacity rule; it frees itself at "
        "expires_at with no job having to run. A conversation holds at most 3 slots at once. Book the seat with "
        "POST /tours and this hold's id as hold_id."
    ),
    responses=responses(
        201,
        Hold,
        "the hold",
        has_body=True,
        e404="property_not_found",
        e409="slot_unavailable | too_many_holds",
    ),
)
def create_hold(body: Annotated[CreateHoldRequest, Body()]) -> Response[Any]:
    from tour_booking.booking import holds_service  # noqa: PLC0415 - cold start: loaded by the first call

    hold = holds_service.create_hold(body)
    return json_response(
        201,
        {
            "id": str(hold.id),
            "property_id": str(hold.property_id),
            "scheduled_datetime": hold.scheduled_datetime.isoformat(),
            "tour_type": hold.tour_type,
            "conversation_id": None if hold.conversation_id is None else str(hold.conversation_id),
            "expires_at": hold.expires_at.isoformat(),
        },
    )


@router.delete(
    "/holds/<hold_id>",
    summary="Release a hold: its seat is free at once",
    responses=responses(204, None, "released", e404="hold_not_found (unknown, expired, released or booked)"),
)
def release_hold(hold_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.booking import holds_service  # noqa: PLC0415 - cold start: loaded by the first call

    holds_service.release_hold(hold_id)
    return Response(status_code=204, body=None)
