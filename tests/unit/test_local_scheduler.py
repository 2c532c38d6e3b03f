"""The local EventBridge schedules: the event shape, the first run at start, the rate, no overlap."""

from __future__ import annotations

import threading
import time
from typing import Any

from tools.local_scheduler import Job, LocalScheduler, scheduled_event


def test_a_scheduled_event_has_eventbridges_shape() -> None:
    event = scheduled_event("cache-refresh")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
    assert event["resources"][0].endswith(":rule/cache-refresh")
    assert event["time"].endswith("Z")


def test_a_job_runs_at_start_then_at_its_rate_and_never_overlaps_itself() -> None:
    # given a job every 0.1 s whose run takes 0.25 s
    running = threading.Lock()
    overlaps: list[bool] = []
    events: list[Any] = []

    def invoke(event: Any) -> None:
        overlaps.append(not running.acquire(blocking=False))
        events.append(event)
        time.sleep(0.25)
        running.release()

    scheduler = LocalScheduler([Job("refresh", "refresh", invoke, 0.1, lambda: scheduled_event("r"))])
    # when it runs for about 0.6 s
    scheduler.start()
    time.sleep(0.6)
    scheduler.stop()
    # then it ran at once, again after each run, and never twice at the same time
    assert 2 <= len(events) <= 3
    assert not any(overlaps)
    assert all(event["detail-type"] == "Scheduled Event" for event in events)


def test_a_job_without_run_at_start_waits_for_its_rate_and_trigger_runs_it_now() -> None:
    calls: list[Any] = []
    scheduler = LocalScheduler([Job("sweep", "sync", calls.append, 60, lambda: {"sweep": True}, run_at_start=False)])
    scheduler.start()
    time.sleep(0.2)
    assert calls == []
    scheduler.trigger("sweep")
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    scheduler.stop()
    assert calls == [{"sweep": True}]


def test_a_failing_run_does_not_stop_the_schedule() -> None:
    calls: list[int] = []

    def invoke(event: Any) -> None:
        calls.append(1)
        raise RuntimeError("ResMan down")

    scheduler = LocalScheduler([Job("refresh", "refresh", invoke, 0.05, dict)])
    scheduler.start()
    time.sleep(0.3)
    scheduler.stop()
    assert len(calls) >= 3
