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

The parts are wired in tools/local_stack.py. Ctrl-C (SIGINT) or SIGTERM stops every part, the database server
included. SIGUSR1 runs the refresh now.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import IO, Any

from tools import demo_data
from tools.local_logs import combined_output, inherit_parts, set_part
from tools.local_stack import Options, Running, start_stack

logger = logging.getLogger("tools.dev")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_API_KEY = "local-dev-api-key"


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
    started = time.monotonic()
    code = run(parse_args(argv))
    if code == 0:
        print(f"local stack stopped after {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
