"""The local API Gateway: proxy events in, proxy answers out, API Gateway's own answers, over real HTTP."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tools.local_api_gateway import LocalApiGateway
from tools.local_lambda import FunctionError, LocalFunction
from tools.sam_template import api_routes

KEY = "test-key"


@pytest.fixture
def gateway() -> Iterator[Callable[[Callable[[dict[str, Any]], Any]], LocalApiGateway]]:
    started: list[LocalApiGateway] = []

    def start(invoke: Callable[[dict[str, Any]], Any]) -> LocalApiGateway:
        server = LocalApiGateway(invoke, api_routes(), {KEY}, port=0)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def echo(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def test_a_request_becomes_an_api_gateway_proxy_event(gateway: Any) -> None:
    # given a gateway in front of a handler that answers its event
    server = gateway(echo)
    # when a route with a path parameter is called with repeated query values and headers
    status, _, body = request(
        f"{server.url}/tours/3b8f7d6e-1111-4222-8333-444455556666?status=scheduled&status=confirmed&limit=5",
        headers={"x-api-key": KEY, "X-Trace": "a"},
    )
    # then the handler saw the REST proxy event of the matched resource
    assert status == 200
    event = json.loads(body)
    assert event["resource"] == "/tours/{tour_id}"
    assert event["path"] == "/tours/3b8f7d6e-1111-4222-8333-444455556666"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"tour_id": "3b8f7d6e-1111-4222-8333-444455556666"}
    assert event["queryStringParameters"] == {"status": "confirmed", "limit": "5"}
    assert event["multiValueQueryStringParameters"] == {"status": ["scheduled", "confirmed"], "limit": ["5"]}
    assert event["headers"]["X-Trace"] == "a"
    assert event["multiValueHeaders"]["X-Trace"] == ["a"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/tours/{tour_id}"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["apiKey"] == KEY
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"]
    assert event["stageVariables"] is None


def test_a_json_body_is_passed_as_text_and_a_binary_one_base64_encoded(gateway: Any) -> None:
    server = gateway(echo)
    _, _, text_answer = request(
        f"{server.url}/tours", "POST", b'{"a": 1}', {"x-api-key": KEY, "Content-Type": "application/json"}
    )
    _, _, binary_answer = request(f"{server.url}/tours", "POST", b"\xff\xfe\x00", {"x-api-key": KEY})
    assert json.loads(text_answer)["body"] == '{"a": 1}'
    binary_event = json.loads(binary_answer)
    assert binary_event["isBase64Encoded"] is True
    assert base64.b64decode(binary_event["body"]) == b"\xff\xfe\x00"


def test_every_route_but_health_needs_the_api_key(gateway: Any) -> None:
    calls: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 200, "body": "ok"}

    server = gateway(record)
    # when the key is missing or wrong
    missing = request(f"{server.url}/tours")
    wrong = request(f"{server.url}/tours", headers={"x-api-key": "nope"})
    health = request(f"{server.url}/health")
    # then API Gateway answers 403 Forbidden without invoking the function; /health needs no key
    for status, headers, body in (missing, wrong):
        assert status == 403
        assert json.loads(body) == {"error": {"code": "forbidden", "message": "Forbidden", "details": []}}
        assert headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert health[0] == 200
    assert [event["resource"] for event in calls] == ["/health"]


def test_an_unknown_route_or_method_gets_missing_authentication_token(gateway: Any) -> None:
    server = gateway(echo)
    for method, path in (("GET", "/nope"), ("DELETE", "/tours/x"), ("GET", "/tours/x/y")):
        status, _, body = request(f"{server.url}{path}", method, headers={"x-api-key": KEY})
        assert status == 403
        assert json.loads(body) == {
            "error": {"code": "forbidden", "message": "Missing Authentication Token", "details": []}
        }


def test_the_handler_answer_becomes_the_http_response(gateway: Any) -> None:
    server = gateway(
        lambda event: {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Location": "/tours/1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b'{"id": 1}').decode(),
            "isBase64Encoded": True,
        }
    )
    status, headers, body = request(f"{server.url}/tours", "POST", b"{}", {"x-api-key": KEY})
    assert status == 201
    assert headers["Location"] == "/tours/1"
    assert body == b'{"id": 1}'


@pytest.mark.parametrize(
    "answer",
    [None, {"body": "no status"}, {"statusCode": "200"}, {"statusCode": 200, "body": {"not": "a string"}}],
)
def test_a_malformed_proxy_answer_is_a_502(gateway: Any, answer: Any) -> None:
    server = gateway(lambda event: answer)
    status, _, body = request(f"{server.url}/health")
    assert status == 502
    assert json.loads(body) == {"error": {"code": "gateway_error", "message": "Internal server error", "details": []}}


def test_a_failing_function_is_a_502_and_the_gateway_keeps_serving(gateway: Any) -> None:
    # given a real local function whose handler raises on its first call only
    calls = {"n": 0}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return {"statusCode": 200, "body": context.function_name}

    function = LocalFunction("BookingApiFunction", handler, part="api", timeout_seconds=5)
    try:
        server = gateway(function.invoke)
        first = request(f"{server.url}/health")
        second = request(f"{server.url}/health")
    finally:
        function.stop()
    assert first[0] == 502
    assert b"boom" not in first[2]
    assert second[0] == 200
    assert second[2] == b"BookingApiFunction"


def test_a_function_past_its_timeout_fails_the_invocation() -> None:
    import threading

    release = threading.Event()
    function = LocalFunction("Slow", lambda event, context: release.wait(5), part="api", timeout_seconds=0.2)
    try:
        with pytest.raises(FunctionError) as failure:
            function.invoke({})
        assert failure.value.error_type == "Sandbox.Timedout"
    finally:
        release.set()
        function.stop()
