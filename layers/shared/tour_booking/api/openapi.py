"""The `responses` of each route in the OpenAPI document: its real success body and the contract's error shape."""

from __future__ import annotations

from typing import Any

from tour_booking.api.body_guard import MAX_BODY_BYTES
from tour_booking.api.json_body import MAX_DEPTH, MAX_NUMBER_CHARS
from tour_booking.api.json_response import JSON
from tour_booking.api.models import ErrorResponse


def _error_content(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": ErrorResponse}}}


def responses(
    ok_status: int, ok_model: Any, ok_description: str, *, has_body: bool = False, **errors: str
) -> dict[int, Any]:
    """The success answer (`ok_model` None: no body), the errors given as e<status>="description", and the errors
    every route may answer (404 no route, 413/415 for a body, 422, 500, 503)."""
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
