"""The booking API: Powertools REST resolver, one route per row of SPEC.md's contract table.

Routes parse and validate (Powertools + pydantic), call one service function and answer JSON. Every error
leaves through the handlers at the bottom, in the contract's shape {"error": {"code", "message", "details"}}.

Cold start: a route imports its service (and through it psycopg and the SQL modules) when it is first called,
so the init imports only the resolver and the models its validation needs (bench/cold_start.py), and an
availability read never loads the booking modules.
"""

from __future__ import annotations

import base64
import binascii
import json
import traceback
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tour_booking.api.json_body import MAX_DEPTH, MAX_NUMBER_CHARS, parse_json_body
from tour_booking.api.models import (
    CreateHoldRequest,
    CreateTourRequest,
    ErrorResponse,
    Health,
    Hold,
    SavedTourSchedule,
    SuccessRates,
    TourPage,
    TourScheduleBody,
    UpdateTourRequest,
)
from tour_booking.api.resolver import ThreadLocalRestResolver
from tour_booking.domain.availability import Availability
from tour_booking.domain.enums import TourStatus, TourType
from tour_booking.domain.errors import DatabaseUnavailableError, DomainError
from tour_booking.domain.time_bounds import DATE_RANGE, INSTANT_RANGE, Instant, LocalDate
from tour_booking.domain.tour import Tour

logger = Logger(service="booking-api")
metrics = Metrics(namespace="TourBooking")
app = ThreadLocalRestResolver(enable_validation=True, json_body_deserializer=parse_json_body)

MAX_BODY_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = "5"
JSON = "application/json"
CALENDAR = "text/calendar; charset=utf-8"

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


def _error_content(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": ErrorResponse}}}


def _responses(
    ok_status: int, ok_model: Any, ok_description: str, *, has_body: bool = False, **errors: str
) -> dict[int, Any]:
    """Route responses for the OpenAPI document: the real success body and the contract's error shape."""
    answer: dict[int, Any] = {
        ok_status: {"description": ok_description}
        if ok_model is None
        else {"description": ok_description, "content": {JSON: {"model": ok_model}}}
    }
    for key, description in errors.items():
        answer[int(key.removeprefix("e"))] = _error_content(description)
    answer.setdefault(404, _error_content("not_found: no such route"))
    if has_body:
        answer[413] = _error_content(f"payload_too_large: the body exceeds {MAX_BODY_BYTES} bytes")
        answer[415] = _error_content("unsupported_media_type: the body is not application/json")
    body_bounds = (
        f"; a body nests at most {MAX_DEPTH} levels, its numbers are at most {MAX_NUMBER_CHARS} characters long"
        if has_body
        else ""
    )
    answer[422] = _error_content(
        f"validation_error: the request does not match the contract (details: loc, type, msg){body_bounds}"
    )
    answer[500] = _error_content("internal_error")
    answer[503] = {
        **_error_content("service_unavailable: the database does not answer; retry after Retry-After seconds"),
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    }
    return answer


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers,
    )


def _correlation_id() -> str | None:
    request_id: str | None = app.current_event.request_context.request_id
    return request_id


@app.get(
    "/properties/<property_id>/availability",
    summary="Available tour slots of a property's local dates",
    responses=_responses(200, Availability, "the available slots", e404="property_not_found"),
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

    answer = availability_service.get_availability(property_id, start_date, days, tour_type)
    return Response(status_code=200, content_type=JSON, body=answer)


@app.put(
    "/properties/<property_id>/tour-schedule",
    summary="Create or replace a property's tour schedule (creates the property row when absent)",
    responses=_responses(
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
    return _json(200, answer)


@app.get(
    "/properties/<property_id>/tour-schedule",
    summary="A property's tour schedule",
    responses=_responses(200, TourScheduleBody, "the schedule", e404="property_not_found"),
)
def get_tour_schedule(property_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.availability import availability_service  # noqa: PLC0415 - cold start: loaded by the first call

    return _json(200, availability_service.get_schedule(property_id).model_dump(mode="json"))


@app.post(
    "/tours",
    summary="Book a tour",
    responses=_responses(
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

    answer = booking_service.create_tour(body, idempotency_key, _correlation_id())
    if not answer.replayed:
        metrics.add_metric(name="ToursBooked", unit=MetricUnit.Count, value=1)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return _json(answer.status, answer.body, headers)


@app.post(
    "/holds",
    summary="Keep one seat of a slot while the chat collects the prospect's details",
    description=(
        "Takes one seat of a bookable slot for ttl_seconds (60..900, default HOLD_TTL_SECONDS, 300). While live, "
        "the hold counts against capacity in availability and in the database's capacity rule; it frees itself at "
        "expires_at with no job having to run. A conversation holds at most 3 slots at once. Book the seat with "
        "POST /tours and this hold's id as hold_id."
    ),
    responses=_responses(
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

    return _json(201, holds_service.create_hold(body))


@app.delete(
    "/holds/<hold_id>",
    summary="Release a hold: its seat is free at once",
    responses=_responses(204, None, "released", e404="hold_not_found (unknown, expired, released or booked)"),
)
def release_hold(hold_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.booking import holds_service  # noqa: PLC0415 - cold start: loaded by the first call

    holds_service.release_hold(hold_id)
    return Response(status_code=204, body=None)


@app.get(
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
    responses=_responses(200, TourPage, "a page of tours"),
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
    return _json(200, page)


@app.get("/tours/<tour_id>", summary="A tour", responses=_responses(200, Tour, "the tour", e404="tour_not_found"))
def get_tour(tour_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return _json(200, booking_service.get_tour(tour_id))


@app.patch(
    "/tours/<tour_id>",
    summary="Reschedule, change the type or status, or annotate a tour",
    responses=_responses(
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

    return _json(200, booking_service.update_tour(tour_id, body, _correlation_id()))


@app.get(
    "/tours/<tour_id>/calendar.ics",
    summary='A tour as an iCalendar event ("add to calendar")',
    description=(
        "The tour as one VEVENT: UID stable per tour, SEQUENCE the tour's version, start and end in UTC, "
        "STATUS:CANCELLED once cancelled. No prospect details."
    ),
    responses={
        **_responses(200, Tour, "the tour as text/calendar", e404="tour_not_found"),
        200: {
            "description": "the tour as an iCalendar event",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
    },
)
def get_tour_calendar(tour_id: Annotated[UUID, Path()]) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return Response(status_code=200, content_type=CALENDAR, body=booking_service.tour_calendar(tour_id))


@app.get(
    "/metrics/tour-success-rate",
    summary="Per property: percent of tours completed and percent synced to ResMan",
    responses=_responses(200, SuccessRates, "the rates"),
)
def tour_success_rate(property_id: Annotated[UUID | None, Query()] = None) -> Response[Any]:
    from tour_booking.booking import booking_service  # noqa: PLC0415 - cold start: loaded by the first call

    return _json(200, booking_service.success_rates(property_id))


@app.get("/health", summary="200 when the database answers", responses=_responses(200, Health, "healthy"))
def health() -> Response[Any]:
    from tour_booking import db  # noqa: PLC0415

    with db.transaction() as conn:
        conn.execute(b"SELECT 1")
    return _json(200, {"status": "ok"})


# ---------------------------------------------------------------- errors, in the contract's shape


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response[Any]:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return _json(status, {"error": {"code": code, "message": message, "details": details or []}}, headers)


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    """loc, type and msg of each problem; never `input` or `ctx`, which may hold the prospect's details."""
    return [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in error.get("loc", ())],
            "type": error.get("type"),
            "msg": error.get("msg"),
        }
        for error in errors
    ]


@app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(415, "unsupported_media_type", "send the body as application/json")


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    return error_response(422, "validation_error", "the request is not valid", _validation_details(error.errors()))


@app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
def _domain_error(error: DomainError) -> Response[Any]:
    if isinstance(error, DatabaseUnavailableError):
        logger.warning("database unavailable", extra={"error_type": type(error.__cause__).__name__})
    if error.code == "slot_unavailable":
        metrics.add_metric(name="SlotConflicts", unit=MetricUnit.Count, value=1)
    return error_response(error.status, error.code, error.message, error.details)


@app.exception_handler(ServiceError)  # type: ignore[untyped-decorator]
def _service_error(error: ServiceError) -> Response[Any]:
    return error_response(error.status_code, "request_error", str(error.msg))


@app.not_found
def _no_route(error: Exception) -> Response[Any]:
    return error_response(404, "not_found", "no such resource")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected(error: Exception) -> Response[Any]:
    # The exception's text may quote values (a prospect's email in a database message): log the type and
    # where it happened only.
    logger.error(
        "unhandled error",
        extra={"error_type": type(error).__name__, "stack": traceback.format_tb(error.__traceback__)[-5:]},
    )
    return error_response(500, "internal_error", "something went wrong; try again")


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Lambda entry point's body: refuses oversized or non-UTF-8 bodies before parsing them, then routes."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        return _refusal(error_response(413, "payload_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes"))
    if event.get("isBase64Encoded") and not _is_utf8(body):
        # API Gateway base64-encodes a body that is not text; JSON is text, so this one can only be refused.
        not_text = [{"loc": ["body"], "type": "json_invalid", "msg": "the body is not UTF-8 text"}]
        return _refusal(error_response(422, "validation_error", "the request is not valid", not_text))
    return app.resolve(event, context)


def _is_utf8(base64_body: str) -> bool:
    try:
        base64.b64decode(base64_body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True


def _refusal(answer: Response[Any]) -> dict[str, Any]:
    """A proxy answer given before routing (Powertools would fail on the body it refuses)."""
    return {
        "statusCode": answer.status_code,
        "headers": {"Content-Type": JSON},
        "multiValueHeaders": {},
        "body": answer.body,
        "isBase64Encoded": False,
    }
