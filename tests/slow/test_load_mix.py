"""The soak of `make soak` (bench/load_mix.py), short: clients racing over few seats through the local API
Gateway, then the database checked against what every client was told."""

from __future__ import annotations

import psycopg

from bench import load_mix
from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, tour_body


def test_a_short_mixed_load_overbooks_nothing_loses_nothing_and_keeps_the_cache_true(clean_db: str) -> None:
    # given 8 clients and 5 properties of capacity 1 or 2, 12 slots each
    options = load_mix.Options(clients=8, seconds=5, properties=5)
    # when they browse, book, replay, reschedule and cancel for 5 s
    result = load_mix.run(options, clean_db)
    # then every check holds
    assert [f"{c.name}: {c.detail}" for c in result.checks if not c.passed] == [], load_mix.report(result)
    # and every kind of call did its work, so the checks had something to check
    for name, success in (
        ("GET availability", 200),
        ("POST /tours", 201),
        ("PATCH reschedule", 200),
        ("PATCH cancel", 200),
        ("PUT tour-schedule", 200),
    ):
        assert result.calls[name].statuses[success] > 0, load_mix.report(result)


def test_the_checks_catch_an_instant_over_capacity_an_unknown_tour_a_lost_booking_and_a_wrong_cache(
    clean_db: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    # given one booked tour at a start of capacity 1, its day cached, and what its client was told
    property_id = new_property(capacity=1)
    start = future_slot(hour=10)
    call("GET", f"/properties/{property_id}/availability?start_date={start[:10]}")
    tour = call("POST", "/tours", tour_body(property_id, new_conversation(clean_db), start)).json
    told = {tour["id"]: load_mix.Told(str(property_id), load_mix._instant(start), "scheduled")}
    assert all(c.passed for c in load_mix.database_checks(clean_db, told, set(), 0))
    # when, behind the triggers' back, a second tour starts 15 minutes into the first one's half hour (another
    # start, the same instants), the booked one vanishes and the cached slot claims seats it does not have
    conn.execute(b"ALTER TABLE tour_booking_sync DISABLE TRIGGER USER")
    try:
        conn.execute(
            b"INSERT INTO tour_booking_sync (conversation_id, property_id, tour_type, scheduled_datetime, "
            b"scheduled_end, prospect_info) SELECT conversation_id, property_id, tour_type, "
            b"scheduled_datetime + interval '15 minutes', scheduled_end + interval '15 minutes', prospect_info "
            b"FROM tour_booking_sync WHERE id = %s",
            (tour["id"],),
        )
        conn.execute(b"UPDATE tour_booking_sync SET id = gen_random_uuid() WHERE id = %s", (tour["id"],))
        conn.execute(
            b"UPDATE calendar_availability_cache SET available_slots = ("
            b"SELECT jsonb_agg(jsonb_set(slot, '{remaining}', '5')) FROM jsonb_array_elements(available_slots) slot)"
        )
    finally:
        conn.execute(b"ALTER TABLE tour_booking_sync ENABLE TRIGGER USER")
    # then each of the database checks fails
    assert [c.passed for c in load_mix.database_checks(clean_db, told, set(), 0)] == [False] * 4
