"""Schemathesis fuzzes the checked-in openapi.json against the local API Gateway in front of the real handler.

Every operation gets generated requests, valid and invalid; each goes out as generated and again with the valid
key and a seeded property, conversation and booked tour, so that it also reaches real data instead of a 404.
Each answer must be no 5xx, a documented status code, a documented content type, and a body matching the
documented schema.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.openapi import from_path
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_events import KEY
from tests.builders import future_slot, new_conversation, schedule_body, tour_body

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
EXAMPLES_PER_OPERATION_AND_MODE = 40
MINIMUM_REQUESTS = 1_000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def seed(url: str, session: requests.Session, database_url: str) -> dict[str, str]:
    property_id = uuid.uuid4()
    keyed = {"x-api-key": KEY}
    answer = session.put(
        f"{url}/properties/{property_id}/tour-schedule", json=schedule_body(), headers=keyed, timeout=10
    )
    assert answer.status_code == 200, answer.text
    conversation_id = new_conversation(database_url)
    booking = tour_body(property_id, conversation_id, future_slot())
    booked = session.post(f"{url}/tours", json=booking, headers=keyed, timeout=10)
    assert booked.status_code == 201, booked.text
    return {"property_id": str(property_id), "conversation_id": str(conversation_id), "tour_id": booked.json()["id"]}


def aimed_at_real_data(case: Case[Any], real: dict[str, Any]) -> bool:
    """Gives the case the valid key and the seeded ids (and a bookable start) wherever it takes them; False when
    that changed nothing."""

    def state() -> tuple[Any, ...]:
        # what goes on the wire: the session sends the valid key unless the case carries its own
        others = {name: value for name, value in case.headers.items() if name.lower() != "x-api-key"}
        return case.headers.get("x-api-key", KEY), others, case.path_parameters, case.query, case.body

    before = state()
    case.headers["x-api-key"] = KEY
    if case.path_parameters:
        case.path_parameters = {name: real.get(name, value) for name, value in case.path_parameters.items()}
    if isinstance(case.query, dict):
        case.query = {name: real.get(name, value) for name, value in case.query.items()}
    if isinstance(case.body, dict):
        case.body = {name: real.get(name, value) for name, value in case.body.items()}
    return state() != before


def test_generated_requests_get_documented_answers_and_no_server_error(clean_db: str, gateway_url: str) -> None:
    schema = from_path(str(OPENAPI))
    session = requests.Session()
    # The valid key unless the case carries a generated x-api-key of its own (then API Gateway refuses it).
    session.headers["x-api-key"] = KEY
    real: dict[str, Any] = seed(gateway_url, session, clean_db)
    requests_sent = 0
    server_errors = 0
    failures: dict[str, str] = {}
    statuses: dict[int, int] = {}

    slots = [future_slot(days_ahead=day, hour=hour) for day in (2, 4, 6) for hour in (9, 13, 16)]

    def send(case: Case[Any]) -> None:
        nonlocal requests_sent, server_errors
        response = case.call(base_url=gateway_url, session=session, timeout=10)
        requests_sent += 1
        server_errors += response.status_code >= 500
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as failure:
            what = " / ".join(line.strip() for line in str(failure).splitlines()[:4] if line.strip())
            key = f"{case.method} {case.path} -> {response.status_code}: {what}"
            failures.setdefault(key, f"{case.as_curl_command()}\n{response.text[:300]}")

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Case[Any]) -> None:
                # Each case goes out as generated, then with the valid key and the seeded ids so that it also
                # reaches real data instead of a 403 or a 404.
                send(case)
                real["scheduled_datetime"] = slots[requests_sent % len(slots)]
                if aimed_at_real_data(case, real):
                    send(case)

            try:
                run()
            except Unsatisfiable:
                # An operation without parameters or body (GET /health) has no invalid request to generate.
                assert mode is GenerationMode.NEGATIVE and operation.path == "/health"

    report = "\n\n".join(f"{key}\n{example}" for key, example in failures.items())
    assert not failures, f"{len(failures)} kinds of failure in {requests_sent} requests:\n{report}"
    assert server_errors == 0
    assert requests_sent >= MINIMUM_REQUESTS
    # and the seeded data was reached: bookings, readings and refusals, not only 404s
    assert statuses.get(200, 0) > 100 and statuses.get(201, 0) > 0 and statuses.get(403, 0) > 0, statuses
    print(f"{requests_sent} requests, answers by status: {dict(sorted(statuses.items()))}")
