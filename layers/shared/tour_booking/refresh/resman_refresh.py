"""The scheduled cache refresh: for every active property, read what changed in ResMan since its watermark,
reconcile our tours with it (refresh.outcome_reconciliation: outcomes, no-shows, staff-booked appointments),
and recompute the cached slots of the coming days.

Two ways to run it:
- spread over the refresh queue (REFRESH_QUEUE_URL set, as template.yaml deploys it): the schedule only
  queues batches of properties, one ResMan account per batch (`enqueue_all`, tour_booking.refresh.refresh_queue), and
  the refresh worker refreshes each batch it receives (`refresh_batches`), at most
  RESMAN_MAX_CONCURRENCY_PER_ACCOUNT properties of one account at once;
- in one invocation (`refresh_all`, no queue: `sam local invoke`, the tests): every active property,
  REFRESH_CONCURRENCY threads at once.
Either way each property goes through `refresh_property`, with the same watermarks, and one property's failure
is recorded in its result and never stops the others. Each thread keeps its own database connection.

Per property:
1. ResMan (only with ResMan ids): SearchProspects by modified window, from the watermark to now (plus
   REFRESH_WINDOW_LOOKAHEAD_MINUTES: ResMan's clock stamps the modified dates, and one running ahead of ours must
   not hide a change). A window ResMan finds too wide (`buffer overflow`) is halved, down to
   REFRESH_MIN_WINDOW_SECONDS. Each window's changes and the watermark move to (min(window end, now) -
   REFRESH_WINDOW_OVERLAP_MINUTES) commit together, so a failure mid-run keeps everything read before it and
   the next run resumes from there; the overlap re-reads the edges, which is harmless since applying the same
   prospect twice changes nothing.
2. No-shows (the rule in domain.tour_outcomes), once ResMan has been read up to now.
3. Slots: the next REFRESH_HORIZON_DAYS local days, and the later days already cached (availability filled
   them on demand), recomputed from the schedule as it is under the property's occupancy lock and the occupancy
   rule, and upserted in one statement; past days dropped. This runs even when ResMan failed: our own tours
   are known either way.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import (
    availability_cache_repository,
    holds_repository,
    idempotency_repository,
    occupancy_repository,
    schedules_repository,
    staff_appointments_repository,
    watermarks_repository,
)
from tour_booking.domain import slot_layouts
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import local_today
from tour_booking.domain.tour_outcomes import GuestCardLike
from tour_booking.refresh import outcome_reconciliation
from tour_booking.refresh.prospect_source import ProspectSource, WindowTooWideError
from tour_booking.run_reports import duration, report_dict
from tour_booking.settings import Settings, get_settings

logger = Logger(child=True)


@dataclass
class PropertyResult:
    property_id: UUID
    ok: bool = True
    error: str | None = None
    resman_polled: bool = False
    windows: int = 0
    prospects: int = 0
    completed: int = 0
    cancelled: int = 0
    no_show: int = 0
    staff_appointments_changed: int = 0
    days: int = 0
    seconds: float = duration(digits=4)

    def as_dict(self) -> dict[str, Any]:
        return report_dict(self)

    def count(self, reconciled: outcome_reconciliation.Reconciled) -> None:
        self.completed += reconciled.completed
        self.cancelled += reconciled.cancelled
        self.no_show += reconciled.no_show
        self.staff_appointments_changed += reconciled.staff_appointments_changed


@dataclass
class RefreshReport:
    seconds: float = duration(digits=3)
    expired_idempotency_keys: int = 0
    expired_holds: int = 0
    results: list[PropertyResult] = field(default_factory=list)

    @property
    def failed(self) -> list[PropertyResult]:
        return [r for r in self.results if not r.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"properties": len(self.results), "failed": len(self.failed), **report_dict(self)}


def _error_text(error: BaseException) -> str:
    # Class and message only: the ResMan client's and psycopg's messages carry ids, never prospect details.
    return f"{type(error).__name__}: {error}"[:500]


@lru_cache(maxsize=4)
def _executor(workers: int) -> ThreadPoolExecutor:
    """Kept for the container's life: each worker thread keeps its database connection between runs."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cache-refresh")


def refresh_all(source: ProspectSource | None, now: datetime | None = None) -> RefreshReport:
    """Refreshes every active property; never raises for one property's failure (see RefreshReport.failed)."""
    settings = get_settings()
    started = time.perf_counter()
    at = now or datetime.now(UTC)
    with db.transaction() as conn:
        properties = schedules_repository.list_active_schedules(conn)
        # Housekeeping rides on the schedule: replays past their TTL are already ignored, this bounds the table.
        expired_keys = idempotency_repository.delete_expired(conn, at)
        # Expired holds already occupy nothing (sql/060); this only bounds the table.
        expired_holds = holds_repository.delete_expired(conn)
    # Each task runs in a copy of this context: the container's settings (see tour_booking.settings) go along.
    futures = [
        _executor(settings.refresh_concurrency).submit(
            contextvars.copy_context().run, refresh_property, pid, schedule, source, settings, at
        )
        for pid, schedule in properties
    ]
    report = RefreshReport(
        results=[f.result() for f in futures], expired_idempotency_keys=expired_keys, expired_holds=expired_holds
    )
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class EnqueueReport:
    properties: int = 0
    accounts: int = 0
    batches: int = 0
    unsent_batches: int = 0
    expired_idempotency_keys: int = 0
    seconds: float = duration(digits=3)

    def as_dict(self) -> dict[str, Any]:
        return report_dict(self)


def enqueue_all(queue_url: str, now: datetime | None = None) -> EnqueueReport:
    """The schedule's part: every active property queued in batches of REFRESH_BATCH_PROPERTIES, one ResMan
    account per batch. A batch that could not be sent is reported; the next run covers its properties."""
    from tour_booking.refresh import refresh_queue  # noqa: PLC0415 - the inline refresh needs no queue

    settings = get_settings()
    started = time.perf_counter()
    at = now or datetime.now(UTC)
    with db.transaction() as conn:
        targets = schedules_repository.list_active_accounts(conn)
        expired_keys = idempotency_repository.delete_expired(conn, at)
    batches = refresh_queue.plan_batches(targets, settings.refresh_batch_properties, at)
    unsent = refresh_queue.send_batches(queue_url, batches)
    return EnqueueReport(
        properties=len(targets),
        accounts=len({b.account_id for b in batches if b.account_id}),
        batches=len(batches),
        unsent_batches=len(unsent),
        expired_idempotency_keys=expired_keys,
        seconds=time.perf_counter() - started,
    )


class _PerAccountPool:
    """Runs tasks on `workers` threads, at most `per_account` of one account at a time; a thread never waits
    on a busy account while another account has work (the tasks of one account start in the order given)."""

    def __init__(self, workers: int, per_account: int) -> None:
        self.workers, self.per_account = workers, per_account

    def run(self, tasks: Sequence[tuple[str | None, Any]]) -> list[Any]:
        results: list[Any] = [None] * len(tasks)
        pending: dict[str | None, list[int]] = {}
        for index, (account, _) in enumerate(tasks):
            pending.setdefault(account, []).append(index)
        running: dict[str | None, int] = {}
        condition = threading.Condition()

        def next_task() -> int | None:
            with condition:
                while True:
                    if not any(pending.values()):
                        return None
                    for account, queue in pending.items():
                        # Properties without a ResMan account call nobody: no bound but the threads.
                        if queue and (account is None or running.get(account, 0) < self.per_account):
                            running[account] = running.get(account, 0) + 1
                            return queue.pop(0)
                    condition.wait()

        def work() -> None:
            while (index := next_task()) is not None:
                account, task = tasks[index]
                try:
                    results[index] = task()
                finally:
                    with condition:
                        running[account] -= 1
                        condition.notify_all()

        threads = min(self.workers, len(tasks))
        futures = [_executor(self.workers).submit(contextvars.copy_context().run, work) for _ in range(threads)]
        for future in futures:
            future.result()
        return results


def refresh_batches(
    batches: Sequence[Sequence[UUID]], source: ProspectSource | None, now: datetime | None = None
) -> list[list[PropertyResult]]:
    """The worker's part: each batch's properties refreshed (those no longer active skipped), REFRESH_CONCURRENCY
    threads at once and at most RESMAN_MAX_CONCURRENCY_PER_ACCOUNT properties of one ResMan account; the results
    per batch, in order. Never raises for a property's failure."""
    settings = get_settings()
    at = now or datetime.now(UTC)
    with db.transaction() as conn:
        schedules = dict(schedules_repository.active_schedules_of(conn, [p for batch in batches for p in batch]))
    tasks: list[tuple[str | None, Any]] = []
    owners: list[int] = []
    for number, batch in enumerate(batches):
        for pid in batch:
            if pid in schedules:
                schedule = schedules[pid]
                tasks.append(
                    (
                        schedule.resman_account_id,
                        functools.partial(refresh_property, pid, schedule, source, settings, at),
                    )
                )
                owners.append(number)
    pool = _PerAccountPool(settings.refresh_concurrency, settings.resman_max_concurrency_per_account)
    answer: list[list[PropertyResult]] = [[] for _ in batches]
    for owner, result in zip(owners, pool.run(tasks), strict=True):
        answer[owner].append(result)
    return answer


def refresh_property(
    property_id: UUID, schedule: TourSchedule, source: ProspectSource | None, settings: Settings, now: datetime
) -> PropertyResult:
    """Refreshes one property; every failure ends in the result, none propagates."""
    run = _PropertyRun(property_id, schedule, settings, now, PropertyResult(property_id))
    result = run.result
    started = time.perf_counter()
    try:
        if source is not None and schedule.resman_account_id and schedule.resman_property_id:
            try:
                _pull_resman(run, source)
            except Exception as error:  # any ResMan or database failure fails this property only
                result.ok, result.error = False, _error_text(error)
                _record_pull_error(property_id, settings, now, result.error)
        result.days = _refresh_slots(run)
    except Exception as error:
        result.ok = False
        result.error = "; ".join(filter(None, [result.error, _error_text(error)]))
    result.seconds = time.perf_counter() - started
    return result


def _record_pull_error(property_id: UUID, settings: Settings, now: datetime, error: str) -> None:
    try:
        with db.transaction() as conn:
            watermarks_repository.record_error(conn, property_id, error, _initial_watermark(settings, now))
    except Exception as nested:  # the result already holds the failure; the database may be what failed
        logger.warning(
            "pull error not recorded", extra={"property_id": str(property_id), "error": type(nested).__name__}
        )


def _initial_watermark(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.refresh_initial_lookback_days)


def windows(
    source: ProspectSource,
    *,
    account_id: str,
    resman_property_id: str,
    start: datetime,
    end: datetime,
    minimum: timedelta,
) -> Iterator[tuple[datetime, Sequence[GuestCardLike]]]:
    """(window end, prospects) for consecutive windows covering [start, end) in time order; a window ResMan
    finds too wide is split in halves, until a half would be shorter than `minimum`."""
    pending = [(start, end)]
    while pending:
        low, high = pending.pop(0)
        try:
            prospects = source.search_prospects_modified(account_id, resman_property_id, low, high)
        except WindowTooWideError:
            if high - low < 2 * minimum:
                raise
            middle = low + (high - low) / 2
            pending[0:0] = [(low, middle), (middle, high)]
            continue
        yield high, prospects


@dataclass(frozen=True)
class _PropertyRun:
    property_id: UUID
    schedule: TourSchedule
    settings: Settings
    now: datetime
    result: PropertyResult

    @property
    def today_utc(self) -> datetime:
        """The start of the property's local today: staff appointments before it block nothing any more."""
        today = local_today(self.schedule, self.now)
        return datetime.combine(today, datetime.min.time(), tzinfo=self.schedule.zone).astimezone(UTC)


def _pull_resman(run: _PropertyRun, source: ProspectSource) -> None:
    schedule, settings, now = run.schedule, run.settings, run.now
    if schedule.resman_account_id is None or schedule.resman_property_id is None:
        raise ValueError("the property has no ResMan ids")
    with db.transaction() as conn:
        since = watermarks_repository.get_modified_since(conn, run.property_id)
    start = since if since is not None else _initial_watermark(settings, now)
    overlap = timedelta(minutes=settings.refresh_window_overlap_minutes)
    for window_end, prospects in windows(
        source,
        account_id=schedule.resman_account_id,
        resman_property_id=schedule.resman_property_id,
        start=start,
        end=now + timedelta(minutes=settings.refresh_window_lookahead_minutes),
        minimum=timedelta(seconds=settings.refresh_min_window_seconds),
    ):
        run.result.windows += 1
        run.result.prospects += len(prospects)
        with db.transaction() as conn:
            run.result.count(
                outcome_reconciliation.apply_resman_outcomes(
                    conn, run.property_id, prospects, settings=settings, now=now, today_utc=run.today_utc
                )
            )
            watermarks_repository.advance(conn, run.property_id, max(start, min(window_end, now) - overlap), now)
    with db.transaction() as conn:
        run.result.count(outcome_reconciliation.apply_no_shows(conn, run.property_id, settings, now))
    run.result.resman_polled = True


def _refresh_slots(run: _PropertyRun) -> int:
    """Recomputes and stores the property's days in one transaction (pipeline mode). The occupancy lock comes
    first and the schedule is read after it: a booking or a schedule change committed before the lock is in
    what is written, one after it waits and then corrects (trigger of sql/050) or drops (put_schedule) it."""
    now, property_id = run.now, run.property_id
    with db.transaction(pipeline=True) as conn:
        occupancy_repository.lock(conn, property_id)
        schedule = schedules_repository.get_schedule(conn, property_id)
        if schedule is None:
            return 0
        today = local_today(schedule, now)
        days = [today + timedelta(days=i) for i in range(run.settings.refresh_horizon_days)]
        # Days past the refresh horizon that availability cached on demand are refreshed too, so that
        # `stale` keeps meaning "not refreshed lately" for every cached day.
        days += availability_cache_repository.cached_dates_between(
            conn, property_id, days[-1] + timedelta(days=1), today + timedelta(days=schedule.horizon_days)
        )
        availability_cache_repository.delete_days_before(conn, property_id, today)
        staff_appointments_repository.forget_our_own(conn, property_id, run.today_utc)
        peaks = occupancy_repository.slot_peaks(
            conn, property_id, slot_layouts.slot_bounds(schedule, days, now), count_holds=False
        )
        availability_cache_repository.upsert_days_json(
            conn, property_id, slot_layouts.days_json(schedule, days, peaks, now), now
        )
    return len(days)
