"""The booking API behind the local API Gateway over real HTTP, on the test database and a moto SQS queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.local_api_gateway import LocalApiGateway
from tools.local_lambda import LocalFunction
from tools.sam_template import api_routes

KEY = "fuzz-api-key"


@pytest.fixture
def gateway_url(clean_db: str, sqs_queue: Any) -> Iterator[str]:
    """The gateway's base URL; the only valid x-api-key is KEY."""
    from functions.booking_api.app import lambda_handler

    function = LocalFunction("BookingApiFunction", lambda_handler, part="api", timeout_seconds=10)
    gateway = LocalApiGateway(function.invoke, api_routes(), {KEY}, port=0)
    gateway.start()
    yield gateway.url
    gateway.stop()
    function.stop()
