"""Issue 14, case 4: no race leaves the cached `remaining` wrong.

Each race runs many rounds on real concurrent connections (one per thread, db.py's thread-local), released
together by a barrier, and the cache is then compared with the truth (tests/booking_invariants.py: capacity minus
peak occupancy, and the capacity of the schedule in force).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg

from tests.api_events import call
from tests.booking_invariants import CACHED_REMAINING
from tests.builders import future_slot, local_date, new_conversation, new_property, schedule_body, tour_body
from tour_booking import db
from tour_booking.domain.schedule import TourSchedule
from tour_booking.refresh.resman_refresh import refresh_all, refresh_property
from tour_booking.settings import get_settings


def together(*actions: Callable[[], Any]) -> list[Any]:
    """Runs the actions in threads released at once, each on its own database connection."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> Any:
        db.connection()  # connected before the start line: the race is about the work only
        barrier.wait()
        try:
            return action()
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(run, actions))


def wrong_cached_slots(url: str) -> tuple[int, int]:
    """(cached slots, wrong ones) over every property."""
    with psycopg.connect(url) as conn:
        row = conn.execute(CACHED_REMAINING).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_cache_fill_racing_a_booking_never_leaves_remaining_too_high(clean_db: str) -> None:
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    day = start[:10]
    filled = 0
    for _ in range(50):
        # given a property of capacity 1 whose day is not cached
        property_id = new_property(capacity=1)
        # when a GET fills the day while a booking takes 10:00
        got, booked = together(
            partial(call, "GET", f"/properties/{property_id}/availability?start_date={day}"),
            partial(call, "POST", "/tours", tour_body(property_id, conversation_id, start)),
        )
        assert (got.status, booked.status) == (200, 201)
        # then the cached day (if stored) no longer offers 10:00
        again = call("GET", f"/properties/{property_id}/availability?start_date={day}").json
        assert start not in {s["start"] for s in again["days"][0]["slots"]}
        filled += 1
    slots, wrong = wrong_cached_slots(clean_db)
    assert filled == 50 and slots > 0
    assert wrong == 0


def test_a_cache_fill_racing_a_schedule_change_never_stores_the_replaced_schedule(clean_db: str) -> None:
    day = local_date(3).isoformat()
    for _ in range(40):
        # given a property of capacity 5 whose day is not cached
        property_id = new_property(capacity=5)
        # when a GET fills the day while the capacity becomes 1
        got, put = together(
            partial(call, "GET", f"/properties/{property_id}/availability?start_date={day}"),
            partial(call, "PUT", f"/properties/{property_id}/tour-schedule", schedule_body(capacity=1)),
        )
        assert (got.status, put.status) == (200, 200)
        # then what is cached afterwards offers one place per slot
        again = call("GET", f"/properties/{property_id}/availability?start_date={day}").json
        assert {s["remaining"] for s in again["days"][0]["slots"]} == {1}
    slots, wrong = wrong_cached_slots(clean_db)
    assert slots > 0
    assert wrong == 0


def test_a_refresh_racing_a_schedule_change_writes_no_day_of_the_replaced_schedule(clean_db: str) -> None:
    settings = get_settings()
    blackout_day = local_date(2)
    new_rules = schedule_body(
        capacity=1, blackouts=[{"start_date": blackout_day.isoformat(), "end_date": blackout_day.isoformat()}]
    )
    conversation_id = new_conversation(clean_db)
    for _ in range(25):
        # given a property of capacity 3 with a tour, and the schedule the refresh read at its start
        property_id = new_property(capacity=3)
        call("POST", "/tours", tour_body(property_id, conversation_id, future_slot(4, 10)))
        old = TourSchedule.model_validate(schedule_body(capacity=3))
        # when the refresh of the property races a PUT of capacity 1 and a blackout
        now = datetime.now(UTC)
        result, put = together(
            partial(refresh_property, property_id, old, None, settings, now),
            partial(call, "PUT", f"/properties/{property_id}/tour-schedule", new_rules),
        )
        assert result.ok, result.error
        assert put.status == 200
        # then no cached slot lies in the blackout, and availability offers it nothing
        answer = call("GET", f"/properties/{property_id}/availability?start_date={blackout_day}").json
        assert answer["days"][0]["slots"] == []
        with psycopg.connect(clean_db) as conn:
            row = conn.execute(
                b"SELECT jsonb_array_length(available_slots) FROM calendar_availability_cache "
                b"WHERE property_id = %s AND date = %s",
                (property_id, blackout_day),
            ).fetchone()
        assert row is None or row[0] == 0
    slots, wrong = wrong_cached_slots(clean_db)
    assert slots > 0
    assert wrong == 0


def test_days_past_the_refresh_horizon_are_refreshed_too(clean_db: str) -> None:
    # given a day 20 days ahead (past REFRESH_HORIZON_DAYS, 14) cached on demand an hour ago
    property_id = new_property(capacity=2)
    day = local_date(20).isoformat()
    call("GET", f"/properties/{property_id}/availability?start_date={day}")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            b"UPDATE calendar_availability_cache SET last_updated = last_updated - interval '1 hour' "
            b"WHERE property_id = %s",
            (property_id,),
        )
    before: dict[str, Any] = call("GET", f"/properties/{property_id}/availability?start_date={day}").json["days"][0]
    assert before["stale"] is True
    # when the refresh runs
    report = refresh_all(None)
    # then the day is refreshed and no longer stale
    assert [r.ok for r in report.results] == [True]
    after = call("GET", f"/properties/{property_id}/availability?start_date={day}").json["days"][0]
    assert after["stale"] is False
    assert datetime.fromisoformat(after["last_updated"]) > datetime.fromisoformat(before["last_updated"])
    assert datetime.fromisoformat(after["last_updated"]) > datetime.now(UTC) - timedelta(minutes=1)
