"""EventBridge schedules, locally: each job invokes its function at a fixed rate (and once at start).

A job runs in its own thread and never overlaps itself, as the cache refresh's reserved concurrency of 1
guarantees in AWS; a tick that comes while the previous run is still going is skipped, not queued.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tools.local_lambda import ACCOUNT_ID, REGION, FunctionError
from tools.local_logs import set_part

logger = logging.getLogger("tools.local_scheduler")


def scheduled_event(rule_name: str, now: datetime | None = None) -> dict[str, Any]:
    """The event of an EventBridge rule with a schedule expression ("Scheduled Event")."""
    moment = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


@dataclass
class Job:
    name: str
    part: str
    invoke: Callable[[Any], Any]
    every_seconds: float
    make_event: Callable[[], Any]
    run_at_start: bool = True


class LocalScheduler:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._stopping = threading.Event()
        self._wake = {job.name: threading.Event() for job in jobs}
        self.runs = {job.name: 0 for job in jobs}
        self._threads = [
            threading.Thread(target=self._loop, args=(job,), name=f"schedule-{job.name}", daemon=True) for job in jobs
        ]

    def start(self) -> None:
        for job, thread in zip(self.jobs, self._threads, strict=True):
            set_part(job.part, thread)
            thread.start()

    def trigger(self, name: str) -> None:
        """Runs the job now (after its current run, if one is going), then on its rate again."""
        self._wake[name].set()

    def stop(self, wait_seconds: float = 10) -> None:
        self._stopping.set()
        for wake in self._wake.values():
            wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(wait_seconds)

    def _loop(self, job: Job) -> None:
        wake = self._wake[job.name]
        if not job.run_at_start:
            wake.wait(job.every_seconds)
        while not self._stopping.is_set():
            wake.clear()
            self._run(job)
            wake.wait(job.every_seconds)

    def _run(self, job: Job) -> None:
        try:
            result = job.invoke(job.make_event())
        except FunctionError as error:
            # EventBridge Scheduler's RetryPolicy in the template is 0 retries: the next tick tries again.
            logger.warning("%s failed: %s", job.name, error)
        except Exception:
            logger.exception("%s could not be invoked", job.name)
        else:
            print(f"{job.name} done: {_summary(result)}")
        self.runs[job.name] += 1


def _summary(result: Any) -> str:
    text = repr(result)
    return text if len(text) <= 300 else text[:297] + "..."
