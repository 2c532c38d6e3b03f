"""The shared data-access modules the cache refresh also uses: schedules, cached days, occupancy peaks."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg

from tests.api_events import call
from tests.builders import future_slot, new_conversation, new_property, schedule_body, tour_body
from tour_booking import db
from tour_booking.db import availability_cache_repository, occupancy_repository, schedules_repository
from tour_booking.domain.availability import slot_json
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import compute_slots

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def test_put_get_and_list_schedules(clean_db: str) -> None:
    schedule = TourSchedule.model_validate(schedule_body(capacity=4))
    property_id = uuid.uuid4()
    with db.transaction() as conn:
        assert schedules_repository.get_schedule(conn, property_id) is None
        schedules_repository.put_schedule(conn, property_id, schedule)
        assert schedules_repository.get_schedule(conn, property_id) == schedule
        assert schedules_repository.list_active_schedules(conn) == [(property_id, schedule)]


def test_store_list_and_delete_cached_days(clean_db: str) -> None:
    # given computed slots of three days
    property_id = new_property(capacity=3)
    with db.transaction() as conn:
        schedule = schedules_repository.get_schedule(conn, property_id)
    assert schedule is not None
    days = [date(2027, 1, 5) + timedelta(days=i) for i in range(3)]
    computed = compute_slots(schedule, days, {}, NOW)
    # when they are stored, and stored again (the second time with one seat taken) as days missing from the cache
    with db.transaction() as conn:
        availability_cache_repository.insert_missing_days(conn, property_id, computed, NOW)
        taken = {day: [s.model_copy(update={"remaining": 2}) for s in slots] for day, slots in computed.items()}
        availability_cache_repository.insert_missing_days(conn, property_id, taken, NOW + timedelta(minutes=15))
        assert availability_cache_repository.cached_dates_between(conn, property_id, days[0], days[-1]) == days
    # then the first write stands, in the slot's JSON shape with the property's local offset
    with psycopg.connect(clean_db) as plain:
        row = plain.execute(
            b"SELECT available_slots, last_updated FROM calendar_availability_cache "
            b"WHERE property_id = %s AND date = %s",
            (property_id, days[0]),
        ).fetchone()
    assert row is not None
    assert row[0] == [slot_json(s) for s in computed[days[0]]]
    assert row[1] == NOW
    assert row[0][0]["start"].endswith("-05:00")
    # when days before the second are deleted, then only the last two remain; then none
    with db.transaction() as conn:
        availability_cache_repository.delete_days_before(conn, property_id, days[1])
        assert availability_cache_repository.cached_dates_between(conn, property_id, days[0], days[-1]) == days[1:]
        availability_cache_repository.delete_days(conn, property_id)
        assert availability_cache_repository.cached_dates_between(conn, property_id, days[0], days[-1]) == []


def test_slot_peaks_count_scheduled_and_confirmed_tours_over_each_slots_period(clean_db: str) -> None:
    # given hourly 60-minute slots of capacity 5 and three tours at 10:00: one confirmed, one cancelled
    property_id = new_property(capacity=5, slot_minutes=60)
    conversation_id = new_conversation(clean_db)
    start = future_slot(hour=10)
    ids = [call("POST", "/tours", tour_body(property_id, conversation_id, start)).json["id"] for _ in range(3)]
    call("PATCH", f"/tours/{ids[0]}", {"status": "confirmed"})
    call("PATCH", f"/tours/{ids[1]}", {"status": "cancelled"})
    begin = datetime.fromisoformat(start).astimezone(UTC)
    hour = timedelta(hours=1)
    half = timedelta(minutes=30)
    # when the peaks of slots before, overlapping, at, and after the tours' hour are asked
    with db.transaction() as conn:
        slots = [(begin - hour, begin), (begin - half, begin + half), (begin, begin + hour)]
        slots.append((begin + hour, begin + 2 * hour))
        peaks = occupancy_repository.slot_peaks(conn, property_id, slots)
        without_one = occupancy_repository.slot_peaks(conn, property_id, [(begin, begin + hour)], uuid.UUID(ids[0]))
    # then the two active tours occupy every slot that overlaps 10:00-11:00, and only those
    assert peaks == {begin - hour: 0, begin - half: 2, begin: 2, begin + hour: 0}
    assert next(iter(peaks)).tzinfo == UTC
    assert without_one == {begin: 1}
