"""What the schemathesis run (test_api_fuzz.py) found, each pinned with a plain request over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api_events import KEY
from tour_booking.api.models import ErrorResponse

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "openapi.json").read_text(encoding="utf-8"))
UNKNOWN = "6f1e3c1a-2b7d-4c59-9a0e-5d8f7b2c4e10"
NOT_UTF8 = b'{"status": "\xff\xfe confirmed"}'


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/tours"), ("PATCH", f"/tours/{UNKNOWN}"), ("PUT", f"/properties/{UNKNOWN}/tour-schedule")],
)
def test_a_body_that_is_not_utf8_is_a_422_not_a_500(gateway_url: str, method: str, path: str) -> None:
    # given a JSON-looking body with bytes that are not UTF-8 (API Gateway hands it to the function in base64)
    # when it is sent to a route that takes a body
    answer = requests.request(
        method,
        f"{gateway_url}{path}",
        data=NOT_UTF8,
        headers={"x-api-key": KEY, "Content-Type": "application/json"},
        timeout=10,
    )
    # then it is refused as invalid input in the contract's shape (it was a 500 internal_error)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    ErrorResponse.model_validate(body)
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"] == [{"loc": ["body"], "type": "json_invalid", "msg": "the body is not UTF-8 text"}]


@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_a_missing_or_wrong_key_is_refused_in_the_contract_shape(gateway_url: str, key: str | None) -> None:
    # when a keyed route is called without the key or with a wrong one
    headers = {} if key is None else {"x-api-key": key}
    answer = requests.get(f"{gateway_url}/tours", headers=headers, timeout=10)
    # then API Gateway's 403 has the contract's error shape, as template.yaml's GatewayResponses make it
    # (the local gateway answered API Gateway's bare {"message": "Forbidden"})
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"error": {"code": "forbidden", "message": "Forbidden", "details": []}}


def test_an_unknown_route_is_refused_in_the_contract_shape(gateway_url: str) -> None:
    answer = requests.delete(f"{gateway_url}/tours", headers={"x-api-key": KEY}, timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"error": {"code": "forbidden", "message": "Missing Authentication Token", "details": []}}


def keyed_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in OPENAPI["paths"].items()
        for method, operation in methods.items()
        if operation.get("security", OPENAPI["security"])
    ]


def test_every_keyed_operation_documents_the_gateway_403() -> None:
    # given the checked-in document: every operation but /health needs the key
    operations = keyed_operations()
    assert {(path, method) for path, method, _ in operations} == {
        (path, method) for path, methods in OPENAPI["paths"].items() for method in methods
    } - {("/health", "get")}
    # then each documents the 403 API Gateway answers for a missing or wrong key, in the error shape
    for path, method, operation in operations:
        forbidden = operation["responses"].get("403")
        assert forbidden is not None, f"{method.upper()} {path} does not document 403"
        assert forbidden["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
