"""Soak: concurrent clients mixing availability reads, bookings, reschedules and cancels (`make soak`; not a test).

Each client is a thread with its own keep-alive HTTP connection to the local API Gateway of `make dev`
(tools/local_api_gateway.py), which invokes the real `booking_api` handler in warm local Lambda containers
(one database connection each); writes queue their syncs on moto's SQS server (a process of its own, read
during the run as the event source mapping would read it). The properties have small
capacities (1 or 2) and few slots, so clients race for the same seats. Each client loops:

  browse      GET availability of a random property
  book        GET availability, POST /tours (Idempotency-Key) for a free slot it just saw; now and then the
              same POST again, as a client retrying after a lost answer would
  reschedule  GET availability of one of its own tours' property, PATCH the tour to a free slot
  cancel      PATCH one of its own tours to cancelled

Meanwhile a leasing team (one more thread) keeps changing the properties' schedules: the grid (slot length 30,
45 or 60 minutes), the hours (opening at 09:00 or 09:30) and the capacity (raised by one, at most twice per
property: a lowered capacity legitimately leaves tours over it, which the PUT reports as conflicts).

Afterwards the database is checked: at no instant does a property hold more active tours than its capacity
(each tour occupying its start to its end plus the buffer, across grids and slot lengths); every tour
a client was answered 201 for exists with the start and status the client was last told, and no other tour
exists; every cached slot's `remaining` is the capacity minus the active tours; every tour's current version
was queued for ResMan; no 5xx or transport error; replays answered the first booking. The exit status is 1
when a check fails.

    python -m bench.load_mix [--clients 20] [--seconds 60] [--properties 50] [--in-process] [--no-queue]

On one machine the clients, the gateway and the handlers share one interpreter, and moto's SQS costs far more
than SQS does: `--in-process` calls the handler in each client's thread instead of over HTTP, `--no-queue`
leaves the SendMessageBatch after each write out (the queue check is then skipped).

DATABASE_URL points it at a server of yours (a scratch database is created there and dropped afterwards);
otherwise it starts an embedded PostgreSQL.
"""

# ruff: noqa: PLC0415  - imports follow the environment this benchmark sets up
from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

API_KEY = "load-mix-api-key"
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London")
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_DAYS = 2  # tomorrow and the day after, 6 slots each: few seats, so clients collide
REPLAY_SHARE = 0.1  # of successful bookings, posted again with the same key and body
ACTIVE = frozenset({"scheduled", "confirmed"})

# Shares of the client loop's actions; every action but cancel reads availability first.
BROWSE, BOOK, RESCHEDULE = 0.40, 0.30, 0.15  # cancel: the rest

CALL_TYPES = (
    "GET availability",
    "POST /tours",
    "POST /tours (replay)",
    "PATCH reschedule",
    "PATCH cancel",
    "PUT tour-schedule",
)
SCHEDULE_CHANGE_SECONDS = 0.25  # the leasing team's pace
CAPACITY_RAISES = 2  # per property, at most


@dataclass(frozen=True)
class Options:
    clients: int = 20
    seconds: float = 60.0
    properties: int = 50
    api_concurrency: int | None = None  # warm containers; default one per client, as Lambda would scale
    in_process: bool = False  # call the handler in each client's thread instead of over HTTP
    queue: bool = True  # False: no SQS, the syncs are left to the sweeper (as in bench.booking_api)
    seed: int = 1


@dataclass
class Told:
    """What the API last told the client about one of its tours."""

    property_id: str
    start: datetime
    status: str


@dataclass
class Calls:
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)

    def add(self, status: int, elapsed: float) -> None:
        self.statuses[status] += 1
        self.seconds.append(elapsed)

    def merge(self, other: Calls) -> None:
        self.statuses.update(other.statuses)
        self.seconds.extend(other.seconds)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    skipped: bool = False


@dataclass
class Result:
    options: Options
    elapsed: float
    calls: dict[str, Calls]
    checks: list[Check]
    seats: int
    error_logs: list[str] = field(default_factory=list)
    schedule_conflicts: int = 0  # conflicts the schedule changes reported

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


# ------------------------------------------------------------------ the clients


class HttpApi:
    """One client's keep-alive connection to the API Gateway."""

    def __init__(self, base_url: str) -> None:
        split = urlsplit(base_url)
        self._host, self._port = split.hostname or "127.0.0.1", split.port or 80
        self._conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=30)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """Status (0 for a transport error), lower-cased headers and the JSON body."""
        payload = None if body is None else json.dumps(body).encode()
        all_headers = {"x-api-key": API_KEY, "Content-Type": "application/json", **(headers or {})}
        try:
            self._conn.request(method, path, payload, all_headers)
            response = self._conn.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            self._conn = self._connect()
            return 0, {}, None
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer_headers, json.loads(text) if text else None

    def close(self) -> None:
        self._conn.close()


class HandlerApi:
    """The handler called in the client's own thread (with its own database connection), given the event the
    gateway builds for the same request: the load without HTTP and the gateway's threads."""

    def __init__(self) -> None:
        from tools import sam_template
        from tools.local_lambda import LambdaContext

        self._routes = sorted(sam_template.api_routes(), key=lambda route: route.path.count("{"))
        self._context = LambdaContext("BookingApiFunction", 512, 10)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        from functions.booking_api.app import lambda_handler
        from tools.local_api_gateway import build_event, proxy_answer

        all_headers = {"x-api-key": API_KEY, "Content-Type": "application/json", **(headers or {})}
        for route in self._routes:
            parameters = route.match(method, urlsplit(path).path)
            if parameters is not None:
                break
        else:
            raise ValueError(f"no route for {method} {path}")
        event = build_event(
            method=method,
            raw_path=path,
            headers=list(all_headers.items()),
            body=b"" if body is None else json.dumps(body).encode(),
            route=route,
            path_parameters=parameters,
            api_key=API_KEY,
        )
        try:
            status, answer_headers, payload = proxy_answer(lambda_handler(event, self._context))
        except Exception:  # what API Gateway answers when the function fails
            return 502, {}, None
        lowered = {name.lower(): values[-1] for name, values in answer_headers.items()}
        return status, lowered, json.loads(payload) if payload else None

    def close(self) -> None:
        from tour_booking import db

        db.close()


class Client:
    def __init__(
        self,
        index: int,
        api: HttpApi | HandlerApi,
        conversation_id: str,
        first_days: dict[str, date],
        seed: int,
    ) -> None:
        self.index = index
        self.api = api
        self.conversation_id = conversation_id
        self.first_days = first_days
        self.properties = sorted(first_days)
        self.rng = random.Random(seed * 1000 + index)  # noqa: S311 - load data, not secrets
        self.calls = {name: Calls() for name in CALL_TYPES}
        self.tours: dict[str, Told] = {}
        self.uncertain: set[str] = set()  # tours whose last change got no answer
        self.lost_answers = 0  # bookings that got no answer (a tour may exist that no client knows)
        self.replay_mismatches: list[str] = []
        self.nothing_free = 0

    def _timed(
        self, call_type: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        started = time.perf_counter()
        status, answer_headers, answer = self.api.call(method, path, body, headers)
        self.calls[call_type].add(status, time.perf_counter() - started)
        return status, answer_headers, answer

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.step()

    def step(self) -> None:
        mine = [
            tour_id for tour_id, told in self.tours.items() if told.status in ACTIVE and tour_id not in self.uncertain
        ]
        roll = self.rng.random()
        if roll < BROWSE:
            self.free_slots(self.rng.choice(self.properties))
        elif roll < BROWSE + BOOK or not mine:
            self.book()
        elif roll < BROWSE + BOOK + RESCHEDULE:
            self.reschedule(self.rng.choice(mine))
        else:
            self.cancel(self.rng.choice(mine))

    def free_slots(self, property_id: str) -> list[str]:
        first = self.first_days[property_id]
        status, _, answer = self._timed(
            "GET availability", "GET", f"/properties/{property_id}/availability?start_date={first}&days={WINDOW_DAYS}"
        )
        if status != 200:
            return []
        return [slot["start"] for day in answer["days"] for slot in day["slots"] if slot["remaining"] > 0]

    def book(self) -> None:
        property_id = self.rng.choice(self.properties)
        free = self.free_slots(property_id)
        if not free:
            self.nothing_free += 1
            return
        body = {
            "conversation_id": self.conversation_id,
            "property_id": property_id,
            "tour_type": "in_person",
            "scheduled_datetime": self.rng.choice(free),
            "prospect": {"first_name": "Load", "last_name": f"Client{self.index}", "email": "load@example.com"},
        }
        key = {"Idempotency-Key": str(uuid.UUID(int=self.rng.getrandbits(128)))}
        status, _, answer = self._timed("POST /tours", "POST", "/tours", body, key)
        if status == 0 or status >= 500:
            self.lost_answers += 1
            return
        if status != 201:
            return
        self._remember(answer)
        if self.rng.random() < REPLAY_SHARE:
            again, headers, replayed = self._timed("POST /tours (replay)", "POST", "/tours", body, key)
            if again != 201 or replayed["id"] != answer["id"] or headers.get("idempotent-replayed") != "true":
                self.replay_mismatches.append(answer["id"])

    def reschedule(self, tour_id: str) -> None:
        told = self.tours[tour_id]
        free = [start for start in self.free_slots(told.property_id) if _instant(start) != told.start]
        if not free:
            self.nothing_free += 1
            return
        self._patch("PATCH reschedule", tour_id, {"scheduled_datetime": self.rng.choice(free)})

    def cancel(self, tour_id: str) -> None:
        self._patch("PATCH cancel", tour_id, {"status": "cancelled"})

    def _patch(self, call_type: str, tour_id: str, body: dict[str, Any]) -> None:
        status, _, answer = self._timed(call_type, "PATCH", f"/tours/{tour_id}", body)
        if status == 200:
            self._remember(answer)
        elif status == 0 or status >= 500:
            self.uncertain.add(tour_id)

    def _remember(self, tour: dict[str, Any]) -> None:
        self.tours[tour["id"]] = Told(tour["property_id"], _instant(tour["scheduled_datetime"]), tour["status"])


class LeasingTeam:
    """Changes schedules during the load: grid, hours and capacity (raised only; see the module docstring)."""

    def __init__(self, api: HttpApi | HandlerApi, schedules: dict[str, dict[str, Any]], seed: int) -> None:
        self.api = api
        self.schedules = schedules
        self.raises: Counter[str] = Counter()
        self.rng = random.Random(seed)  # noqa: S311 - load data, not secrets
        self.calls = Calls()
        self.conflicts = 0

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.change()
            time.sleep(SCHEDULE_CHANGE_SECONDS)

    def change(self) -> None:
        property_id = self.rng.choice(sorted(self.schedules))
        schedule = dict(self.schedules[property_id])
        roll = self.rng.random()
        if roll < 0.4:
            schedule["slot_minutes"] = self.rng.choice([30, 45, 60])
        elif roll < 0.8 or self.raises[property_id] >= CAPACITY_RAISES:
            opens = self.rng.choice(["09:00", "09:30"])
            closes = "12:00" if opens == "09:00" else "12:30"
            schedule["weekly_hours"] = {day: [[opens, closes]] for day in ALL_DAYS}
        else:
            schedule["capacity"] += 1
            self.raises[property_id] += 1
        started = time.perf_counter()
        status, _, answer = self.api.call("PUT", f"/properties/{property_id}/tour-schedule", schedule)
        self.calls.add(status, time.perf_counter() - started)
        if status == 200:
            self.schedules[property_id] = schedule
            self.conflicts += len(answer["conflicts"])


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ------------------------------------------------------------------ the stack


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Sets variables the handler reads (its settings and boto3 client are rebuilt) and restores them after."""
    from tour_booking.settings import get_settings
    from tour_booking.sync import sync_queue

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    sync_queue._sqs.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        sync_queue._sqs.cache_clear()


@contextlib.contextmanager
def sqs_server_process() -> Iterator[str]:
    """moto's SQS server in a process of its own: inside this one it would share the interpreter lock with
    the clients, the gateway and the handlers, and every write's SendMessageBatch would queue behind them."""
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


class SyncQueueReader:
    """Consumes the sync queue as the event source mapping would (moto slows down as a queue grows), recording
    the (tour id, version) of every message instead of syncing it."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.versions: set[tuple[str, int]] = set()
        self.messages = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._consume, name="sync-queue-reader", daemon=True)
        self._thread.start()

    def _receive(self, wait_seconds: int) -> int:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = answer.get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            self.versions.add((str(body["tour_id"]), int(body["version"])))
        if messages:
            self.messages += len(messages)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(messages)

    def _consume(self) -> None:
        while not self._stop.is_set():
            self._receive(wait_seconds=1)

    def finish(self) -> set[tuple[str, int]]:
        """Stops consuming once the queue is empty; the versions of every message read."""
        self._stop.set()
        self._thread.join()
        while self._receive(wait_seconds=0):
            pass
        return self.versions


@dataclass
class LocalApi:
    url: str
    queue: SyncQueueReader | None


@contextlib.contextmanager
def local_api(database_url: str, api_concurrency: int, queue: bool = True) -> Iterator[LocalApi]:
    """moto's SQS server with the sync queues, and the API Gateway in front of `booking_api` containers."""
    from tools import local_stack
    from tools.local_sqs import MOTO_AWS_ENVIRONMENT, create_sync_queues, sqs_client

    aws = {
        **MOTO_AWS_ENVIRONMENT,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with contextlib.ExitStack() as stack:
        stack.enter_context(_environment(aws))
        reader = None
        if queue:
            sqs_url = stack.enter_context(sqs_server_process())
            sqs = sqs_client(sqs_url)
            queues = create_sync_queues(sqs, "tour-booking-sync-load", "tour-booking-sync-dlq-load")
            reader = SyncQueueReader(sqs, queues.url)
            queue_settings = {"SYNC_QUEUE_URL": queues.url, "AWS_ENDPOINT_URL": sqs_url}
        else:
            queue_settings = {"SYNC_QUEUE_URL": ""}
        stack.enter_context(_environment({"DATABASE_URL": database_url, **queue_settings}))
        yield LocalApi(local_stack.start_booking_api(stack, {API_KEY}, concurrency=api_concurrency), reader)


def _schedule(index: int) -> dict[str, Any]:
    return {
        "timezone": ZONES[index % len(ZONES)],
        "slot_minutes": 30,
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "capacity": 1 + index % 2,
        "tour_types": ["in_person", "virtual"],
        "weekly_hours": {day: [["09:00", "12:00"]] for day in ALL_DAYS},
        "blackouts": [],
        "horizon_days": 30,
    }


def _arrange(
    database_url: str, api: HttpApi, options: Options
) -> tuple[dict[str, date], list[str], int, dict[str, dict[str, Any]]]:
    """Properties with schedules (through the API), one conversation per client; their first days; the seats;
    the schedules."""
    import psycopg

    first_days: dict[str, date] = {}
    schedules: dict[str, dict[str, Any]] = {}
    seats = 0
    for index in range(options.properties):
        property_id = str(uuid.uuid4())
        schedule = _schedule(index)
        status, _, answer = api.call("PUT", f"/properties/{property_id}/tour-schedule", schedule)
        if status != 200:
            raise RuntimeError(f"PUT tour-schedule answered {status}: {answer}")
        tomorrow = datetime.now(UTC).astimezone(ZoneInfo(schedule["timezone"])).date() + timedelta(days=1)
        first_days[property_id] = tomorrow
        schedules[property_id] = schedule
        seats += schedule["capacity"] * 6 * WINDOW_DAYS
    with psycopg.connect(database_url, autocommit=True) as conn:
        conversations = [
            str(row[0])
            for row in conn.execute(
                b"INSERT INTO conversation (id) SELECT gen_random_uuid() FROM generate_series(1, %s) RETURNING id",
                (options.clients,),
            )
        ]
    return first_days, conversations, seats, schedules


def run(options: Options, database_url: str) -> Result:
    """Runs the load against a migrated database and checks it afterwards."""
    concurrency = options.api_concurrency or options.clients
    error_lines = _ErrorLines()
    with local_api(database_url, concurrency, options.queue) as stack, contextlib.redirect_stdout(error_lines):
        setup = HttpApi(stack.url)
        first_days, conversations, seats, schedules = _arrange(database_url, setup, options)
        setup.close()
        team = LeasingTeam(HandlerApi() if options.in_process else HttpApi(stack.url), schedules, options.seed)
        clients = [
            Client(
                index,
                HandlerApi() if options.in_process else HttpApi(stack.url),
                conversations[index],
                first_days,
                options.seed,
            )
            for index in range(options.clients)
        ]
        barrier = threading.Barrier(options.clients + 2)
        deadline = [0.0]

        def work(client: Client | LeasingTeam) -> None:
            barrier.wait()
            try:
                client.run(deadline[0])
            finally:
                client.api.close()

        threads = [threading.Thread(target=work, args=(client,), name=f"client-{client.index}") for client in clients]
        threads.append(threading.Thread(target=work, args=(team,), name="leasing-team"))
        for thread in threads:
            thread.start()
        deadline[0] = time.monotonic() + options.seconds
        started = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        checks = check(database_url, clients, stack, team)
    calls = {name: Calls() for name in CALL_TYPES}
    for client in clients:
        for name, recorded in client.calls.items():
            calls[name].merge(recorded)
    calls["PUT tour-schedule"].merge(team.calls)
    return Result(options, elapsed, calls, checks, seats, error_lines.lines, team.conflicts)


class _ErrorLines(io.TextIOBase):
    """Stdout during the load: the gateway's and the containers' line per request (the `make dev` log) is
    dropped; the handler's error log lines are kept for the report."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        thread = threading.get_ident()
        with self._lock:
            *complete, self._partial[thread] = (self._partial.get(thread, "") + text).split("\n")
            self.lines.extend(line for line in complete if '"level":"ERROR"' in line.replace(" ", ""))
        return len(text)


# ------------------------------------------------------------------ the checks


def check(database_url: str, clients: list[Client], stack: LocalApi, team: LeasingTeam) -> list[Check]:
    told: dict[str, Told] = {}
    uncertain: set[str] = set()
    for client in clients:
        told.update(client.tours)
        uncertain |= client.uncertain
    checks = database_checks(database_url, told, uncertain, sum(client.lost_answers for client in clients))
    if stack.queue is None:
        queue_check = Check("every tour's current version was queued for ResMan", True, "no queue", skipped=True)
    else:
        queued = stack.queue.finish()
        versions = tour_versions(database_url)
        unqueued = [tour_id for tour_id, version in versions.items() if (tour_id, version) not in queued]
        queue_check = Check(
            "every tour's current version was queued for ResMan",
            not unqueued,
            f"{stack.queue.messages} sync messages, {len(unqueued)} tours without their current version",
        )
    replay_mismatches = [tour_id for client in clients for tour_id in client.replay_mismatches]
    failed_calls = sum(
        count
        for calls in [*(c for client in clients for c in client.calls.values()), team.calls]
        for status, count in calls.statuses.items()
        if status == 0 or status >= 500
    )
    return [
        *checks,
        queue_check,
        Check("replays answered the first booking", not replay_mismatches, f"{len(replay_mismatches)} mismatches"),
        Check("no 5xx and no transport error", failed_calls == 0, f"{failed_calls} failed calls"),
    ]


def tour_versions(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return {
            str(tour_id): version for tour_id, version in conn.execute(b"SELECT id, version FROM tour_booking_sync")
        }


def database_checks(database_url: str, told: dict[str, Told], uncertain: set[str], lost_answers: int) -> list[Check]:
    """What the database holds against what the clients were told: overbooking, lost or unknown tours, the cache.
    `uncertain` tours got no answer to their last change; `lost_answers` bookings got no answer at all."""
    import psycopg

    from tests.booking_invariants import CACHED_REMAINING, FULL_SLOTS, OVERBOOKED

    with psycopg.connect(database_url, autocommit=True) as conn:
        overbooked = conn.execute(OVERBOOKED).fetchall()
        full_row = conn.execute(FULL_SLOTS).fetchone()
        cache_row = conn.execute(CACHED_REMAINING).fetchone()
        rows = {
            str(tour_id): (start, status)
            for tour_id, start, status in conn.execute(b"SELECT id, scheduled_datetime, status FROM tour_booking_sync")
        }
    assert full_row is not None and cache_row is not None
    missing = [tour_id for tour_id in told if tour_id not in rows]
    differing = [
        tour_id
        for tour_id, last in told.items()
        if tour_id in rows and tour_id not in uncertain and rows[tour_id] != (last.start, last.status)
    ]
    unknown = [tour_id for tour_id in rows if tour_id not in told]
    cached_slots, wrong_remaining = int(cache_row[0]), int(cache_row[1])
    return [
        Check(
            "no instant holds more active tours than the property's capacity",
            not overbooked,
            f"{len(overbooked)} instants over capacity; {full_row[0]} tour starts full at the end",
        ),
        Check(
            "every tour answered 201 exists with the start and status last answered",
            not missing and not differing,
            f"{len(told)} tours answered 201: {len(missing)} missing, {len(differing)} differing"
            + (f", {len(uncertain)} left unchecked after an unanswered change" if uncertain else ""),
        ),
        Check(
            "no tour exists that no client was answered 201 for",
            len(unknown) <= lost_answers,
            f"{len(unknown)} unknown tours ({lost_answers} bookings got no answer)",
        ),
        Check(
            "cached remaining = capacity - peak occupancy, every cached slot",
            wrong_remaining == 0 and cached_slots > 0,
            f"{cached_slots} cached slots, {wrong_remaining} wrong",
        ),
    ]


# ------------------------------------------------------------------ the report


def percentile(samples: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def report(result: Result) -> str:
    options = result.options
    total = sum(len(calls.seconds) for calls in result.calls.values())
    transport = (
        "the handler called in each client's thread"
        if options.in_process
        else f"HTTP through the local API Gateway to {options.api_concurrency or options.clients} warm containers"
    )
    lines = [
        f"{options.clients} clients x {result.elapsed:.0f} s x {options.properties} properties "
        f"({result.seats} seats over {WINDOW_DAYS} days, capacity 1-2), {transport}, "
        f"{'SQS on moto (its own process)' if options.queue else 'no SQS (syncs left to the sweeper)'}: "
        f"{total} calls, {total / result.elapsed:.0f} calls/s; the schedule changes reported "
        f"{result.schedule_conflicts} conflicts",
        "",
        "| call | count | statuses | p50 ms | p99 ms |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for name, calls in result.calls.items():
        if not calls.seconds:
            lines.append(f"| {name} | 0 | | | |")
            continue
        statuses = ", ".join(f"{status} x {count}" for status, count in sorted(calls.statuses.items()))
        p50, p99 = percentile(calls.seconds, 0.50) * 1000, percentile(calls.seconds, 0.99) * 1000
        lines.append(f"| {name} | {len(calls.seconds)} | {statuses} | {p50:.1f} | {p99:.1f} |")
    lines += ["", "| check | result |", "| --- | --- |"]
    for item in result.checks:
        verdict = "skipped" if item.skipped else "pass" if item.passed else "FAIL"
        lines.append(f"| {item.name} | {verdict}: {item.detail} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.load_mix", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--properties", type=int, default=defaults.properties)
    parser.add_argument("--api-concurrency", type=int, default=None, help="warm containers (default: --clients)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--in-process", action="store_true", help="call the handler in each client's thread instead of over HTTP"
    )
    parser.add_argument(
        "--no-queue", action="store_true", help="no SQS: the SendMessageBatch after each write is left out"
    )
    args = parser.parse_args(argv)
    return Options(
        args.clients,
        args.seconds,
        args.properties,
        args.api_concurrency,
        args.in_process,
        not args.no_queue,
        args.seed,
    )


def soak(argv: list[str] | None = None) -> int:
    """The command line (not `main`: `make bench` runs every module's `main`, and a soak is not a benchmark)."""
    options = parse_args(argv)
    from tests.database import SQL_DIR, scratch_database
    from tools.embedded_postgres import database_url
    from tour_booking.db.migrations import apply_migrations

    with database_url() as server, scratch_database(server) as url:
        apply_migrations(url, SQL_DIR)
        result = run(options, url)
    print(report(result))
    for line in result.error_logs[:20]:
        print(f"handler error log: {line}", file=sys.stderr)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(soak(sys.argv[1:]))
