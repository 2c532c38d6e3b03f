"""A booking load through the booking API's handler, and the checks that the database holds exactly what it
answered. Used by the database fault tests: the load runs while the database goes away.

Each booker (a process, as a Lambda container is) books one request after another on its own connection.
Each request carries its tag in `staff_notes`, so every tour in the database names the request that wrote it.
Two requests in three carry an Idempotency-Key and are retried with it after a 503, as a client should; the
third is not retried, so a commit whose answer was lost shows as a tour of a request answered 503.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import random
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests.api_events import ApiAnswer, call
from tests.booking_invariants import CACHED_REMAINING, OVERBOOKED
from tests.builders import queued_messages, tour_body
from tour_booking import db

RETRY_PAUSE_SECONDS = 0.05


@dataclass
class Attempt:
    answer: ApiAnswer
    started: float
    finished: float


@dataclass
class BookingRequest:
    tag: str
    key: str | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final(self) -> ApiAnswer:
        return self.attempts[-1].answer


@dataclass
class Load:
    """What the bookers asked and were answered (bookings and availability reads)."""

    bookings: list[BookingRequest] = field(default_factory=list)
    reads: list[Attempt] = field(default_factory=list)

    def attempts(self) -> list[Attempt]:
        return [attempt for request in self.bookings for attempt in request.attempts] + self.reads

    def statuses(self) -> Counter[int]:
        return Counter(attempt.answer.status for attempt in self.attempts())

    def slowest(self) -> float:
        return max(attempt.finished - attempt.started for attempt in self.attempts())


def _timed(*args: Any) -> Attempt:
    started = time.monotonic()
    answer = call(*args)
    return Attempt(answer, started, time.monotonic())


@dataclass(frozen=True)
class LoadPlan:
    property_id: uuid.UUID
    conversation_id: uuid.UUID
    starts: list[str]
    days: list[str]
    give_up_at: float


def _book(worker: int, plan: LoadPlan, stop: Any) -> Load:
    """One container's requests, one after another, until `stop` (finishing and retrying the one in hand)."""
    load = Load()
    pick = random.Random(worker)
    count = 0
    while not stop.is_set():
        count += 1
        if count % 4 == 0:
            day = pick.choice(plan.days)
            load.reads.append(_timed("GET", f"/properties/{plan.property_id}/availability?start_date={day}"))
            continue
        tag = f"load {worker}-{count}"
        request = BookingRequest(tag, None if count % 3 == 0 else f"{uuid.uuid4()}")
        body = tour_body(plan.property_id, plan.conversation_id, pick.choice(plan.starts), staff_notes=tag)
        headers = {"Idempotency-Key": request.key} if request.key else None
        while True:
            request.attempts.append(_timed("POST", "/tours", body, headers))
            if request.final.status != 503 or request.key is None or time.monotonic() > plan.give_up_at:
                break
            time.sleep(RETRY_PAUSE_SECONDS)
        load.bookings.append(request)
    return load


def _container(worker: int, plan: LoadPlan, stop: Any, results: Any, sqs: Any) -> None:
    try:
        load = _book(worker, plan, stop)
        results.put((worker, load.bookings, load.reads, queued_messages(sqs), None))
    except BaseException:
        results.put((worker, [], [], [], traceback.format_exc()))


class Containers:
    """Bookers running as separate processes, as Lambda containers do: the handler keeps per-invocation
    state in module globals (Powertools' resolver, Logger and Metrics), safe only one invocation a process."""

    def __init__(self, count: int, plan: LoadPlan, sqs: Any) -> None:
        context = multiprocessing.get_context("fork")
        self.stop = context.Event()
        self._results: Any = context.Queue()
        db.close()  # a forked child must not share this process's connection
        self._processes = [
            context.Process(target=_container, args=(index, plan, self.stop, self._results, sqs), daemon=True)
            for index in range(count)
        ]
        for process in self._processes:
            process.start()
        self.load = Load()
        self.queued: list[str] = []

    def finish(self, timeout: float) -> Load:
        """Stops the bookers and gathers what they asked, were answered and queued."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        try:
            for _ in self._processes:
                _, bookings, reads, queued, failure = self._results.get(timeout=max(deadline - time.monotonic(), 0.1))
                assert failure is None, failure
                self.load.bookings += bookings
                self.load.reads += reads
                self.queued += queued
        except queue.Empty:
            raise AssertionError("a booker hangs") from None
        finally:
            for process in self._processes:
                process.join(max(deadline - time.monotonic(), 0.1))
                if process.is_alive():
                    process.kill()
        return self.load


# ---------------------------------------------------------------- checks


def assert_contract_answers(load: Load) -> None:
    """Every answer is one the contract allows under a database outage; a 503 says when to come back."""
    for attempt in load.attempts():
        answer = attempt.answer
        assert answer.status in {200, 201, 409, 503}, answer.json
        if answer.status == 409:
            assert answer.json["error"]["code"] == "slot_unavailable", answer.json
        if answer.status == 503:
            assert answer.json == {
                "error": {"code": "service_unavailable", "message": answer.json["error"]["message"], "details": []}
            }
            assert int(answer.headers["Retry-After"]) > 0
    for read in load.reads:
        assert read.answer.status in {200, 503}
    for request in load.bookings:
        assert 200 not in {a.answer.status for a in request.attempts}
        if request.key is not None:
            assert request.final.status in {201, 409}, f"{request.tag} still 503 after its retries"


def assert_database_matches_answers(
    url: str, property_id: uuid.UUID, load: Load, queued_bodies: list[str]
) -> dict[str, int]:
    """Every 201 is in the database, whole; nothing is there that no request wrote; no half-written row.

    Returns how many tours were committed while their (unkeyed) request was answered 503.
    """
    with psycopg.connect(url, row_factory=dict_row) as conn:
        tours = conn.execute(
            b"SELECT id::text, staff_notes, status, sync_status, version FROM tour_booking_sync WHERE property_id = %s",
            (property_id,),
        ).fetchall()
        records = conn.execute(
            b"SELECT key, status_code, response_body ->> 'id' AS tour_id FROM idempotency_record"
        ).fetchall()
        overbooked = conn.execute(OVERBOOKED).fetchall()
        cache = conn.execute(CACHED_REMAINING).fetchone()
    by_tag = {request.tag: request for request in load.bookings}
    tour_of_tag: dict[str, str] = {}
    answered_503 = 0
    for tour in tours:
        assert (tour["status"], tour["sync_status"], tour["version"]) == ("scheduled", "pending", 1)
        request = by_tag[tour["staff_notes"]]  # a tour no request of the load wrote would fail here
        assert tour["staff_notes"] not in tour_of_tag, f"{request.tag} booked twice"
        tour_of_tag[tour["staff_notes"]] = tour["id"]
        if request.final.status == 503:
            assert request.key is None
            answered_503 += 1
        else:
            assert request.final.status == 201
            assert request.final.json["id"] == tour["id"]
    for request in load.bookings:
        for attempt in request.attempts:
            if attempt.answer.status == 201:
                assert tour_of_tag.get(request.tag) == attempt.answer.json["id"], f"{request.tag}: a 201 is missing"
    keyed_201 = {r.key: tour_of_tag[r.tag] for r in load.bookings if r.key is not None and r.final.status == 201}
    assert {r["key"]: r["tour_id"] for r in records} == keyed_201
    assert {r["status_code"] for r in records} <= {201}
    assert overbooked == []
    assert cache is not None
    assert cache["slots"] > 0 and cache["taken"] > 0
    assert cache["wrong"] == 0
    queued = [json.loads(body)["tour_id"] for body in queued_bodies]
    assert set(queued) <= set(tour_of_tag.values()), "a sync was queued for a tour that was rolled back"
    first_201s = {
        a.answer.json["id"]
        for r in load.bookings
        for a in r.attempts
        if a.answer.status == 201 and a.answer.headers.get("Idempotent-Replayed") != "true"
    }
    assert first_201s <= set(queued)
    return {"tours": len(tours), "committed_but_answered_503": answered_503}
