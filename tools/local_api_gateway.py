"""A local API Gateway REST API (Lambda proxy integration) in front of the `booking_api` handler.

Each HTTP request becomes the event API Gateway sends (the shape of `sam local generate-event apigateway
aws-proxy`), routed by the template's resource paths, with the API key checked as `ApiKeyRequired` does;
the handler's proxy answer becomes the HTTP response. API Gateway's own answers are kept: 403 `Missing
Authentication Token` for an unknown route, 403 `Forbidden` for a missing or wrong key, 502 `Internal server
error` when the function fails or answers malformed, 413 past 10 MB, each in the body the template's
GatewayResponses give it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tools.local_lambda import ACCOUNT_ID, FunctionError
from tools.sam_template import Route, gateway_responses

logger = logging.getLogger("tools.local_api_gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024
API_ID = "localapi01"


def gateway_answer(
    status: int, message: str, error_type: str, response_type: str, templates: dict[str, str]
) -> tuple[int, dict[str, list[str]], bytes]:
    """API Gateway's own answer, through the template's GatewayResponse for its type (or DEFAULT_4XX/5XX), as
    deployed; API Gateway's bare `{"message"}` only when the template customizes neither."""
    headers = {"Content-Type": ["application/json"], "x-amzn-ErrorType": [error_type]}
    default = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    template = templates.get(response_type, templates.get(default))
    if template is None:
        return status, headers, json.dumps({"message": message}).encode()
    return status, headers, template.replace("$context.error.messageString", json.dumps(message)).encode()


def build_event(
    *,
    method: str,
    raw_path: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: dict[str, str],
    source_ip: str = "127.0.0.1",
    stage: str = "local",
    api_key: str | None = None,
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one request."""
    split = urlsplit(raw_path)
    path = unquote(split.path)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode() if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    user_agent = next((values[-1] for name, values in multi_headers.items() if name.lower() == "user-agent"), None)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "resourceId": format(abs(hash(route.path)) % 0xFFFFFF, "06x"),
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:9]).decode(),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "identity": {
                "sourceIp": source_ip,
                "userAgent": user_agent,
                "apiKey": api_key,
                "apiKeyId": "local-api-key" if api_key else None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "accessKey": None,
            },
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def proxy_answer(result: Any) -> tuple[int, dict[str, list[str]], bytes]:
    """Lambda's proxy answer -> status, headers, body; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise ValueError("the answer has no integer statusCode")
    headers: dict[str, list[str]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = [str(value) for value in values]
    for name, value in (result.get("headers") or {}).items():
        headers[name] = [str(value)]
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise ValueError("the body is not a string")
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body, validate=True)
    else:
        payload = body.encode()
    return int(result["statusCode"]), headers, payload


class LocalApiGateway:
    """Serves the routes on host:port and invokes `invoke(event)` (e.g. LocalFunction.invoke) for each request."""

    def __init__(
        self,
        invoke: Callable[[dict[str, Any]], Any],
        routes: list[Route],
        api_keys: set[str],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        stage: str = "local",
        responses: dict[str, str] | None = None,
    ) -> None:
        # Literal segments win over parameters, as in API Gateway's resource tree.
        self.routes = sorted(routes, key=lambda route: route.path.count("{"))
        self.api_keys = api_keys
        self.invoke = invoke
        self.stage = stage
        self.responses = gateway_responses() if responses is None else responses
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, list[str]], bytes]:
        if len(body) > MAX_BODY_BYTES:
            return self._refuse(413, "Request Too Long", "RequestTooLongException", "REQUEST_TOO_LARGE")
        path = unquote(urlsplit(raw_path).path)
        # An unmatched path or method gets what API Gateway answers for it, not a 404.
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                break
        else:
            return self._refuse(
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                "MISSING_AUTHENTICATION_TOKEN",
            )
        api_key = next((value for name, value in headers if name.lower() == "x-api-key"), None)
        if route.api_key_required and api_key not in self.api_keys:
            return self._refuse(403, "Forbidden", "ForbiddenException", "INVALID_API_KEY")
        event = build_event(
            method=method,
            raw_path=raw_path,
            headers=headers,
            body=body,
            route=route,
            path_parameters=parameters,
            source_ip=source_ip,
            stage=self.stage,
            api_key=api_key if api_key in self.api_keys else None,
        )
        try:
            return proxy_answer(self.invoke(event))
        except FunctionError as error:
            logger.warning("Execution failed due to a function error: %s", error.error_type)
        except (ValueError, binascii.Error) as error:
            logger.warning("Execution failed due to configuration error: malformed Lambda proxy response (%s)", error)
        return self._refuse(502, "Internal server error", "InternalServerErrorException", "INTEGRATION_FAILURE")

    def _refuse(
        self, status: int, message: str, error_type: str, response_type: str
    ) -> tuple[int, dict[str, list[str]], bytes]:
        return gateway_answer(status, message, error_type, response_type, self.responses)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "LocalApiGateway"
            # Headers and body leave in two writes: with Nagle on, the body waits for the client's delayed ACK
            # (40 ms on Linux) whenever the headers are not yet acknowledged.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                started = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    status, headers, payload = gateway._refuse(
                        413, "Request Too Long", "RequestTooLongException", "REQUEST_TOO_LARGE"
                    )
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    status, headers, payload = gateway.handle(
                        self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                self.send_response_only(status)
                self.send_header("Date", self.date_time_string())
                for name, values in headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        for value in values:
                            self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                elapsed_ms = (time.monotonic() - started) * 1000
                print(f"{self.command} {urlsplit(self.path).path} -> {status} ({elapsed_ms:.1f} ms)")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return RequestHandler
