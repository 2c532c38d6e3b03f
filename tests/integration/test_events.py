"""Every file of events/ (what `sam local invoke -e` feeds) works with its function's handler, against the
test database, and events/env.json sets only variables that template.yaml declares (SAM drops the rest)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.database import SQL_DIR
from tools import demo_data, sam_template
from tools.local_lambda import LambdaContext
from tools.local_sqs import LocalSqsServer, create_sync_queues, sqs_client
from tour_booking import db
from tour_booking.events import event_publisher
from tour_booking.settings import get_settings
from tour_booking.sync import sync_queue

SYNC_EVENT_TOUR_ID = "0e3c7a52-8f1d-4b6e-9a2c-5d4f3e2b1a09"
EVENTS = Path(__file__).resolve().parents[2] / "events"
FUNCTIONS = {
    "booking_api": "BookingApiFunction",
    "resman_sync": "ResmanSyncFunction",
    "cache_refresh": "CacheRefreshFunction",
    "refresh_worker": "RefreshWorkerFunction",
    "migrate": "MigrateFunction",
    "event_publisher": "EventPublisherFunction",
}


def event_files() -> list[Path]:
    return sorted(path for path in EVENTS.glob("*.json") if path.name != "env.json")


def function_of(path: Path) -> str:
    """booking_api_availability.json -> booking_api: a file is named after its function."""
    return next(name for name in sorted(FUNCTIONS, key=len, reverse=True) if path.stem.startswith(name))


def handler_of(function: str) -> Any:
    if function in {"resman_sync", "cache_refresh", "refresh_worker"}:
        pytest.importorskip("tour_booking.resman.client", reason="the ResMan client has not landed")
    module = pytest.importorskip(f"functions.{function}.app", reason=f"functions/{function}/app.py has not landed")
    return module.lambda_handler


@pytest.fixture(scope="module")
def local_services() -> Iterator[dict[str, str]]:
    """moto's SQS for the queue the handlers send to, and the ResMan double when it is part of the checkout."""
    sqs = LocalSqsServer(port=0)
    sqs.start()
    services = {"sqs": sqs.url}
    double: Any = None
    try:
        resman_double: Any = importlib.import_module("tools.resman_double")
    except ImportError:
        resman_double = None
    if resman_double is not None:
        double = resman_double.start_double(port=0)
        resman_double.seed_demo(double)
        services["resman"] = str(double.url).rstrip("/")
    yield services
    if double is not None:
        double.stop()
    sqs.stop()


@pytest.fixture
def stack_env(clean_db: str, local_services: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test database seeded with the demo property, and the environment `make dev` gives the handlers."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": local_services["sqs"],
        "RESMAN_INTEGRATION_PARTNER_ID": demo_data.RESMAN_INTEGRATION_PARTNER_ID,
        "RESMAN_API_KEY": demo_data.RESMAN_API_KEY,
        "RESMAN_PROSPECT_SOURCE_ID": demo_data.RESMAN_PROSPECT_SOURCE_ID,
        "RESMAN_MAX_ATTEMPTS": "1",
        # the sweep re-sends the pending tour at once instead of after five minutes
        "SWEEPER_PENDING_AGE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    if "resman" in local_services:
        monkeypatch.setenv("RESMAN_BASE_URL", local_services["resman"])
    queues = create_sync_queues(sqs_client(local_services["sqs"]))
    monkeypatch.setenv("SYNC_QUEUE_URL", queues.url)
    _clear_cached_clients()
    with psycopg.connect(clean_db, autocommit=True) as conn:
        demo_data.seed_database(conn)
        # the tour that events/resman_sync.json names, booked and waiting for its sync
        conn.execute(
            "INSERT INTO tour_booking_sync (id, conversation_id, property_id, tour_type, scheduled_datetime, "
            "prospect_info) VALUES (%s, %s, %s, 'in_person', %s, %s)",
            (
                SYNC_EVENT_TOUR_ID,
                demo_data.CONVERSATION_ID,
                demo_data.PROPERTY_ID,
                demo_data.first_free_start(),
                Jsonb({"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}),
            ),
        )
    yield
    db.close()
    _clear_cached_clients()


def _clear_cached_clients() -> None:
    """Settings and the clients built from them are cached per container; this test changes the environment."""
    get_settings.cache_clear()
    sync_queue._sqs.cache_clear()
    event_publisher.eventbridge.cache_clear()
    resman_client = importlib.import_module("tour_booking.resman.client") if _has_resman_client() else None
    if resman_client is not None:
        resman_client.get_resman_client.cache_clear()


def _has_resman_client() -> bool:
    try:
        importlib.import_module("tour_booking.resman.client")
    except ImportError:
        return False
    return True


def test_there_is_one_event_for_every_function() -> None:
    assert {function_of(path) for path in event_files()} == set(FUNCTIONS)


@pytest.mark.parametrize("path", event_files(), ids=lambda path: path.name)
def test_every_event_file_works_with_its_handler(path: Path, stack_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the event file and its function's handler
    function = function_of(path)
    handler = handler_of(function)
    if function == "migrate":
        monkeypatch.setattr(importlib.import_module("functions.migrate.app"), "SQL_DIR", SQL_DIR)
    event = json.loads(path.read_text())
    context = LambdaContext(FUNCTIONS[function], 512, 30)
    # when the handler gets it
    result = handler(event, context)
    # then it answers as its trigger expects
    if function == "booking_api":
        assert result["statusCode"] == 200, result
        body = json.loads(result["body"])
        if event["resource"] == "/properties/{property_id}/availability":
            assert body["property_id"] == str(demo_data.PROPERTY_ID)
            assert len(body["days"]) == 3
    elif function == "resman_sync" and "Records" in event:
        assert result == {"batchItemFailures": []}
        with psycopg.connect(str(get_settings().database_url)) as conn:
            row = conn.execute(
                "SELECT sync_status, resman_prospect_id FROM tour_booking_sync WHERE id = %s", (SYNC_EVENT_TOUR_ID,)
            ).fetchone()
        assert row is not None
        assert row[0] == "success"
        assert row[1]
    elif function == "resman_sync":
        assert (result["found"], result["sent"]) == (1, 1), result
    elif function == "cache_refresh":
        assert (result["properties"], result["failed"]) == (1, 0), result
        assert result["results"][0]["resman_polled"] is True
    elif function == "refresh_worker":
        # the demo property of events/refresh_worker.json refreshed: ResMan read through its watermark, slots cached
        assert result == {"batchItemFailures": []}
        with psycopg.connect(str(get_settings().database_url)) as conn:
            row = conn.execute(
                "SELECT last_success_at, last_error FROM resman_watermark WHERE property_id = %s",
                (demo_data.PROPERTY_ID,),
            ).fetchone()
        assert row is not None and row[0] is not None and row[1] is None
    elif function == "migrate":
        assert result == {"applied": []}
    elif function == "event_publisher":
        # the tour booked above went out on the bus (moto's default bus, EVENT_BUS_NAME unset)
        assert (result["published"], result["failed"], result["pending"]) == (1, 0, 0), result
    json.dumps(result)


def test_the_api_events_name_routes_of_the_template() -> None:
    routes = {(route.method, route.path) for route in sam_template.api_routes()}
    for path in event_files():
        if function_of(path) == "booking_api":
            event = json.loads(path.read_text())
            assert (event["httpMethod"], event["resource"]) in routes


def test_env_json_sets_only_variables_the_template_declares() -> None:
    # SAM's --env-vars overrides only variables declared in the template; any other would be dropped silently.
    env = json.loads((EVENTS / "env.json").read_text())
    template = sam_template.load()
    declared_globally = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for section, variables in env.items():
        declared = set(declared_globally)
        if section != "Parameters":
            assert section in template["Resources"], section
            own = template["Resources"][section]["Properties"].get("Environment", {}).get("Variables", {})
            declared |= set(own)
        assert set(variables) <= declared, set(variables) - declared
    assert "host.docker.internal" in env["Parameters"]["DATABASE_URL"]
