"""The local stack, wired once: the embedded PostgreSQL, the ResMan double, moto's SQS with the template's queues, every
function as template.yaml declares it (timeout, memory, environment), their event source mappings and schedules, and
the API Gateway in front of `booking_api`. `make dev` (tools/dev.py) starts all of it; the soak (bench/load_mix.py)
and the tests' `gateway_url` fixture start the booking API behind the gateway (`start_booking_api`).

Each part's lines in the combined log carry its name (tools/local_logs.py).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import demo_data
from tools.local_logs import set_part

# The lines of the stack's parts read as `make dev`'s, whichever program starts them.
logger = logging.getLogger("tools.dev")

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
BOOKING_API_HANDLER = "functions.booking_api.app:lambda_handler"


@dataclass(frozen=True)
class Options:
    """What `make dev` starts the stack with (tools/dev.py's flags and DEV_* variables)."""

    api_port: int
    resman_port: int
    sqs_port: int
    api_key: str
    refresh_seconds: float | None
    sweep_seconds: float | None
    state_dir: Path  # where `make dev` publishes the running stack (tools/dev.py)
    api_concurrency: int
    events_seconds: float | None = None
    webhook_url: str | None = None
    webhook_api_key: str | None = None


# ------------------------------------------------------------------ the parts


@contextlib.contextmanager
def part(name: str) -> Iterator[None]:
    """Tags the calling thread with a part for the lines it writes inside the block."""
    thread = threading.current_thread()
    previous = getattr(thread, "_local_stack_part", None)
    set_part(name, thread)
    try:
        yield
    finally:
        set_part(previous or "dev", thread)


def in_part(name: str, stop: Callable[[], object], what: str) -> Callable[[], None]:
    """A stop callback whose lines carry the part it stops."""

    def stop_in_part() -> None:
        with part(name):
            stop()
            logger.info("stopped %s", what)

    return stop_in_part


@contextlib.contextmanager
def _labelled_exit(name: str, manager: contextlib.AbstractContextManager[str]) -> Iterator[str]:
    """Enters `manager`; what its exit writes (stopping the server) carries the part `name`."""
    with manager as value:
        try:
            yield value
        finally:
            set_part(name)
    logger.info("database server stopped")


def _postgres_identity(url: str) -> tuple[int | None, str | None]:
    """The postmaster's pid and data directory (to stop it if this process is killed)."""
    import psycopg  # noqa: PLC0415

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        data_dir = str(row[0]) if row else None
        if data_dir is None:
            return None, None
        first_line = (Path(data_dir) / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line), data_dir
    except (psycopg.Error, OSError, ValueError, IndexError):
        return None, None


def tail_file(path: Path, stop: threading.Event, part_name: str) -> threading.Thread:
    """Copies the lines appended to `path` into the combined log."""

    def follow() -> None:
        position = 0
        while not stop.is_set():
            try:
                with path.open() as source:
                    source.seek(position)
                    for line in source:
                        sys.stdout.write(line if line.endswith("\n") else line + "\n")
                    position = source.tell()
            except OSError:
                pass
            stop.wait(0.5)

    thread = threading.Thread(target=follow, name=f"tail-{part_name}", daemon=True)
    set_part(part_name, thread)
    thread.start()
    return thread


def start_database(stack: ExitStack, stop: threading.Event) -> tuple[str, dict[str, Any]]:
    from tools.embedded_postgres import database_url  # noqa: PLC0415
    from tour_booking.db.migrations import apply_migrations  # noqa: PLC0415

    embedded = not os.environ.get("DATABASE_URL")
    with part("db"):
        logger.info("starting the embedded PostgreSQL" if embedded else "using DATABASE_URL")
        # pgserver narrates every command it runs; its warnings are enough here.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        url = stack.enter_context(_labelled_exit("db", database_url()))
        identity: dict[str, Any] = {}
        if embedded:
            pid, data_dir = _postgres_identity(url)
            identity = {"postgres_pid": pid, "postgres_data_dir": data_dir}
            if data_dir:
                tail_file(Path(data_dir) / "log", stop, "db")
        applied = apply_migrations(url, SQL_DIR)
        logger.info("migrations applied: %s", ", ".join(applied) or "none (up to date)")
    return url, identity


def start_resman(stack: ExitStack, port: int) -> str | None:
    """The ResMan double with the demo property; None when the double is not part of this checkout."""
    with part("resman"):
        try:
            resman_double: Any = importlib.import_module("tools.resman_double")
        except ImportError:
            logger.warning("tools.resman_double is missing: the sync and the refresh will find no ResMan")
            return None
        double: Any = resman_double.start_double(port=port)
        stack.callback(in_part("resman", double.stop, "the ResMan double"))
        url = str(double.url).rstrip("/")
        seed = getattr(resman_double, "seed_demo", None)
        if callable(seed):
            seed(double)
        else:
            _seed_double_over_http(url)
        logger.info("ResMan double on %s", url)
        return url


def _seed_double_over_http(url: str) -> None:
    """Registers the demo credentials, property and prospect source through the double's test controls."""
    import urllib.request  # noqa: PLC0415

    body = json.dumps(
        {
            "integration_partner_id": demo_data.RESMAN_INTEGRATION_PARTNER_ID,
            "api_key": demo_data.RESMAN_API_KEY,
            "account_id": demo_data.RESMAN_ACCOUNT_ID,
            "property_id": demo_data.RESMAN_PROPERTY_ID,
            "name": demo_data.PROPERTY_NAME,
            "timezone": demo_data.SCHEDULE.timezone,
            "prospect_source_id": demo_data.RESMAN_PROSPECT_SOURCE_ID,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/__double__/properties", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310  # nosec B310 - the double on loopback
        pass


def start_sqs(stack: ExitStack, port: int) -> tuple[str, Any]:
    from tools.local_sqs import LocalSqsServer, create_sync_queues, sqs_client  # noqa: PLC0415

    with part("sqs"):
        configure_aws()
        server = LocalSqsServer(port=port)
        server.start()
        stack.callback(in_part("sqs", server.stop, "the SQS server"))
        queues = create_sync_queues(sqs_client(server.url))
        logger.info("SQS (moto) on %s", server.url)
        return server.url, queues


def configure_aws() -> None:
    """A region and dummy credentials: moto accepts anything, and real credentials stay out of the stack."""
    from tools.local_sqs import MOTO_AWS_ENVIRONMENT  # noqa: PLC0415

    os.environ.update(MOTO_AWS_ENVIRONMENT)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)


def local_overrides(
    database_url: str, sqs_url: str, queue_url: str, resman_url: str | None, refresh: float
) -> dict[str, str]:
    """What must point at the local stack instead of AWS, in every function's environment."""
    values = {
        "DATABASE_URL": database_url,
        "SYNC_QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL": sqs_url,
        "RESMAN_INTEGRATION_PARTNER_ID": demo_data.RESMAN_INTEGRATION_PARTNER_ID,
        "RESMAN_API_KEY": demo_data.RESMAN_API_KEY,
        "RESMAN_PROSPECT_SOURCE_ID": demo_data.RESMAN_PROSPECT_SOURCE_ID,
        "CACHE_REFRESH_INTERVAL_MINUTES": str(max(1, math.ceil(refresh / 60))),
        "POWERTOOLS_SERVICE_NAME": "tour-booking",
        "POWERTOOLS_METRICS_NAMESPACE": "TourBooking",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    if resman_url:
        values["RESMAN_BASE_URL"] = resman_url
    return values


def configure_environment(
    database_url: str, sqs_url: str, queue_url: str, resman_url: str | None, refresh: float
) -> dict[str, str]:
    """The process's environment, set before any handler runs (what Powertools and boto3 read); returns the
    local overrides, which each function's own environment takes too (see function_variables)."""
    from tour_booking.settings import get_settings  # noqa: PLC0415

    configure_aws()
    overrides = local_overrides(database_url, sqs_url, queue_url, resman_url, refresh)
    os.environ.update(overrides)
    for name in ("DB_SECRET_ARN", "RESMAN_SECRET_ARN"):
        os.environ.pop(name, None)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
    get_settings.cache_clear()
    return overrides


def function_variables(logical_id: str, overrides: dict[str, str]) -> dict[str, str]:
    """The function's environment in AWS (template.yaml's Variables, where they resolve without a deploy), with
    the local overrides in place of what points at AWS. A variable only a deploy resolves (a secret's ARN, the
    proxy endpoint) is left out."""
    from tools import sam_template  # noqa: PLC0415

    declared = sam_template.function_environment(logical_id)
    variables = {name: value for name, value in declared.items() if value is not None}
    variables.update(overrides)
    return variables


def local_function(
    stack: ExitStack,
    logical_id: str,
    handler: str | Callable[[Any, Any], Any],
    *,
    part_name: str,
    concurrency: int,
    overrides: dict[str, str] | None,
) -> Any:
    """The function as template.yaml declares it (timeout, memory, environment), stopped with the stack. Without
    `overrides` it runs in this process's environment instead of the template's."""
    from tools import sam_template  # noqa: PLC0415
    from tools.local_lambda import LocalFunction  # noqa: PLC0415

    local = LocalFunction(
        logical_id,
        handler,
        part=part_name,
        timeout_seconds=float(sam_template.function_setting(logical_id, "Timeout") or 3),
        memory_mb=int(sam_template.function_setting(logical_id, "MemorySize") or 128),
        concurrency=concurrency,
        on_container_exit=_close_database_connection,
        environment=None if overrides is None else function_variables(logical_id, overrides),
    )
    stack.callback(in_part(part_name, local.stop, logical_id))
    return local


def publisher_handler(bus: Any) -> Callable[[Any, Any], Any]:
    """The event publisher's handler with the local bus in place of boto3's EventBridge client."""

    def handler(event: Any, context: Any) -> Any:
        from functions.event_publisher.app import lambda_handler  # noqa: PLC0415

        return lambda_handler(event, context, bus=bus)

    return handler


def _close_database_connection() -> None:
    from tour_booking import db  # noqa: PLC0415

    db.close()


def api_gateway(stack: ExitStack, invoke: Callable[[Any], Any], api_keys: Iterable[str], *, port: int = 0) -> str:
    """`[api]`: the local API Gateway with template.yaml's routes in front of `invoke`, on `port` (0: a free one),
    stopped with the stack; its base URL."""
    from tools import sam_template  # noqa: PLC0415
    from tools.local_api_gateway import LocalApiGateway  # noqa: PLC0415

    with part("api"):
        gateway = LocalApiGateway(invoke, sam_template.api_routes(), set(api_keys), port=port)
        gateway.start()
        stack.callback(in_part("api", gateway.stop, "the API Gateway"))
        logger.info("API Gateway on %s", gateway.url)
    return gateway.url


def start_booking_api(
    stack: ExitStack,
    api_keys: Iterable[str],
    *,
    port: int = 0,
    concurrency: int = 1,
    overrides: dict[str, str] | None = None,
) -> str:
    """`booking_api` in `concurrency` warm containers behind the local API Gateway, stopped with the stack; the
    gateway's base URL. Without `overrides` the containers run in this process's environment."""
    function = local_function(
        stack, "BookingApiFunction", BOOKING_API_HANDLER, part_name="api", concurrency=concurrency, overrides=overrides
    )
    return api_gateway(stack, function.invoke, api_keys, port=port)


@dataclass
class Running:
    api_url: str
    resman_url: str | None
    sqs_url: str
    queues: Any
    database_url: str
    trigger_refresh: Callable[[], None]


def start_stack(options: Options, stack: ExitStack, stop: threading.Event) -> tuple[Running, dict[str, Any]]:
    from tools import sam_template  # noqa: PLC0415
    from tools.local_event_bus import LocalEventBus  # noqa: PLC0415
    from tools.local_lambda import LocalFunction  # noqa: PLC0415
    from tools.local_scheduler import Job, LocalScheduler, scheduled_event  # noqa: PLC0415
    from tools.local_sqs import sqs_client  # noqa: PLC0415
    from tools.local_sqs_poller import LocalSqsPoller  # noqa: PLC0415

    database_url, identity = start_database(stack, stop)
    resman_url = start_resman(stack, options.resman_port)
    sqs_url, queues = start_sqs(stack, options.sqs_port)

    from tour_booking.settings import get_settings  # noqa: PLC0415

    refresh_seconds = options.refresh_seconds or get_settings().cache_refresh_interval_minutes * 60.0
    overrides = configure_environment(database_url, sqs_url, queues.url, resman_url, refresh_seconds)
    refresh_queues = start_refresh_queue(sqs_url, overrides)

    with part("db"):
        from tour_booking import db  # noqa: PLC0415

        with db.transaction() as conn:
            demo_data.seed_database(conn)
        db.close()
        logger.info("demo property %s and conversation %s ready", demo_data.PROPERTY_ID, demo_data.CONVERSATION_ID)

    def function(logical_id: str, handler: str, part_name: str, concurrency: int) -> LocalFunction:
        local: LocalFunction = local_function(
            stack, logical_id, handler, part_name=part_name, concurrency=concurrency, overrides=overrides
        )
        return local

    event_source = sam_template.sqs_event_source()
    sync_concurrency = int(event_source.get("ScalingConfig", {}).get("MaximumConcurrency", 2))
    booking_api = function("BookingApiFunction", BOOKING_API_HANDLER, "api", options.api_concurrency)
    resman_sync = function("ResmanSyncFunction", "functions.resman_sync.app:lambda_handler", "sync", sync_concurrency)
    cache_refresh = function("CacheRefreshFunction", "functions.cache_refresh.app:lambda_handler", "refresh", 1)
    event_publisher = local_function(
        stack,
        "EventPublisherFunction",
        publisher_handler(LocalEventBus(options.webhook_url, options.webhook_api_key)),
        part_name="events",
        concurrency=1,
        overrides=overrides,
    )
    start_refresh_worker(stack, refresh_queues, function)

    poller = LocalSqsPoller(
        sqs_client(),
        queues.url,
        queues.arn,
        resman_sync.invoke,
        batch_size=int(event_source.get("BatchSize", 10)),
        pollers=sync_concurrency,
    )
    poller.start()
    stack.callback(in_part("sync", poller.stop, "the queue poller"))

    sweep = sam_template.schedules("ResmanSyncFunction").get("PendingSweep")
    sweep_seconds = options.sweep_seconds or float((sweep.rate_seconds if sweep else None) or 300)
    sweep_input = (sweep.input if sweep else None) or {"sweep": True}
    publish = sam_template.schedules("EventPublisherFunction").get("PublishSchedule")
    events_seconds = options.events_seconds or float((publish.rate_seconds if publish else None) or 60)
    scheduler = LocalScheduler(
        [
            Job("refresh", "refresh", cache_refresh.invoke, refresh_seconds, lambda: scheduled_event("cache-refresh")),
            Job("sweep", "sync", resman_sync.invoke, sweep_seconds, lambda: dict(sweep_input), run_at_start=False),
            Job("events", "events", event_publisher.invoke, events_seconds, lambda: scheduled_event("event-publisher")),
        ]
    )
    scheduler.start()
    stack.callback(in_part("refresh", scheduler.stop, "the schedules"))

    api_url = api_gateway(stack, booking_api.invoke, {options.api_key}, port=options.api_port)

    running = Running(
        api_url=api_url,
        resman_url=resman_url,
        sqs_url=sqs_url,
        queues=queues,
        database_url=database_url,
        trigger_refresh=lambda: scheduler.trigger("refresh"),
    )
    return running, identity


# ---------------------------------------------------------------- refresh queue (issue 18)


def start_refresh_queue(sqs_url: str, overrides: dict[str, str]) -> Any:
    """The refresh queue pair of template.yaml on the local SQS; the schedule's function queues its batches there
    (REFRESH_QUEUE_URL, like every local override, in each function's environment and the process's)."""
    from tools.local_sqs import create_refresh_queues, sqs_client  # noqa: PLC0415
    from tour_booking.settings import get_settings  # noqa: PLC0415

    with part("sqs"):
        queues = create_refresh_queues(sqs_client(sqs_url))
    overrides["REFRESH_QUEUE_URL"] = queues.url
    os.environ["REFRESH_QUEUE_URL"] = queues.url
    get_settings.cache_clear()
    return queues


def start_refresh_worker(stack: ExitStack, queues: Any, function: Callable[[str, str, str, int], Any]) -> None:
    """`[refresh]`: the worker's event source mapping (batches of the template's BatchSize, partial batch
    responses, at most its MaximumConcurrency pollers; moto's FIFO queue hands out one batch of a group at once)."""
    from tools import sam_template  # noqa: PLC0415
    from tools.local_sqs import sqs_client  # noqa: PLC0415
    from tools.local_sqs_poller import LocalSqsPoller  # noqa: PLC0415

    event_source = sam_template.sqs_event_source("RefreshWorkerFunction")
    concurrency = int(sam_template.resolved(event_source.get("ScalingConfig", {}).get("MaximumConcurrency")) or 2)
    worker = function("RefreshWorkerFunction", "functions.refresh_worker.app:lambda_handler", "refresh", concurrency)
    poller = LocalSqsPoller(
        sqs_client(),
        queues.url,
        queues.arn,
        worker.invoke,
        part="refresh",
        batch_size=int(event_source.get("BatchSize", 10)),
        pollers=concurrency,
    )
    poller.start()
    stack.callback(in_part("refresh", poller.stop, "the refresh queue poller"))


# ---------------------------------------------------------------- end of refresh queue
