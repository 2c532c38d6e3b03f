"""The checked-in OpenAPI document is the one the code generates, and it describes what is really answered."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body
from tools.openapi import document, render
from tour_booking.api.models import ErrorResponse, SuccessRates, TourPage, TourScheduleBody
from tour_booking.domain.availability import Availability
from tour_booking.domain.tour import Tour

CHECKED_IN = Path(__file__).resolve().parents[2] / "openapi.json"


def test_checked_in_openapi_document_is_current() -> None:
    # when the document is generated from the code, then it equals the checked-in file (`make openapi`)
    assert CHECKED_IN.read_text(encoding="utf-8") == render(), "openapi.json is stale: run `make openapi`"


def test_every_contract_route_is_documented_with_the_error_shape() -> None:
    paths = document()["paths"]
    expected = {
        ("/properties/{property_id}/availability", "get"),
        ("/properties/{property_id}/tour-schedule", "put"),
        ("/properties/{property_id}/tour-schedule", "get"),
        ("/tours", "post"),
        ("/tours", "get"),
        ("/tours/{tour_id}", "get"),
        ("/tours/{tour_id}", "patch"),
        ("/tours/{tour_id}/calendar.ics", "get"),
        ("/metrics/tour-success-rate", "get"),
        ("/holds", "post"),
        ("/holds/{hold_id}", "delete"),
        ("/health", "get"),
    }
    assert {(path, method) for path, methods in paths.items() for method in methods} == expected
    for path, method in expected:
        responses = paths[path][method]["responses"]
        error_ref = responses["422"]["content"]["application/json"]["schema"]["$ref"]
        assert error_ref == "#/components/schemas/ErrorResponse"
    assert "HTTPValidationError" not in document()["components"]["schemas"]


def conforms(model: type[BaseModel], body: Any) -> None:
    model.model_validate(body)


def test_real_answers_match_the_documented_schemas(clean_db: str) -> None:
    property_id = new_property()
    conversation_id = new_conversation(clean_db)
    conforms(TourScheduleBody, call("GET", f"/properties/{property_id}/tour-schedule").json)
    conforms(Availability, call("GET", f"/properties/{property_id}/availability?days=3").json)
    booked = call("POST", "/tours", tour_body(property_id, conversation_id, future_slot()))
    conforms(Tour, booked.json)
    conforms(Tour, call("PATCH", f"/tours/{booked.json['id']}", {"status": "confirmed"}).json)
    conforms(TourPage, call("GET", "/tours").json)
    conforms(SuccessRates, call("GET", "/metrics/tour-success-rate").json)
    for failing in (
        call("GET", f"/tours/{uuid.uuid4()}"),
        call("POST", "/tours", {"nonsense": True}),
        call("POST", "/tours", None, raw_body="{"),
        call("GET", "/no-such-route"),
    ):
        conforms(ErrorResponse, failing.json)
