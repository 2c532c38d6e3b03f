"""`make dev` end to end: the stack started as `make dev` starts it, then driven over HTTP only.

A tour goes from DomIQ's request through the queue to the ResMan double, ResMan's staff mark a Show, the
refresh brings it back as `completed`; then Ctrl-C leaves no process behind (the database server included).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROPERTY_ID = "5f0c8a4e-0d6f-4a36-9a59-2d1c5e7b9a01"  # tools.demo_data's, as a user reads it from the banner
CONVERSATION_ID = "c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a40"
START_TIMEOUT = 45
T = TypeVar("T")


class ResmanDouble:
    """The ResMan double's test-only controls, over HTTP."""

    def __init__(self, url: str | None) -> None:
        if not url:
            pytest.skip("the stack runs without the ResMan double (tools/resman_double has not landed)")
        self.url = url

    def prospects(self) -> list[dict[str, Any]]:
        status, body = call("GET", f"{self.url}/__double__/prospects")
        assert status == 200, body
        prospects: list[dict[str, Any]] = body["prospects"]
        return prospects

    def appointment(self, email: str, at: datetime) -> dict[str, Any] | None:
        """The guest card with `email` once it holds an appointment event at `at` (UTC), else None."""
        for prospect in self.prospects():
            if prospect["email"] != email:
                continue
            for event in prospect["events"]:
                if event["event_type"] == "Appointment" and datetime.fromisoformat(event["event_date"]) == at:
                    return prospect
        return None

    def guest_cards(self, email: str) -> int:
        return sum(1 for prospect in self.prospects() if prospect["email"] == email)

    def mark_show(self, prospect_id: str, at: datetime) -> None:
        """Staff record the Show when the tour happens: the double's clock moves to `at` first."""
        assert call("POST", f"{self.url}/__double__/clock", {"now": at.isoformat()})[0] == 200
        status, body = call("POST", f"{self.url}/__double__/outcome", {"prospect_id": prospect_id, "outcome": "Show"})
        assert status == 200, body


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    state: dict[str, Any]
    log: Path

    @property
    def api(self) -> str:
        return str(self.state["api_url"])

    @property
    def key(self) -> str:
        return str(self.state["api_key"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    return status, json.loads(raw) if raw else None


def wait_for(what: str, probe: Callable[[], T | None], stack: Stack, timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the stack exited while waiting for {what}:\n{stack.output()}")
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}:\n{stack.output()}")


def start_stack(tmp_path: Path, name: str = "dev") -> Stack:
    """`make dev` (python -m tools.dev) on free ports with its own embedded database, once it answers."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEV_", "DATABASE_URL"))}
    env["PYTHONPATH"] = f"{ROOT / 'layers' / 'shared'}{os.pathsep}{ROOT}"
    log = tmp_path / f"{name}.log"
    command = [
        sys.executable, "-m", "tools.dev",
        "--api-port", str(free_port()),
        "--resman-port", str(free_port()),
        "--sqs-port", str(free_port()),
        "--refresh-seconds", "2",
        "--sweep-seconds", "5",
        "--state-dir", str(tmp_path / "state"),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    running = Stack(process, {}, log)
    state_file = tmp_path / "state" / "state.json"

    def ready() -> dict[str, Any] | None:
        if not state_file.exists():
            return None
        state: dict[str, Any] = json.loads(state_file.read_text())
        if state.get("pid") != process.pid:
            return None
        return state if call("GET", f"{state['api_url']}/health")[0] == 200 else None

    try:
        running.state = wait_for("the stack to start", ready, running, START_TIMEOUT)
    except BaseException:
        stop_stack(running)
        raise
    return running


def stop_stack(stack: Stack) -> None:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(20)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path)
    try:
        yield running
    finally:
        stop_stack(running)


def zone_far_from_midnight() -> str:
    """A zone whose local time is now between 06:00 and 18:00: a day's last slot ends at 23:45, so near
    local midnight the next free slot would be half an hour away."""
    hour = datetime.now(UTC).hour
    return "UTC" if 6 <= hour < 18 else "Etc/GMT-12"  # POSIX sign: Etc/GMT-12 is UTC+12


def test_make_dev_books_a_tour_that_reaches_resman_and_comes_back_completed(stack: Stack) -> None:
    auth = {"x-api-key": stack.key}
    # the API key is required, as in API Gateway
    assert call("GET", f"{stack.api}/properties/{PROPERTY_ID}/availability")[0] == 403

    # given the demo property open around the clock in 15-minute slots, without notice: the tour booked below
    # starts within minutes, so a Show can complete it (a tour is completed only once it has started, or up to
    # 30 minutes before with a check-in)
    status, schedule = call("GET", f"{stack.api}/properties/{PROPERTY_ID}/tour-schedule", headers=auth)
    assert status == 200, schedule
    around_the_clock = {day: [["00:00", "23:45"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    schedule.update(
        timezone=zone_far_from_midnight(), slot_minutes=15, min_notice_minutes=0, weekly_hours=around_the_clock
    )
    status, saved = call("PUT", f"{stack.api}/properties/{PROPERTY_ID}/tour-schedule", schedule, headers=auth)
    assert status == 200, saved

    # when DomIQ reads the availability of the demo property
    status, availability = call("GET", f"{stack.api}/properties/{PROPERTY_ID}/availability?days=2", headers=auth)
    assert status == 200, availability
    soon = datetime.now(UTC) + timedelta(minutes=2)
    slot = next(
        slot
        for day in availability["days"]
        for slot in day["slots"]
        if slot["remaining"] > 0 and datetime.fromisoformat(slot["start"]) >= soon
    )
    assert datetime.fromisoformat(slot["start"]) < soon + timedelta(minutes=20)

    # and books the first free slot a couple of minutes ahead
    tour_request = {
        "conversation_id": CONVERSATION_ID,
        "property_id": PROPERTY_ID,
        "tour_type": "in_person",
        "scheduled_datetime": slot["start"],
        "prospect": {"first_name": "Ada", "last_name": "Lovelace", "email": f"ada-{uuid.uuid4().hex[:8]}@example.com"},
    }
    booking_headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    status, tour = call("POST", f"{stack.api}/tours", tour_request, booking_headers)
    assert status == 201, tour
    assert tour["status"] == "scheduled"

    # then the sync brings the guest card and the appointment (in UTC) to the ResMan double
    appointment_utc = datetime.fromisoformat(slot["start"]).astimezone(UTC)
    resman = ResmanDouble(stack.state.get("resman_url"))
    email = tour_request["prospect"]["email"]
    prospect = wait_for(
        "the appointment in the ResMan double", lambda: resman.appointment(email, appointment_utc), stack
    )

    def synced() -> dict[str, Any] | None:
        answer = call("GET", f"{stack.api}/tours/{tour['id']}", headers=auth)[1]
        return answer if answer["sync_status"] == "success" else None

    synced_tour = wait_for("the tour to be synced", synced, stack)
    assert synced_tour["resman_prospect_id"] == prospect["prospect_id"]
    assert synced_tour["resman_appointment_id"]
    assert resman.guest_cards(email) == 1

    # when ResMan's staff mark the tour shown, at its time (the prospect checked in early: the tour has begun)
    resman.mark_show(prospect["prospect_id"], appointment_utc + timedelta(minutes=5))

    # then the next refresh makes the tour completed
    def completed() -> dict[str, Any] | None:
        answer = call("GET", f"{stack.api}/tours/{tour['id']}", headers=auth)[1]
        return answer if answer["status"] == "completed" else None

    wait_for("the tour to be completed", completed, stack)

    # and the same Idempotency-Key with the same body answers the first answer again
    replay_status, replay = call("POST", f"{stack.api}/tours", tour_request, booking_headers)
    assert (replay_status, replay) == (201, tour)


def test_a_second_make_dev_is_refused_and_ctrl_c_stops_every_part_leaving_no_process(
    stack: Stack, tmp_path: Path
) -> None:
    # given the running stack: a second one on the same state directory says so and exits
    env = {name: value for name, value in os.environ.items() if not name.startswith("DEV_")}
    env["PYTHONPATH"] = f"{ROOT / 'layers' / 'shared'}{os.pathsep}{ROOT}"
    second = subprocess.run(
        [sys.executable, "-m", "tools.dev", "--state-dir", str(tmp_path / "state")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 1
    assert f"already running (pid {stack.process.pid}" in second.stderr

    # given every process the stack started
    root = psutil.Process(stack.process.pid)
    started = [root, *root.children(recursive=True)]
    postgres_pid = stack.state["postgres_pid"]
    data_dir = stack.state["postgres_data_dir"]
    started.append(psutil.Process(postgres_pid))
    started.extend(started[-1].children(recursive=True))
    assert psutil.pid_exists(postgres_pid)

    # when it gets SIGINT (Ctrl-C)
    stack.process.send_signal(signal.SIGINT)
    code = stack.process.wait(30)

    # then it exits cleanly, and neither it, nor the database server, nor anything they started is left
    assert code == 0, stack.output()
    _, alive = psutil.wait_procs(started, timeout=5)
    assert alive == [], alive
    leftovers = [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if any(data_dir in part for part in process.info["cmdline"] or [])
    ]
    assert leftovers == []
    assert not Path(data_dir).exists()
    assert "stopped" in stack.output()


def test_a_stack_killed_with_sigkill_has_its_database_server_stopped_by_the_next_one(tmp_path: Path) -> None:
    # given a stack killed without a chance to clean up: its database server outlives it
    killed = start_stack(tmp_path, "killed")
    orphan = psutil.Process(killed.state["postgres_pid"])
    killed.process.kill()
    killed.process.wait()
    assert orphan.is_running()
    # when the next `make dev` starts on the same state directory
    successor = start_stack(tmp_path, "successor")
    try:
        # then the orphaned server is gone, and the new stack runs its own
        assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
        assert not Path(killed.state["postgres_data_dir"]).exists()
        assert successor.state["postgres_pid"] != killed.state["postgres_pid"]
    finally:
        stop_stack(successor)
    assert successor.process.returncode == 0
