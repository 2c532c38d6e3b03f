"""Races through the handler: each thread calls it with its own database connection (db.py's thread-local),
so the database, not the test, decides who wins."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from tests.api_events import ApiAnswer, call
from tests.builders import future_slot, local_date, new_conversation, new_property, tour_body
from tour_booking import db


def race(count: int, action: Callable[[int], ApiAnswer]) -> list[ApiAnswer]:
    """Runs `action(i)` in `count` threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(count)

    def run(index: int) -> ApiAnswer:
        db.connection()  # connect before the start line, so the race is about the booking only
        barrier.wait()
        try:
            return action(index)
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def active_at(url: str, start: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            b"SELECT count(*) FROM tour_booking_sync WHERE scheduled_datetime = %s "
            b"AND status IN ('scheduled', 'confirmed')",
            (start,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_fifty_concurrent_bookers_of_capacity_three_get_three_201s(clean_db: str) -> None:
    # given a slot with capacity 3 and its day cached
    property_id = new_property(capacity=3)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}")
    # when 50 bookers race for it
    answers = race(50, lambda _: call("POST", "/tours", tour_body(property_id, conversation_id, start)))
    # then exactly 3 win, 47 get slot_unavailable, the table holds 3 and the cache shows the slot gone
    statuses = Counter(a.status for a in answers)
    assert statuses == {201: 3, 409: 47}
    assert {a.json["error"]["code"] for a in answers if a.status == 409} == {"slot_unavailable"}
    assert active_at(clean_db, start) == 3
    slots = call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}").json["days"][0]["slots"]
    assert start not in {s["start"] for s in slots}


def test_concurrent_replays_of_one_key_book_once_and_answer_alike(clean_db: str) -> None:
    # given one request body and one key
    property_id = new_property(capacity=10)
    body = tour_body(property_id, new_conversation(clean_db), future_slot(hour=11))
    # when 20 copies race
    answers = race(20, lambda _: call("POST", "/tours", body, {"Idempotency-Key": "race-key"}))
    # then all answer 201 with the same tour, and one tour exists
    assert {a.status for a in answers} == {201}
    assert len({a.json["id"] for a in answers}) == 1
    assert active_at(clean_db, body["scheduled_datetime"]) == 1


def test_concurrent_reschedules_into_one_seat_let_one_through(clean_db: str) -> None:
    # given 10 tours at different hours and a target slot with one seat
    property_id = new_property(capacity=1)
    conversation_id = new_conversation(clean_db)
    tours = [
        call(
            "POST",
            "/tours",
            tour_body(
                property_id,
                conversation_id,
                future_slot(hour=9, minute=0)
                if i == 0
                else future_slot(days_ahead=4, hour=9 + i // 2, minute=30 * (i % 2)),
            ),
        ).json
        for i in range(10)
    ]
    target = future_slot(days_ahead=5, hour=15)
    # when all move to the target at once
    answers = race(10, lambda i: call("PATCH", f"/tours/{tours[i]['id']}", {"scheduled_datetime": target}))
    # then one moved, nine were refused and kept their slots
    assert Counter(a.status for a in answers) == {200: 1, 409: 9}
    assert active_at(clean_db, target) == 1


def test_crossing_reschedules_between_two_cached_days_do_not_deadlock(clean_db: str) -> None:
    # given cached days D1 and D2 and tours on each
    property_id = new_property(capacity=50)
    conversation_id = new_conversation(clean_db)
    day1, day2 = local_date(3), local_date(4)
    call("GET", f"/properties/{property_id}/availability?start_date={day1}&days=2")
    on_day1 = [
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(3, 10))).json for _ in range(8)
    ]
    on_day2 = [
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(4, 10))).json for _ in range(8)
    ]

    # when tours of D1 move to D2 while tours of D2 move to D1
    def move(i: int) -> ApiAnswer:
        tour, target = (on_day1[i // 2], future_slot(4, 12)) if i % 2 == 0 else (on_day2[i // 2], future_slot(3, 12))
        return call("PATCH", f"/tours/{tour['id']}", {"scheduled_datetime": target})

    answers = race(16, move)
    # then every move succeeds and the cache agrees with the tours
    assert {a.status for a in answers} == {200}
    days = call("GET", f"/properties/{property_id}/availability?start_date={day1}&days=2").json["days"]
    remaining = {s["start"]: s["remaining"] for d in days for s in d["slots"]}
    assert remaining[future_slot(3, 12)] == 42
    assert remaining[future_slot(4, 12)] == 42
    assert remaining[future_slot(3, 10)] == 50
    assert str(day2) in {d["date"] for d in days}


def test_cancels_racing_bookings_never_overbook_and_leave_the_cache_true(clean_db: str) -> None:
    # given a full slot of capacity 5 with its day cached
    property_id = new_property(capacity=5)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=13)
    call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}")
    booked = [call("POST", "/tours", tour_body(property_id, conversation_id, start)).json for _ in range(5)]

    # when 5 cancels race 20 new bookings
    def act(i: int) -> ApiAnswer:
        if i < 5:
            return call("PATCH", f"/tours/{booked[i]['id']}", {"status": "cancelled"})
        return call("POST", "/tours", tour_body(property_id, conversation_id, start))

    answers = race(25, act)
    # then every cancel succeeded, never more than 5 active, and the cache's remaining is the truth
    assert all(a.status == 200 for a in answers[:5])
    winners = sum(1 for a in answers[5:] if a.status == 201)
    active = active_at(clean_db, start)
    assert active == winners <= 5
    slots = call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}").json["days"][0]["slots"]
    cached: dict[str, Any] = {s["start"]: s["remaining"] for s in slots}
    assert cached.get(start, 0) == 5 - active
