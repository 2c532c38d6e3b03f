"""API Gateway REST proxy events shaped like `sam local generate-event apigateway aws-proxy`, a Lambda
context, a call helper for the booking API's handler, and the key of the tests' local API Gateway."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The only API key the `gateway_url` fixture's local API Gateway accepts.
KEY = "fuzz-api-key"

RESOURCES = {
    ("properties", "availability"): "/properties/{property_id}/availability",
    ("properties", "tour-schedule"): "/properties/{property_id}/tour-schedule",
}


@dataclass
class LambdaContext:
    function_name: str = "tour-booking-api-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tour-booking-api-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/tour-booking-api-test"
    log_stream_name: str = "2026/11/28/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _resource(path: str) -> tuple[str, dict[str, str] | None]:
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "properties":
        return RESOURCES[("properties", parts[2])], {"property_id": parts[1]}
    if len(parts) == 3 and parts[0] == "tours" and parts[2] == "calendar.ics":
        return "/tours/{tour_id}/calendar.ics", {"tour_id": parts[1]}
    if len(parts) == 2 and parts[0] == "tours":
        return "/tours/{tour_id}", {"tour_id": parts[1]}
    if len(parts) == 2 and parts[0] == "holds":
        return "/holds/{hold_id}", {"hold_id": parts[1]}
    return path, None


def api_event(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    raw_body: str | None = None,
) -> dict[str, Any]:
    split = urlsplit(url)
    path = split.path
    query = parse_qs(split.query, keep_blank_values=True)
    resource, path_parameters = _resource(path)
    all_headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": "1234567890.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "DomIQ/1.0",
        "X-Forwarded-Proto": "https",
        "x-api-key": "test-api-key",
        **(headers or {}),
    }
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    request_id = str(uuid.uuid4())
    return {
        "body": text,
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "isBase64Encoded": False,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "123456",
            "stage": "prod",
            "requestId": request_id,
            "requestTime": "28/Nov/2026:12:00:00 +0000",
            "requestTimeEpoch": 1795867200000,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "DomIQ/1.0", "apiKey": "test-api-key"},
            "path": f"/prod{path}",
            "resourcePath": resource,
            "httpMethod": method,
            "apiId": "1234567890",
            "protocol": "HTTP/1.1",
        },
    }


@dataclass
class ApiAnswer:
    status: int
    headers: dict[str, str]
    json: Any


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, **kwargs: Any) -> ApiAnswer:
    from functions.booking_api.app import lambda_handler

    result = lambda_handler(api_event(method, url, body, headers, **kwargs), LambdaContext())
    text = result.get("body")
    headers = dict(result.get("headers") or {})
    headers.update({name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items() if values})
    return ApiAnswer(result["statusCode"], headers, json.loads(text) if text else None)
