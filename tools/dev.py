"""`make dev`: the whole system on a laptop, without Docker or AWS, in one process.

Parts (each a thread, each line of the combined log prefixed with its name):
  [db]      the embedded PostgreSQL (or DATABASE_URL), migrated, with the demo property and conversation
  [resman]  the ResMan test double, seeded with the demo property
  [sqs]     moto's SQS server with the sync queue and its dead-letter queue
  [sync]    the event source mapping: long-polls the queue and invokes `resman_sync`; the sweeper schedule
  [refresh] the schedule that invokes `cache_refresh` (once at start, then at its rate)
  [events]  the schedule that invokes `event_publisher` (every minute): prints each tour event as it goes out
            and POSTs it to DEV_WEBHOOK_URL when set (tools/local_event_bus.py)
  [api]     API Gateway on http://127.0.0.1:3000 in front of `booking_api`, API key required

Ctrl-C (SIGINT) or SIGTERM stops every part, the database server included. SIGUSR1 runs the refresh now.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import importlib
import json
import logging
import math
import os
import shutil
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from tools import demo_data
from tools.local_logs import combined_output, inherit_parts, set_part

logger = logging.getLogger("tools.dev")

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
DEFAULT_API_KEY = "local-dev-api-key"


@dataclass(frozen=True)
class Options:
    api_port: int
    resman_port: int
    sqs_port: int
    api_key: str
    refresh_seconds: float | None
    sweep_seconds: float | None
    state_dir: Path
    api_concurrency: int
    events_seconds: float | None = None
    webhook_url: str | None = None
    webhook_api_key: str | None = None


def parse_args(argv: list[str] | None = None) -> Options:
    env = os.environ

    def number(name: str, default: str) -> str:
        return env.get(name) or default

    parser = argparse.ArgumentParser(prog="python -m tools.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-port", type=int, default=int(number("DEV_API_PORT", "3000")), help="env DEV_API_PORT")
    parser.add_argument(
        "--resman-port", type=int, default=int(number("DEV_RESMAN_PORT", "3001")), help="env DEV_RESMAN_PORT"
    )
    parser.add_argument("--sqs-port", type=int, default=int(number("DEV_SQS_PORT", "3002")), help="env DEV_SQS_PORT")
    parser.add_argument("--api-key", default=env.get("DEV_API_KEY") or DEFAULT_API_KEY, help="env DEV_API_KEY")
    parser.add_argument(
        "--refresh-seconds",
        type=float,
        default=float(env["DEV_REFRESH_SECONDS"]) if env.get("DEV_REFRESH_SECONDS") else None,
        help="cache refresh rate (default CACHE_REFRESH_INTERVAL_MINUTES; env DEV_REFRESH_SECONDS)",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=float,
        default=float(env["DEV_SWEEP_SECONDS"]) if env.get("DEV_SWEEP_SECONDS") else None,
        help="pending-sync sweeper rate (default: template.yaml's; env DEV_SWEEP_SECONDS)",
    )
    parser.add_argument(
        "--state-dir", type=Path, default=Path(env.get("DEV_STATE_DIR") or ROOT / ".dev"), help="env DEV_STATE_DIR"
    )
    parser.add_argument("--api-concurrency", type=int, default=4, help="warm containers of the booking API")
    parser.add_argument(
        "--events-seconds",
        type=float,
        default=float(env["DEV_EVENTS_SECONDS"]) if env.get("DEV_EVENTS_SECONDS") else None,
        help="tour events publisher rate (default: template.yaml's; env DEV_EVENTS_SECONDS)",
    )
    parser.add_argument(
        "--webhook-url",
        default=env.get("DEV_WEBHOOK_URL") or None,
        help="POST every tour event to this URL, as DomIQ's webhook gets it (env DEV_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--webhook-api-key",
        default=env.get("DEV_WEBHOOK_API_KEY") or None,
        help="x-api-key header of the webhook POSTs (env DEV_WEBHOOK_API_KEY)",
    )
    args = parser.parse_args(argv)
    return Options(
        api_port=args.api_port,
        resman_port=args.resman_port,
        sqs_port=args.sqs_port,
        api_key=args.api_key,
        refresh_seconds=args.refresh_seconds,
        sweep_seconds=args.sweep_seconds,
        state_dir=args.state_dir,
        api_concurrency=args.api_concurrency,
        events_seconds=args.events_seconds,
        webhook_url=args.webhook_url,
        webhook_api_key=args.webhook_api_key,
    )


# ------------------------------------------------------------------ one stack at a time


class AlreadyRunningError(Exception):
    pass


class StateDir:
    """`.dev/`: a lock held while a stack runs (released by the kernel however the process ends) and
    `state.json`, what the running stack publishes (pid, URLs, its database server)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state_file = path / "state.json"
        self._lock: IO[str] | None = None

    def acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        lock = (self.path / "dev.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            lock.close()
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise AlreadyRunningError(self._describe_running()) from None
        self._lock = lock

    def _describe_running(self) -> str:
        state = self.read()
        pid = state.get("pid", "?")
        api = state.get("api_url", "(still starting)")
        return (
            f"make dev is already running (pid {pid}, API {api}).\n"
            f"Use that one, or stop it first: Ctrl-C in its terminal, or `kill -INT {pid}`.\n"
            f"To run a second stack beside it, give it its own ports and state directory, e.g.\n"
            f"  DEV_STATE_DIR=.dev2 DEV_API_PORT=3010 DEV_RESMAN_PORT=3011 DEV_SQS_PORT=3012 make dev"
        )

    def read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def write(self, state: dict[str, Any]) -> None:
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.state_file)

    def release(self) -> None:
        self.state_file.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def reap_leftover_database(state: dict[str, Any]) -> None:
    """Stops the embedded PostgreSQL of a stack that was killed (SIGKILL leaves no time to stop it)."""
    import psutil  # noqa: PLC0415 - pgserver's dependency

    pid, data_dir = state.get("postgres_pid"), state.get("postgres_data_dir")
    if not pid or not data_dir:
        return
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(int(pid))
        if process.name() == "postgres" and any(data_dir in part for part in process.cmdline()):
            logger.warning("stopping the database server left by an earlier run (pid %s)", pid)
            process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            process.wait(15)
    shutil.rmtree(data_dir, ignore_errors=True)


def busy_ports(ports: dict[str, int]) -> list[str]:
    """The configured ports another program already listens on."""
    taken = []
    for name, port in ports.items():
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{name} port {port}")
    return taken


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
    overrides: dict[str, str],
) -> Any:
    """The function as template.yaml declares it (timeout, memory, environment), stopped with the stack."""
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
        environment=function_variables(logical_id, overrides),
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
    from tools.local_api_gateway import LocalApiGateway  # noqa: PLC0415
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
    booking_api = function(
        "BookingApiFunction", "functions.booking_api.app:lambda_handler", "api", options.api_concurrency
    )
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

    with part("api"):
        gateway = LocalApiGateway(
            booking_api.invoke, sam_template.api_routes(), {options.api_key}, port=options.api_port
        )
        gateway.start()
        stack.callback(in_part("api", gateway.stop, "the API Gateway"))
        logger.info("API Gateway on %s", gateway.url)

    running = Running(
        api_url=gateway.url,
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


def banner(options: Options, running: Running, refresh_seconds: str) -> str:
    api, key = running.api_url, options.api_key
    property_id = demo_data.PROPERTY_ID
    start = demo_data.first_free_start()
    start_text = start.isoformat() if start else "<a start from the availability answer>"
    tour = {
        "conversation_id": str(demo_data.CONVERSATION_ID),
        "property_id": str(property_id),
        "tour_type": "in_person",
        "scheduled_datetime": start_text,
        "prospect": {
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane.doe@example.com",
            "phone": "+15125550100",
        },
    }
    webhook = f"; forwarded to {options.webhook_url}" if options.webhook_url else "; DEV_WEBHOOK_URL forwards them"
    return f"""
  Local stack ready (pid {os.getpid()}). Ctrl-C stops everything.

  API          {api}   (header x-api-key: {key}; /health needs none)
  ResMan       {running.resman_url or "(double missing)"}   (test controls under /__double__/)
  SQS (moto)   {running.sqs_url}   queue {running.queues.url}
                                      dead letters {running.queues.dead_letter_url}
  Database     {running.database_url}
  Demo         property {property_id} ({demo_data.SCHEDULE.timezone}), conversation {demo_data.CONVERSATION_ID}
  Refresh      every {refresh_seconds}; run it now: kill -USR1 {os.getpid()}
  Events       [events] prints each tour event as published (every minute){webhook}

  # availability of the next 3 days
  curl -s -H 'x-api-key: {key}' '{api}/properties/{property_id}/availability?days=3'
  # book a tour (replaying the same Idempotency-Key returns the same answer)
  curl -s -X POST -H 'x-api-key: {key}' -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
       '{api}/tours' -d '{json.dumps(tour)}'
  # read the tour (its id is in the answer above)
  curl -s -H 'x-api-key: {key}' '{api}/tours/<tour id>'
"""


# ------------------------------------------------------------------ main


def run(options: Options) -> int:
    state_dir = StateDir(options.state_dir)
    try:
        state_dir.acquire()
    except AlreadyRunningError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        reap_leftover_database(state_dir.read())
        state_dir.state_file.unlink(missing_ok=True)
        ports = {"API (--api-port/DEV_API_PORT)": options.api_port}
        ports["ResMan double (--resman-port/DEV_RESMAN_PORT)"] = options.resman_port
        ports["SQS (--sqs-port/DEV_SQS_PORT)"] = options.sqs_port
        taken = busy_ports(ports)
        if taken:
            print(f"cannot start: {', '.join(taken)} in use by another program; pick free ones", file=sys.stderr)
            return 1
        return _run_stack(options, state_dir)
    finally:
        state_dir.release()


def _run_stack(options: Options, state_dir: StateDir) -> int:
    stop = threading.Event()
    started = threading.Event()
    refresh_now: list[Callable[[], None]] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not started.is_set():
            raise KeyboardInterrupt  # unwinds the start; ExitStack stops what already runs
        if stop.is_set():
            print("already stopping...")
            return
        print(f"{signal.Signals(signum).name}: stopping every part")
        stop.set()

    def on_refresh_signal(signum: int, frame: FrameType | None) -> None:
        for trigger in refresh_now:
            trigger()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGUSR1, on_refresh_signal)
    with combined_output():
        inherit_parts()
        logging.getLogger("botocore").setLevel(logging.WARNING)
        # Metrics are disabled locally (POWERTOOLS_METRICS_DISABLED); Powertools still warns at every flush.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        try:
            with ExitStack() as stack:
                stack.callback(stop.set)  # stops the log tail too
                running, identity = start_stack(options, stack, stop)
                refresh_now.append(running.trigger_refresh)
                refresh = options.refresh_seconds or float(os.environ["CACHE_REFRESH_INTERVAL_MINUTES"]) * 60
                state_dir.write(
                    {
                        "pid": os.getpid(),
                        "api_url": running.api_url,
                        "api_key": options.api_key,
                        "resman_url": running.resman_url,
                        "sqs_url": running.sqs_url,
                        "queue_url": running.queues.url,
                        "dead_letter_queue_url": running.queues.dead_letter_url,
                        **identity,
                    }
                )
                print(banner(options, running, f"{refresh:g} s"))
                started.set()
                while not stop.wait(1):
                    pass
        except KeyboardInterrupt:
            set_part("dev")
            logger.info("interrupted while starting: stopped what had started")
            return 130
        except Exception:
            set_part("dev")
            logger.exception("the local stack failed")
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        import tour_booking  # noqa: F401, PLC0415
    except ImportError:
        print("tour_booking is not importable: run `make dev`, or set PYTHONPATH=layers/shared:.", file=sys.stderr)
        return 2
    started = time.monotonic()
    code = run(parse_args(argv))
    if code == 0:
        print(f"local stack stopped after {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
