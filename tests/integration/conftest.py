"""The integration tier: the code under test against real PostgreSQL (tests/conftest.py), moto and the ResMan double.
Its fixtures: the double over real HTTP, a client pointed at it with tiny backoff, moto's SQS server as the local stack
runs it, and a moto EventBridge bus that delivers to a queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import ACCOUNT, RESMAN_PROPERTY, SOURCE
from tests.integration.buses import BusProbe
from tools.local_sqs import LocalSqsServer
from tools.resman_double import DoubleHandle, start_double
from tour_booking import observability
from tour_booking.events import event_publisher
from tour_booking.resman.client import ResManClient
from tour_booking.settings import get_settings

BUS = "tour-booking-events-test"


@pytest.fixture
def double() -> Iterator[DoubleHandle]:
    handle = start_double(port=0)
    handle.state.add_property(ACCOUNT, RESMAN_PROPERTY, prospect_sources={SOURCE: "DomIQ"})
    yield handle
    handle.stop()


@pytest.fixture
def resman_env(double: DoubleHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "RESMAN_BASE_URL": double.url,
        "RESMAN_INTEGRATION_PARTNER_ID": "partner",
        "RESMAN_API_KEY": "key",
        "RESMAN_TIMEOUT_SECONDS": "0.5",
        "RESMAN_MAX_ATTEMPTS": "4",
        "RESMAN_BACKOFF_BASE_SECONDS": "0.005",
        "RESMAN_BACKOFF_MAX_SECONDS": "0.05",
        "RESMAN_MAX_CONCURRENCY_PER_ACCOUNT": "4",
        "RESMAN_PROSPECT_SOURCE_ID": SOURCE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RESMAN_SECRET_ARN", raising=False)

    # the namespace template.yaml gives every function (POWERTOOLS_METRICS_NAMESPACE)
    monkeypatch.setattr(observability.metrics.provider, "namespace", "TourBooking")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(resman_env: None) -> ResManClient:
    return ResManClient(get_settings())


@pytest.fixture(scope="module")
def sqs_url() -> Iterator[str]:
    """moto's SQS server as the local stack runs it, shared by the tests of the queue tools."""
    server = LocalSqsServer(port=0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def event_bus(sqs_queue: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[BusProbe]:
    """EVENT_BUS_NAME on moto (inside sqs_queue's mock), every `tour-booking` event routed to a queue."""
    import boto3

    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    queue_url = sqs_queue.create_queue(QueueName="tour-events-delivered")["QueueUrl"]
    arn = sqs_queue.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-domiq", EventBusName=BUS, EventPattern=json.dumps({"source": ["tour-booking"]}))
    events.put_targets(Rule="to-domiq", EventBusName=BUS, Targets=[{"Id": "delivered", "Arn": arn}])
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    get_settings.cache_clear()
    event_publisher.eventbridge.cache_clear()
    yield BusProbe(events, sqs_queue, queue_url)
    get_settings.cache_clear()
    event_publisher.eventbridge.cache_clear()
