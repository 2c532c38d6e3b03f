"""Every error leaves the API here, in the contract's shape {"error": {"code", "message", "details"}}.

Domain errors carry a code and, when they concern one input, a `Problem` naming its field; this module decides the
HTTP status of each code and where in the request each field travels (the `loc` of a detail). The handlers form a
Router of their own, which the app joins like the resources' routers.
"""

from __future__ import annotations

import traceback
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from tour_booking.api.json_response import json_response
from tour_booking.domain.errors import DatabaseUnavailableError, DomainError, Problem
from tour_booking.observability import logger, metrics

RETRY_AFTER_SECONDS = "5"

# The status of each code a domain error may carry, as the contract gives it; any other code is a 500.
STATUS_OF_CODE = {
    "validation_error": 422,
    "property_not_found": 404,
    "conversation_not_found": 404,
    "tour_not_found": 404,
    "hold_not_found": 404,
    "slot_unavailable": 409,
    "invalid_transition": 409,
    "idempotency_key_reused": 409,
    "hold_mismatch": 409,
    "too_many_holds": 409,
    "service_unavailable": 503,
}

# Where the fields the services name travel when they are not body fields.
_FIELD_LOCATIONS: dict[str, list[str]] = {
    "idempotency_key": ["header", "Idempotency-Key"],
    "cursor": ["query", "cursor"],
}

router = APIGatewayRouter()  # type: ignore[no-untyped-call]


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response[Any]:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return json_response(status, {"error": {"code": code, "message": message, "details": details or []}}, headers)


def problem_detail(problem: Problem) -> dict[str, Any]:
    """A domain problem as a detail: the field's place in the request (the body itself when no field is named)."""
    loc = ["body"] if problem.field is None else _FIELD_LOCATIONS.get(problem.field, ["body", problem.field])
    return {"loc": loc, "type": problem.kind, "msg": problem.msg}


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


@router.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(415, "unsupported_media_type", "send the body as application/json")


@router.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    return error_response(422, "validation_error", "the request is not valid", _validation_details(error.errors()))


@router.exception_handler(DomainError)  # type: ignore[untyped-decorator]
def _domain_error(error: DomainError) -> Response[Any]:
    if isinstance(error, DatabaseUnavailableError):
        logger.warning("database unavailable", extra={"error_type": type(error.__cause__).__name__})
    if error.code == "slot_unavailable":
        metrics.add_metric(name="SlotConflicts", unit=MetricUnit.Count, value=1)
    details = [] if error.problem is None else [problem_detail(error.problem)]
    return error_response(STATUS_OF_CODE.get(error.code, 500), error.code, error.message, details)


@router.exception_handler(ServiceError)  # type: ignore[untyped-decorator]
def _service_error(error: ServiceError) -> Response[Any]:
    return error_response(error.status_code, "request_error", str(error.msg))


@router.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
def _no_route(error: NotFoundError) -> Response[Any]:
    return error_response(404, "not_found", "no such resource")


@router.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected(error: Exception) -> Response[Any]:
    # The exception's text may quote values (a prospect's email in a database message): log the type and
    # where it happened only.
    logger.error(
        "unhandled error",
        extra={"error_type": type(error).__name__, "stack": traceback.format_tb(error.__traceback__)[-5:]},
    )
    return error_response(500, "internal_error", "something went wrong; try again")
