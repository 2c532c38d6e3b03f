"""Benchmark of the refresh spread over the queue (`make bench`; not a test).

10,000 properties x 14 days (BENCH_QUEUE_PROPERTIES) over 100 ResMan accounts, each with a few tours, as
bench/cache_refresh.py seeds them, in PostgreSQL (an embedded server when DATABASE_URL is unset). The schedule's
handler queues the batches on moto's SQS server, run in a process of its own so that it does not share this one's
GIL with the workers (the template's FIFO refresh queue, one message group per account);
BENCH_QUEUE_WORKERS pollers (Lambda's concurrent workers, default 4; the template allows RefreshWorkerConcurrency, 10)
invoke the refresh worker's handler with batches of 10 messages and honour `batchItemFailures`; they poll from
before the schedule runs, as Lambda's event source mapping does. ResMan answers every SearchProspects after 100 ms
(BENCH_RESMAN_LATENCY_MS), in process, counting the calls in flight per account.

The workers are threads of this one process, so they share one pool of REFRESH_CONCURRENCY threads (in Lambda
each container has its own): the pool gets 8 threads per worker, each with its own database connection.
Each pass (BENCH_QUEUE_PASSES: the first on an empty cache, then steady state, as every 15 minutes) reports the
schedule's time, the time until every property is refreshed, properties per second, and the most ResMan calls
observed in flight on one account, which must stay within RESMAN_MAX_CONCURRENCY_PER_ACCOUNT (2): the bench fails
otherwise. A line on stderr every BENCH_QUEUE_PROGRESS_SECONDS (15) shows a pass's progress.
"""

# ruff: noqa: PLC0415  - imports follow the environment this benchmark sets up
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

PER_ACCOUNT = 2
PASSES = ("first pass (empty cache)", "second pass (steady state, every 15 minutes)")


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from bench.cache_refresh import ACCOUNTS, _seed
    from bench.database import scratch_database
    from tests.fakes import ConcurrencyProbe
    from tools.local_sqs import MOTO_AWS_ENVIRONMENT, create_refresh_queues, sqs_client
    from tour_booking import db
    from tour_booking.refresh import refresh_queue
    from tour_booking.settings import get_settings

    properties = int(os.environ.get("BENCH_QUEUE_PROPERTIES", "10000"))
    workers = int(os.environ.get("BENCH_QUEUE_WORKERS", "4"))
    latency = int(os.environ.get("BENCH_RESMAN_LATENCY_MS", "100")) / 1000
    passes = PASSES[: int(os.environ.get("BENCH_QUEUE_PASSES", "2"))]
    try:
        with scratch_database() as url, _moto_server() as endpoint:
            os.environ.update(MOTO_AWS_ENVIRONMENT)
            os.environ.update(
                AWS_ENDPOINT_URL=endpoint,
                REFRESH_HORIZON_DAYS="14",
                REFRESH_BATCH_PROPERTIES="10",
                REFRESH_CONCURRENCY=str(8 * workers),
                RESMAN_MAX_CONCURRENCY_PER_ACCOUNT=str(PER_ACCOUNT),
            )
            suffix = uuid.uuid4().hex[:8]
            queues = create_refresh_queues(sqs_client(), f"bench-refresh-{suffix}.fifo", f"bench-dlq-{suffix}.fifo")
            os.environ["REFRESH_QUEUE_URL"] = queues.url
            refresh_queue._sqs.cache_clear()
            get_settings.cache_clear()
            _seed(url, properties)
            _analyze(url)
            print(
                f"{properties} properties over {ACCOUNTS} ResMan accounts, {workers} workers x 8 threads, ResMan at "
                f"{latency * 1000:.0f} ms per call, RESMAN_MAX_CONCURRENCY_PER_ACCOUNT={PER_ACCOUNT}",
                flush=True,
            )
            for name in passes:
                with contextlib.redirect_stdout(_Quiet()):  # the local poller prints a line per batch
                    result = _run(queues, workers, ConcurrencyProbe(latency), properties, name)
                print(f"-- {name}", flush=True)
                for line in result:
                    print(line, flush=True)
            if properties <= int(os.environ.get("BENCH_QUEUE_INLINE_MAX", "2000")):
                _inline(properties, ConcurrencyProbe(latency))
            db.close()
    finally:
        refresh_queue._sqs.cache_clear()


@contextlib.contextmanager
def _moto_server() -> Iterator[str]:
    """moto's server (`python -m moto.server`) on a free port of 127.0.0.1; its URL while the block runs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


class _Quiet(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


def _analyze(url: str) -> None:
    """Statistics for the rows COPY just wrote: a live database has them from autovacuum, and without them the
    planner's choices for the refresh's statements are those of empty tables."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _run(queues: Any, workers: int, probe: Any, properties: int, name: str) -> list[str]:
    from functions.cache_refresh.app import lambda_handler as schedule
    from functions.refresh_worker.app import lambda_handler as worker
    from tools.local_lambda import LambdaContext as context
    from tools.local_sqs import sqs_client
    from tools.local_sqs_poller import LocalSqsPoller

    total = {"in_flight": 0, "most": 0, "refreshed": 0, "failed_messages": 0, "invocations": 0}
    lock = threading.Lock()
    done = threading.Event()
    inner = probe.search_prospects_modified

    def counted(*args: Any) -> Any:
        with lock:
            total["in_flight"] += 1
            total["most"] = max(total["most"], total["in_flight"])
        try:
            return inner(*args)
        finally:
            with lock:
                total["in_flight"] -= 1

    probe.search_prospects_modified = counted

    def invoke(event: dict[str, Any]) -> Any:
        answer = worker(event, context("refresh-worker", 1769, 120), source=probe)
        with lock:
            total["invocations"] += 1
            total["failed_messages"] += len(answer["batchItemFailures"])
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            total["refreshed"] += sum(
                len(json.loads(r["body"])["property_ids"]) for r in event["Records"] if r["messageId"] not in failed
            )
            if total["refreshed"] >= properties:
                done.set()
        return answer

    # Lambda's event source mapping polls all along: the workers drain the first batches while the schedule
    # still queues the rest.
    poller = LocalSqsPoller(sqs_client(), queues.url, queues.arn, invoke, part="refresh", pollers=workers)
    poller.start()
    started = time.perf_counter()
    queued = schedule({"source": "aws.scheduler"}, context("cache-refresh", 1769, 300))
    scheduled = time.perf_counter() - started
    lines = [
        f"schedule: {queued['batches']} batches of {queued['accounts']} accounts queued in {scheduled:.1f} s "
        f"(moto's SendMessageBatch slows as its queue grows: it recomputes every message's visibility per send)"
    ]
    every = float(os.environ.get("BENCH_QUEUE_PROGRESS_SECONDS", "15"))
    while not done.wait(every):
        elapsed = time.perf_counter() - started
        if elapsed > 3600:
            break
        # stderr: stdout is silenced while the pollers run
        print(
            f"   {name}: {total['refreshed']} of {properties} refreshed after {elapsed:.0f} s "
            f"({total['refreshed'] / elapsed:.1f} per second), {total['failed_messages']} messages retried",
            file=sys.stderr,
            flush=True,
        )
    drained = time.perf_counter() - started
    poller.stop()
    assert done.is_set(), "the queue did not drain within an hour"
    most_on_one = max(probe.most.values())
    lines.append(
        f"refreshed {total['refreshed']} properties in {drained:.1f} s from the schedule's start: "
        f"{total['refreshed'] / drained:.1f} properties per second ({drained / properties * 1000:.2f} ms per property; "
        f"{total['invocations']} worker invocations, {total['failed_messages']} messages retried, "
        f"{probe.calls} ResMan calls)"
    )
    lines.append(
        f"most ResMan calls in flight: {most_on_one} on one account (bound {PER_ACCOUNT}), {total['most']} in all"
    )
    assert most_on_one <= PER_ACCOUNT, f"{most_on_one} ResMan calls in flight on one account, over {PER_ACCOUNT}"
    return lines


def _inline(properties: int, probe: Any) -> None:
    """The same refresh in one invocation, as before the queue: REFRESH_CONCURRENCY=8 threads, no per-account
    bound but the ResMan client's (which this stand-in bypasses)."""
    from tour_booking.refresh import resman_refresh
    from tour_booking.settings import get_settings

    os.environ["REFRESH_CONCURRENCY"] = "8"
    get_settings.cache_clear()
    started = time.perf_counter()
    report = resman_refresh.refresh_all(probe)
    seconds = time.perf_counter() - started
    assert not report.failed, report.failed[:3]
    print(
        f"-- the same in one invocation (8 threads, steady state): {seconds:.1f} s "
        f"({seconds / properties * 1000:.2f} ms per property); most ResMan calls in flight on one account: "
        f"{max(probe.most.values())}",
        flush=True,
    )


if __name__ == "__main__":
    main()
