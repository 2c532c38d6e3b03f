"""The checked-in OpenAPI document is the one the code generates, and it describes what is really answered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel

from tests.api_events import ApiAnswer, call
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


def documented(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The answer's schema as the OpenAPI document gives it, with the document's components to resolve its $refs."""
    content = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return {**content["schema"], "components": document["components"]}


def test_real_answers_validate_against_the_checked_in_openapi_document(clean_db: str) -> None:
    # given the checked-in document, and a property, a conversation and a booked tour
    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    property_id = new_property()
    conversation_id = new_conversation(clean_db)
    start = future_slot()

    def check(path: str, method: str, answer: ApiAnswer) -> None:
        schema = documented(document, path, method, answer.status)
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(answer.json)

    # when each route answers, then its answer is valid against the schema the document gives for its status
    booked = call("POST", "/tours", tour_body(property_id, conversation_id, start), {"Idempotency-Key": "schema-1"})
    check("/tours", "post", booked)
    check("/tours", "post", call("POST", "/tours", tour_body(property_id, conversation_id, start)))
    replayed = call("POST", "/tours", tour_body(property_id, conversation_id, start), {"Idempotency-Key": "schema-1"})
    check("/tours", "post", replayed)
    tour_path = f"/tours/{booked.json['id']}"
    check("/tours/{tour_id}", "get", call("GET", tour_path))
    check(
        "/tours/{tour_id}", "patch", call("PATCH", tour_path, {"status": "confirmed", "preferences": {"bedrooms": 2}})
    )
    check("/tours", "get", call("GET", "/tours?limit=1"))
    check("/tours", "get", call("GET", "/tours?cursor=nonsense"))
    check("/holds", "post", call("POST", "/holds", _slot(property_id, future_slot(hour=11))))
    check("/properties/{property_id}/availability", "get", call("GET", f"/properties/{property_id}/availability"))
    check("/properties/{property_id}/tour-schedule", "get", call("GET", f"/properties/{property_id}/tour-schedule"))
    check("/metrics/tour-success-rate", "get", call("GET", "/metrics/tour-success-rate"))
    check("/health", "get", call("GET", "/health"))
    # and a tour answer has exactly the documented fields: the answer and the document come from one model
    assert set(booked.json) == set(document["components"]["schemas"]["Tour"]["properties"])


def _slot(property_id: uuid.UUID, start: str) -> dict[str, Any]:
    return {"property_id": str(property_id), "scheduled_datetime": start, "tour_type": "in_person"}
