"""Holds under races: each caller is a process (as a Lambda container is) with its own database connection,
all released together, so the database's rule, not the test, decides who wins."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body
from tour_booking import db

Request = tuple[str, str, Any]


def _container(request: Request, barrier: Any, answers: Any, index: int) -> None:
    db.connection()  # connect before the start line, so the race is about the request only
    barrier.wait()
    try:
        answer = call(*request)
        answers.put((index, answer.status, answer.json))
    finally:
        db.close()


def race(requests: list[Request]) -> list[tuple[int, Any]]:
    """Each request from its own forked process, released together; the (status, body) of each, in order."""
    db.close()  # a forked child must not share the parent's connection
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(requests))
    answers = context.Queue()
    processes = [
        context.Process(target=_container, args=(request, barrier, answers, i)) for i, request in enumerate(requests)
    ]
    for process in processes:
        process.start()
    collected = [answers.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(process.exitcode == 0 for process in processes)
    results = {index: (status, body) for index, status, body in collected}
    return [results[i] for i in range(len(requests))]


def hold_request(property_id: uuid.UUID, start: str, **overrides: Any) -> Request:
    body = {"property_id": str(property_id), "scheduled_datetime": start, "tour_type": "in_person", **overrides}
    return ("POST", "/holds", body)


def occupants(url: str, property_id: uuid.UUID, start: str) -> tuple[int, int]:
    """(active tours, live holds) starting at `start`."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            b"SELECT (SELECT count(*) FROM tour_booking_sync WHERE property_id = %(p)s AND scheduled_datetime = %(s)s "
            b"AND status IN ('scheduled', 'confirmed')), "
            b"(SELECT count(*) FROM tour_hold h WHERE property_id = %(p)s AND scheduled_datetime = %(s)s "
            b"AND hold_is_live(h))",
            {"p": property_id, "s": start},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def codes(answers: list[tuple[int, Any]], keep: Callable[[int], bool] = lambda _: True) -> Counter[Any]:
    return Counter(
        status if status != 409 else body["error"]["code"] for i, (status, body) in enumerate(answers) if keep(i)
    )


def test_twenty_processes_holding_a_slot_of_capacity_three_get_three_201s(clean_db: str) -> None:
    # given a slot with capacity 3 and its day cached
    property_id = new_property(capacity=3)
    start = future_slot(hour=10)
    call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}")
    # when 20 processes hold it at once
    answers = race([hold_request(property_id, start) for _ in range(20)])
    # then exactly 3 hold it, 17 are slot_unavailable, and availability shows the slot gone
    assert codes(answers) == {201: 3, "slot_unavailable": 17}
    assert occupants(clean_db, property_id, start) == (0, 3)
    slots = call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}").json["days"][0]["slots"]
    assert start not in {s["start"] for s in slots}


def test_holds_racing_bookings_never_take_more_seats_than_the_capacity(clean_db: str) -> None:
    # given a slot with capacity 4
    property_id = new_property(capacity=4)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=11)
    # when 10 holders and 10 bookers race for it
    booking: Request = ("POST", "/tours", tour_body(property_id, conversation_id, start))
    requests = [hold_request(property_id, start) if i % 2 else booking for i in range(20)]
    answers = race(requests)
    # then exactly 4 seats were given, and the database holds exactly those
    won = [i for i, (status, _) in enumerate(answers) if status == 201]
    assert len(won) == 4
    assert codes(answers, lambda i: i not in won) == {"slot_unavailable": 16}
    tours, holds = occupants(clean_db, property_id, start)
    assert (tours, holds) == (sum(1 for i in won if i % 2 == 0), sum(1 for i in won if i % 2))


def test_a_booking_with_its_hold_always_wins_against_racing_bookers(clean_db: str) -> None:
    conversation_id = new_conversation(clean_db)
    for round_ in range(4):
        # given a slot of capacity 2 with one seat held
        property_id = new_property(capacity=2)
        start = future_slot(hour=9 + round_)
        held = call("POST", "/holds", hold_request(property_id, start)[2]).json
        # when the holder books with its hold while 12 others book without one, all at once
        with_hold = ("POST", "/tours", tour_body(property_id, conversation_id, start, hold_id=held["id"]))
        others = [("POST", "/tours", tour_body(property_id, conversation_id, start)) for _ in range(12)]
        position = round_ * 3 % 13
        requests = [*others[:position], with_hold, *others[position:]]
        answers = race(requests)
        # then the holder gets 201, exactly one other gets the free seat, and the hold is consumed
        assert answers[position][0] == 201, answers[position]
        others_answers = [answer for i, answer in enumerate(answers) if i != position]
        assert codes(others_answers) == {201: 1, "slot_unavailable": 11}
        assert occupants(clean_db, property_id, start) == (2, 0)


def test_racing_holds_of_one_conversation_keep_at_most_three(clean_db: str) -> None:
    # given one conversation asking for 8 holds at once on 8 properties (different occupancy locks)
    conversation_id = str(uuid.uuid4())
    properties = [new_property() for _ in range(8)]
    start = future_slot(hour=12)
    answers = race([hold_request(p, start, conversation_id=conversation_id) for p in properties])
    # then 3 hold and 5 are too_many_holds
    assert codes(answers) == {201: 3, "too_many_holds": 5}
