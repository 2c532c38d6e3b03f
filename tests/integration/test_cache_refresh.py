"""The scheduled cache refresh against real PostgreSQL, with an in-memory ResMan prospect source."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.builders import add_tour, cached_days, refresh_property, resman_ids, tour_row, watermark
from tests.fakes import FakeEvent, FakeProspect, FakeResMan
from tour_booking import observability
from tour_booking.refresh.resman_refresh import refresh_all
from tour_booking.settings import get_settings

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 in New York
TOMORROW_10 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("REFRESH_CONCURRENCY", "4")
    monkeypatch.setenv("NO_SHOW_GRACE_MINUTES", "120")
    monkeypatch.setenv("REFRESH_WINDOW_OVERLAP_MINUTES", "5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def slot(days: dict[date, list[dict[str, Any]]], start: datetime) -> dict[str, Any]:
    for slots in days.values():
        for item in slots:
            if datetime.fromisoformat(item["start"]) == start:
                return item
    raise AssertionError(f"no cached slot at {start}")


def test_refresh_caches_the_horizon_counts_tours_and_drops_past_days(clean_db: str) -> None:
    # given a property with one tour tomorrow 10:00 and a stale cached day from last week
    property_id = refresh_property(clean_db)
    add_tour(clean_db, property_id, TOMORROW_10)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO calendar_availability_cache (property_id, date, available_slots) VALUES (%s, %s, '[]')",
            (property_id, date(2026, 11, 24)),
        )
    # when the refresh runs
    report = refresh_all(FakeResMan(), now=NOW)
    # then 14 local days from today are cached, the tour's slot has one place left, the past day is gone
    assert [r.ok for r in report.results] == [True]
    days = cached_days(clean_db, property_id)
    assert list(days) == [date(2026, 12, 1) + timedelta(days=i) for i in range(14)]
    assert [s["start"] for s in days[date(2026, 12, 2)]] == [
        "2026-12-02T09:00:00-05:00",
        "2026-12-02T10:00:00-05:00",
        "2026-12-02T11:00:00-05:00",
    ]
    assert slot(days, TOMORROW_10)["remaining"] == 1
    assert slot(days, TOMORROW_10 + timedelta(hours=1))["remaining"] == 2


def test_blackout_day_and_zero_capacity(clean_db: str) -> None:
    # given a property blacked out on Dec 3 and another with zero capacity
    blacked = refresh_property(clean_db, blackouts=[{"start_date": "2026-12-03", "end_date": "2026-12-03"}])
    closed = refresh_property(clean_db, capacity=0)
    # when
    refresh_all(FakeResMan(), now=NOW)
    # then the blackout day is cached empty, its neighbours are not; zero capacity leaves nothing to book
    blacked_days = cached_days(clean_db, blacked)
    assert blacked_days[date(2026, 12, 3)] == []
    assert len(blacked_days[date(2026, 12, 4)]) == 3
    closed_days = cached_days(clean_db, closed)
    assert all(s["remaining"] == 0 for slots in closed_days.values() for s in slots)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # New York springs forward at 02:00 on 2026-03-08: 02:00 does not exist
        ("America/New_York", date(2026, 3, 8), ["01:00:00-05:00", "03:00:00-04:00"]),
        # and falls back on 2026-11-01: 01:00 comes twice and is offered once (its first occurrence)
        ("America/New_York", date(2026, 11, 1), ["01:00:00-04:00", "02:00:00-05:00", "03:00:00-05:00"]),
        # Phoenix keeps MST all year
        ("America/Phoenix", date(2026, 3, 8), ["01:00:00-07:00", "02:00:00-07:00", "03:00:00-07:00"]),
        ("America/Phoenix", date(2026, 11, 1), ["01:00:00-07:00", "02:00:00-07:00", "03:00:00-07:00"]),
    ],
)
def test_dst_weeks(clean_db: str, zone: str, day: date, expected: list[str]) -> None:
    # given night-time hours across the switch and a tour at the UTC instant of the last slot
    property_id = refresh_property(clean_db, timezone=zone, weekly_hours={"sun": [["01:00", "04:00"]]})
    last = datetime.fromisoformat(f"{day.isoformat()}T{expected[-1]}")
    add_tour(clean_db, property_id, last.astimezone(UTC))
    now = datetime.combine(day - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    # when the refresh runs during the DST week
    refresh_all(FakeResMan(), now=now)
    # then the switch day has exactly the local slots that exist, with their true offsets and counts
    slots = cached_days(clean_db, property_id)[day]
    assert [s["start"].split("T")[1] for s in slots] == expected
    assert [s["remaining"] for s in slots] == [2] * (len(expected) - 1) + [1]


def test_outcomes_from_resman_do_not_queue_a_sync(clean_db: str) -> None:
    # given three synced tours yesterday-ish and their ResMan prospects: Show, Cancel, lost
    property_id = refresh_property(clean_db)
    _, resman_property = resman_ids(clean_db, property_id)
    start = NOW - timedelta(hours=3)
    synced = {"sync_status": "success", "version": 2, "synced_version": 2}
    shown = add_tour(clean_db, property_id, start, resman_prospect_id="P1", resman_appointment_id="A1", **synced)
    cancelled = add_tour(
        clean_db, property_id, TOMORROW_10, resman_prospect_id="P2", resman_appointment_id="A2", **synced
    )
    lost = add_tour(
        clean_db, property_id, TOMORROW_10, resman_prospect_id="P3", resman_appointment_id="A3", status="confirmed"
    )
    source = FakeResMan()
    modified = NOW - timedelta(hours=1)
    source.add(
        resman_property,
        FakeProspect(
            "P1",
            modified,
            [FakeEvent("Appointment", start, "A1"), FakeEvent("Show", start + timedelta(minutes=3), "S1")],
        ),
    )
    source.add(
        resman_property,
        FakeProspect(
            "P2", modified, [FakeEvent("Appointment", TOMORROW_10, "A2"), FakeEvent("Cancel", modified, "C2")]
        ),
    )
    source.add(resman_property, FakeProspect("P3", modified, [FakeEvent("Appointment", TOMORROW_10, "A3")], "lost"))
    # when the refresh runs
    report = refresh_all(source, now=NOW)
    # then the statuses follow ResMan and nothing is set back to pending or re-versioned
    assert (report.results[0].completed, report.results[0].cancelled) == (1, 2)
    assert tour_row(clean_db, shown)["status"] == "completed"
    assert tour_row(clean_db, cancelled)["status"] == "cancelled"
    assert tour_row(clean_db, lost)["status"] == "cancelled"
    for tour_id in (shown, cancelled):
        row = tour_row(clean_db, tour_id)
        assert (row["version"], row["synced_version"], row["sync_status"]) == (2, 2, "success")
    # and the cancelled tours freed their slot in the cache
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 2


def test_no_show_after_the_grace_only(clean_db: str) -> None:
    # given a tour 3 hours ago and one 1 hour ago, neither shown nor cancelled in ResMan
    property_id = refresh_property(clean_db)
    past_grace = add_tour(clean_db, property_id, NOW - timedelta(hours=3), resman_prospect_id="P1")
    within_grace = add_tour(clean_db, property_id, NOW - timedelta(hours=1), resman_prospect_id="P2")
    # when
    report = refresh_all(FakeResMan(), now=NOW)
    # then only the first is a no-show
    assert report.results[0].no_show == 1
    assert tour_row(clean_db, past_grace)["status"] == "no_show"
    assert tour_row(clean_db, within_grace)["status"] == "scheduled"
    assert tour_row(clean_db, past_grace)["version"] == 1


def test_no_no_show_while_resman_cannot_be_read(clean_db: str) -> None:
    # given a tour past the grace at a property whose ResMan answers errors (a Show may be waiting there)
    property_id = refresh_property(clean_db)
    tour_id = add_tour(clean_db, property_id, NOW - timedelta(hours=3), resman_prospect_id="P1")
    source = FakeResMan(failing={resman_ids(clean_db, property_id)[1]})
    # when
    report = refresh_all(source, now=NOW)
    # then the tour stays as it was, the property failed, and its slots were still refreshed
    assert tour_row(clean_db, tour_id)["status"] == "scheduled"
    assert not report.results[0].ok
    assert len(cached_days(clean_db, property_id)) == 14


def test_staff_booked_appointment_blocks_its_slot(clean_db: str) -> None:
    # given a capacity-1 property whose staff booked tomorrow 10:00 directly in ResMan
    property_id = refresh_property(clean_db, capacity=1)
    _, resman_property = resman_ids(clean_db, property_id)
    source = FakeResMan()
    staff = FakeProspect("WALKIN", NOW - timedelta(hours=1), [FakeEvent("Appointment", TOMORROW_10, "E1")])
    source.add(resman_property, staff)
    # when the refresh runs
    report = refresh_all(source, now=NOW)
    # then the cached slot is full, and the database refuses one of our tours there
    assert report.results[0].staff_appointments_changed == 1
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 0
    with pytest.raises(psycopg.errors.ExclusionViolation):
        add_tour(clean_db, property_id, TOMORROW_10)
    # when staff cancel it in ResMan and the next refresh runs
    staff.events.append(FakeEvent("Cancel", NOW + timedelta(minutes=20), "C1"))
    staff.modified_at = NOW + timedelta(minutes=20)
    refresh_all(source, now=NOW + timedelta(minutes=30))
    # then the slot is free again and can be booked
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 1
    add_tour(clean_db, property_id, TOMORROW_10)
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 0


def test_cached_slots_follow_bookings_between_refreshes_and_keep_staff_appointments(clean_db: str) -> None:
    # given a refreshed capacity-2 property with a staff appointment tomorrow 10:00
    property_id = refresh_property(clean_db)
    source = FakeResMan()
    source.add(
        resman_ids(clean_db, property_id)[1],
        FakeProspect("WALKIN", NOW - timedelta(hours=1), [FakeEvent("Appointment", TOMORROW_10, "E1")]),
    )
    refresh_all(source, now=NOW)
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 1
    # when one of our tours is booked and then cancelled there (no refresh in between)
    tour_id = add_tour(clean_db, property_id, TOMORROW_10)
    booked = slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"]
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE tour_booking_sync SET status = 'cancelled' WHERE id = %s", (tour_id,))
    # then the cache followed each change at once, still counting the staff appointment
    assert booked == 0
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 1


def test_watermark_advances_with_overlap_and_resumes_after_a_failure_mid_run(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFRESH_WINDOW_LOOKAHEAD_MINUTES", "0")  # windows end at our now, to count them below
    get_settings.cache_clear()
    # given a property read up to 2 hours ago, and a ResMan that finds windows over 30 minutes too wide
    property_id = refresh_property(clean_db)
    _, resman_property = resman_ids(clean_db, property_id)
    since = NOW - timedelta(hours=2)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("INSERT INTO resman_watermark (property_id, modified_since) VALUES (%s, %s)", (property_id, since))
    early = add_tour(clean_db, property_id, TOMORROW_10, resman_prospect_id="P1", resman_appointment_id="A1")
    late = add_tour(clean_db, property_id, TOMORROW_10, resman_prospect_id="P2", resman_appointment_id="A2")
    source = FakeResMan(widest=30 * 60, fail_after_calls=5)
    source.add(
        resman_property,
        FakeProspect(
            "P1",
            since + timedelta(minutes=10),
            [FakeEvent("Appointment", TOMORROW_10, "A1"), FakeEvent("Cancel", since, "C1")],
        ),
    )
    source.add(
        resman_property,
        FakeProspect(
            "P2",
            NOW - timedelta(minutes=10),
            [FakeEvent("Appointment", TOMORROW_10, "A2"), FakeEvent("Cancel", NOW, "C2")],
        ),
    )
    # when the run fails after the first windows: 2h, 1h, 30m (ok), 30m (ok), 1h, then a failure
    report = refresh_all(source, now=NOW)
    # then what was read is kept, and the watermark stands at the last good window minus the overlap
    assert not report.results[0].ok
    assert tour_row(clean_db, early)["status"] == "cancelled"
    assert tour_row(clean_db, late)["status"] == "scheduled"
    mark = watermark(clean_db, property_id)
    assert mark is not None
    assert mark["modified_since"] == since + timedelta(hours=1) - timedelta(minutes=5)
    assert mark["last_error"] is not None
    # when ResMan recovers and the next run comes
    source.fail_after_calls = None
    source.calls.clear()
    later = NOW + timedelta(minutes=15)
    report = refresh_all(source, now=later)
    # then it resumes from the watermark, reads the rest and moves the watermark to its end minus the overlap
    assert report.results[0].ok
    assert source.calls[0][1] == since + timedelta(minutes=55)
    assert tour_row(clean_db, late)["status"] == "cancelled"
    mark = watermark(clean_db, property_id)
    assert mark is not None
    assert (mark["modified_since"], mark["last_error"]) == (later - timedelta(minutes=5), None)


def test_an_immediate_rerun_changes_nothing(clean_db: str) -> None:
    # given a refreshed property with tours, outcomes and a staff appointment
    property_id = refresh_property(clean_db)
    _, resman_property = resman_ids(clean_db, property_id)
    add_tour(clean_db, property_id, TOMORROW_10)
    add_tour(clean_db, property_id, NOW - timedelta(hours=5), resman_prospect_id="P9")
    source = FakeResMan()
    source.add(
        resman_property,
        FakeProspect(
            "S1", NOW - timedelta(minutes=2), [FakeEvent("Appointment", TOMORROW_10 + timedelta(hours=1), "E1")]
        ),
    )
    refresh_all(source, now=NOW)

    def snapshot() -> tuple[Any, ...]:
        with psycopg.connect(clean_db) as conn:
            tours = conn.execute(
                "SELECT id, status, version, sync_status, updated_at FROM tour_booking_sync ORDER BY id"
            ).fetchall()
            staff = conn.execute("SELECT * FROM resman_staff_appointment ORDER BY resman_event_id").fetchall()
        return tours, staff, cached_days(clean_db, property_id)

    before = snapshot()
    # when it runs again at once (the overlap re-reads the same prospects)
    report = refresh_all(source, now=NOW)
    # then nothing changed
    result = report.results[0]
    assert (result.completed, result.cancelled, result.no_show, result.staff_appointments_changed) == (0, 0, 0, 0)
    assert snapshot() == before


def test_a_failing_property_does_not_stop_the_others(clean_db: str) -> None:
    # given five properties, one of whose ResMan answers errors, and tours past the grace at each
    properties = [refresh_property(clean_db) for _ in range(5)]
    tours = [add_tour(clean_db, p, NOW - timedelta(hours=3)) for p in properties]
    broken = properties[2]
    source = FakeResMan(failing={resman_ids(clean_db, broken)[1]})
    # when
    report = refresh_all(source, now=NOW)
    # then only that property failed; the others were read, decided and cached
    outcome = {r.property_id: r.ok for r in report.results}
    assert outcome == {p: p != broken for p in properties}
    statuses = [tour_row(clean_db, t)["status"] for t in tours]
    assert statuses == ["no_show", "no_show", "scheduled", "no_show", "no_show"]
    assert all(len(cached_days(clean_db, p)) == 14 for p in properties)
    assert watermark(clean_db, broken)["last_error"].startswith("RuntimeError")  # type: ignore[index]


def test_the_handler_refreshes_everything_then_raises_when_a_property_failed(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.cache_refresh.app import CacheRefreshFailedError, lambda_handler
    from tools.local_lambda import LambdaContext

    # the namespace template.yaml gives every function (POWERTOOLS_METRICS_NAMESPACE)
    monkeypatch.setattr(observability.metrics.provider, "namespace", "TourBooking")

    # given two properties, one of whose ResMan answers errors
    good, bad = refresh_property(clean_db), refresh_property(clean_db)
    source = FakeResMan(failing={resman_ids(clean_db, bad)[1]})
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    context = LambdaContext("tour-booking-cache-refresh-test", 1024, 300)
    # when the scheduled event arrives
    with pytest.raises(CacheRefreshFailedError, match="1 of 2"):
        lambda_handler(event, context, source=source)
    # then the good property was refreshed all the same (Lambda's Errors metric fires the alarm for the bad one)
    assert len(cached_days(clean_db, good)) == 14
    # and when ResMan recovers, the handler answers the per-property results
    source.failing.clear()
    summary = lambda_handler(event, context, source=source)
    assert (summary["properties"], summary["failed"]) == (2, 0)
    assert {r["property_id"] for r in summary["results"]} == {str(good), str(bad)}


def test_a_booking_racing_a_refresh_is_not_overwritten(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from tour_booking.db.schedules_repository import get_schedule
    from tour_booking.domain import slot_layouts
    from tour_booking.refresh import resman_refresh

    real_days_json = slot_layouts.days_json

    # given a cached property, and a refresh that pauses after counting the tours, before writing the days
    property_id = refresh_property(clean_db, capacity=4)
    refresh_all(FakeResMan(), now=NOW)
    with psycopg.connect(clean_db, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        schedule = get_schedule(conn, property_id)
    assert schedule is not None
    counted = threading.Event()

    def slow_days_json(*args: Any) -> str:
        counted.set()
        threading.Event().wait(0.5)
        return real_days_json(*args)

    monkeypatch.setattr(slot_layouts, "days_json", slow_days_json)
    results: list[Any] = []
    refresh = threading.Thread(
        target=lambda: results.append(resman_refresh.refresh_property(property_id, schedule, None, get_settings(), NOW))
    )
    # when a tour is booked in that pause
    refresh.start()
    assert counted.wait(5)
    add_tour(clean_db, property_id, TOMORROW_10)
    refresh.join()
    # then the cached slot counts it: the booking waited for the refresh and corrected the day after it
    assert results[0].ok, results[0].error
    assert slot(cached_days(clean_db, property_id), TOMORROW_10)["remaining"] == 3


def test_a_change_stamped_by_a_resman_clock_ahead_of_ours_is_read_and_the_watermark_stays_behind_now(
    clean_db: str,
) -> None:
    # given ResMan's clock an hour ahead: a Show logged "in our future"
    property_id = refresh_property(clean_db)
    _, resman_property = resman_ids(clean_db, property_id)
    start = NOW - timedelta(hours=1)
    tour_id = add_tour(clean_db, property_id, start, resman_prospect_id="P1", resman_appointment_id="A1")
    ahead = NOW + timedelta(hours=1)
    source = FakeResMan()
    source.add(
        resman_property,
        FakeProspect("P1", ahead, [FakeEvent("Appointment", start, "A1"), FakeEvent("Show", ahead, "S1")]),
    )
    # when the refresh runs
    refresh_all(source, now=NOW)
    # then the change is read, and the watermark still stops at our now minus the overlap
    assert tour_row(clean_db, tour_id)["status"] == "completed"
    mark = watermark(clean_db, property_id)
    assert mark is not None
    assert mark["modified_since"] == NOW - timedelta(minutes=5)


def test_refresh_deletes_expired_idempotency_keys_and_keeps_live_ones(clean_db: str) -> None:
    # given one key past its 24 hours and one still live
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO idempotency_record (key, request_hash, expires_at) VALUES ('old', 'h', %s), ('live', 'h', %s)",
            (NOW - timedelta(minutes=1), NOW + timedelta(hours=1)),
        )
    # when the refresh runs
    report = refresh_all(FakeResMan(), now=NOW)
    # then only the expired key is gone
    with psycopg.connect(clean_db) as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM idempotency_record")]
    assert keys == ["live"]
    assert report.expired_idempotency_keys == 1
