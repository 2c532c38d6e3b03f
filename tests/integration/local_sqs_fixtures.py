"""moto's SQS server as the local stack runs it, shared by the tests of the queue tools."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.local_sqs import LocalSqsServer


@pytest.fixture(scope="module")
def sqs_url() -> Iterator[str]:
    server = LocalSqsServer(port=0)
    server.start()
    yield server.url
    server.stop()
