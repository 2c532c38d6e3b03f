"""POST and GET /tours, GET and PATCH /tours/{tour_id}, GET /tours/{tour_id}/calendar.ics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from tour_booking.api.json_response import json_response
from tour_booking.api.models import TourPage
from tour_booking.api.openapi import responses
from tour_booking.api.tour_answer import tour_json
from tour_booking.booking.booking_requests import CreateTourRequest, UpdateTourRequest
from tour_booking.domain.enums import TourStatus
from tour_booking.domain.time_bounds import INSTANT_RANGE, Instant
from tour_booking.domain.tour import Tour
from tour_booking.observability import metrics

if TYPE_CHECKING:
    from tour_booking.booking.booking_service import KeptAnswer

CALENDAR = "text/calendar; charset=utf-8"

router = APIGatewayRouter()  # type: ignore[no-untyped-call]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Replaying a POST with the same key and body returns the first answer (24 hours)",
    ),
]


def _correlation_id() -> str | None:
    request_id: str | None = router.current_event.request_context.request_id
    return request_id


def _booked(row: dict[str, Any]) -> KeptAnswer:
    """The answer to a booking: 201 and the tour. A replay under the same Idempotency-Key answers it again as it
    was given, whatever the tour became since."""
    from tour_booking.booking.booking_service import KeptAnswer  # noqa: PLC0415 - loaded with the service

    return KeptAnswer(201, tour_json(row))


@router.post(
    "/tours",
    summary="Book a tour",
    responses=responses(
        201,
        Tour,
        "the booked tour (a replay answers the first answer)",
        has_body=True,
        e404="property_not_found | conversation_not_found",
        e409="slot_unavailable | idempotency_key_reused | hold_mismatch",
    ),
)
def create_tour(body: Annotated[CreateTourRequest, Body()], idempotency_key: IdempotencyKey = None) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    booking = booking_service.create_tour(body, idempotency_key, _correlation_id(), _booked)
    if not booking.replayed:
        metrics.add_metric(name="ToursBooked", unit=MetricUnit.Count, value=1)
    headers = {"Idempotent-Replayed": "true"} if booking.replayed else None
    return json_response(booking.answer.status, booking.answer.body, headers)


@router.get(
    "/tours",
    summary="Tours in the order they were booked, paged by an opaque cursor",
    description=(
        "Tours in (created_at, id) order. Pages are keyset on those two columns, which no change of a tour "
        "rewrites: a tour rescheduled, retyped or moved to another status while a client pages keeps its place, "
        "so no tour is skipped or listed twice. Filters are applied to each page as it is read: a tour that a "
        "change moves into or out of `status` or `from`/`to` appears on, or drops from, the pages not read yet. "
        "A tour booked while a client pages comes on a later page, except one whose booking commits during the "
        "read of a page that already passed its created_at (its booking's start), which this listing misses."
    ),
    responses=responses(200, TourPage, "a page of tours"),
)
def list_tours(
    *,
    conversation_id: Annotated[UUID | None, Query()] = None,
    property_id: Annotated[UUID | None, Query()] = None,
    status: Annotated[TourStatus | None, Query()] = None,
    start_from: Annotated[
        Instant | None, Query(alias="from", description=f"scheduled at or after; {INSTANT_RANGE}")
    ] = None,
    start_to: Annotated[Instant | None, Query(alias="to", description=f"scheduled before; {INSTANT_RANGE}")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512, description="the `next_cursor` of the previous page, as it came")
    ] = None,
) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    page = booking_service.list_tours(
        conversation_id=conversation_id,
        property_id=property_id,
        status=status,
        start_from=start_from,
        start_to=start_to,
        limit=limit,
        cursor=cursor,
    )
    return json_response(200, {"items": [tour_json(row) for row in page.rows], "next_cursor": page.next_cursor})


@router.get("/tours/<tour_id>", summary="A tour", responses=responses(200, Tour, "the tour", e404="tour_not_found"))
def get_tour(tour_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return json_response(200, tour_json(booking_service.get_tour(tour_id)))


@router.patch(
    "/tours/<tour_id>",
    summary="Reschedule, change the type or status, or annotate a tour",
    responses=responses(
        200,
        Tour,
        "the changed tour",
        has_body=True,
        e404="tour_not_found",
        e409="slot_unavailable | invalid_transition",
    ),
)
def patch_tour(tour_id: Annotated[UUID, Path()], body: Annotated[UpdateTourRequest, Body()]) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return json_response(200, tour_json(booking_service.update_tour(tour_id, body, _correlation_id())))


@router.get(
    "/tours/<tour_id>/calendar.ics",
    summary='A tour as an iCalendar event ("add to calendar")',
    description=(
        "The tour as one VEVENT: UID stable per tour, SEQUENCE the tour's version, start and end in UTC, "
        "STATUS:CANCELLED once cancelled. No prospect details."
    ),
    responses={
        **responses(200, Tour, "the tour as text/calendar", e404="tour_not_found"),
        200: {
            "description": "the tour as an iCalendar event",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
    },
)
def get_tour_calendar(tour_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.api.tour_calendar import tour_ics  # noqa: PLC0415 - only this route pays for icalendar
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return Response(status_code=200, content_type=CALENDAR, body=tour_ics(booking_service.get_tour(tour_id)))
