"""The cache refresh through its Lambda handler against the ResMan test double over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.builders import add_tour, cached_days, refresh_property, tour_row, watermark
from tools.local_lambda import LambdaContext
from tools.resman_double import DoubleHandle, Fault, start_double
from tour_booking import observability
from tour_booking.resman.client import get_resman_client
from tour_booking.settings import get_settings

ACCOUNT = "400"
EVENT = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.fixture
def double(monkeypatch: pytest.MonkeyPatch) -> Iterator[DoubleHandle]:
    handle = start_double(port=0)
    monkeypatch.setenv("RESMAN_BASE_URL", handle.url)
    monkeypatch.setenv("RESMAN_INTEGRATION_PARTNER_ID", "partner")
    monkeypatch.setenv("RESMAN_API_KEY", "key")
    monkeypatch.delenv("RESMAN_SECRET_ARN", raising=False)
    monkeypatch.setenv("RESMAN_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RESMAN_BACKOFF_BASE_SECONDS", "0")
    monkeypatch.setenv("RESMAN_BACKOFF_MAX_SECONDS", "0")
    monkeypatch.setenv("RESMAN_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    get_resman_client.cache_clear()
    yield handle
    handle.stop()
    get_settings.cache_clear()
    get_resman_client.cache_clear()


def refresh() -> dict[str, Any]:
    from functions.cache_refresh import app

    observability.metrics.provider.namespace = "TourBooking"  # as template.yaml's POWERTOOLS_METRICS_NAMESPACE
    result: dict[str, Any] = app.lambda_handler(EVENT, LambdaContext("cache-refresh", 1769, 300))
    return result


def property_in_double(url: str, double: DoubleHandle, **overrides: Any) -> tuple[uuid.UUID, str]:
    resman_property = str(uuid.uuid4())
    double.state.add_property(ACCOUNT, resman_property)
    return refresh_property(
        url, resman_account_id=ACCOUNT, resman_property_id=resman_property, **overrides
    ), resman_property


def next_local_ten() -> datetime:
    """10:00 in New York the day after tomorrow, as UTC (a slot of the default schedule, whatever the date)."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def test_a_staff_booked_resman_appointment_blocks_its_slot(clean_db: str, double: DoubleHandle) -> None:
    # given a capacity-1 property and an appointment staff booked in ResMan (the double's test control)
    property_id, resman_property = property_in_double(
        clean_db,
        double,
        capacity=1,
        timezone="UTC",
        weekly_hours={d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    double.state.add_staff_appointment(ACCOUNT, resman_property, start)
    # when the scheduled refresh runs
    summary = refresh()
    # then the slot is full in the cache and the database refuses one more tour there
    assert (summary["properties"], summary["failed"]) == (1, 0), summary
    slots = [s for day in cached_days(clean_db, property_id).values() for s in day]
    taken = [s for s in slots if datetime.fromisoformat(s["start"]) == start]
    assert [s["remaining"] for s in taken] == [0]
    with pytest.raises(psycopg.errors.ExclusionViolation):
        add_tour(clean_db, property_id, start)


def test_show_cancel_and_lost_recorded_by_staff_become_outcomes(clean_db: str, double: DoubleHandle) -> None:
    # given three synced tours whose guest cards and appointments are in ResMan; the one that shows started an
    # hour ago (a tour is completed only once it has started), the others are ahead
    property_id, resman_property = property_in_double(clean_db, double, capacity=3)
    ahead = next_local_ten()
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    tours = {}
    for name in ("show", "cancel", "lost"):
        start = started if name == "show" else ahead
        prospect, event = double.state.add_staff_appointment(ACCOUNT, resman_property, start, first_name=name)
        tours[name] = (
            add_tour(
                clean_db,
                property_id,
                start,
                resman_prospect_id=prospect.prospect_id,
                resman_appointment_id=event.event_id,
                sync_status="success",
                synced_version=1,
            ),
            prospect.prospect_id,
        )
    # when staff cancel one and mark one lost now, and record a Show for the third once the time came
    double.state.set_outcome(tours["cancel"][1], "Cancel")
    double.state.set_outcome(tours["lost"][1], "lost")
    double.state.set_now(started + timedelta(minutes=10))
    double.state.set_outcome(tours["show"][1], "Show")
    summary = refresh()
    # then each tour has its outcome, none is queued back to ResMan, and no staff appointment was stored
    assert summary["failed"] == 0, summary
    assert {name: tour_row(clean_db, t)["status"] for name, (t, _) in tours.items()} == {
        "show": "completed",
        "cancel": "cancelled",
        "lost": "cancelled",
    }
    assert all(tour_row(clean_db, t)["sync_status"] == "success" for t, _ in tours.values())
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM resman_staff_appointment").fetchone() == (0,)


def test_a_property_whose_resman_fails_does_not_stop_the_others(clean_db: str, double: DoubleHandle) -> None:
    # given two properties known to ResMan and one ResMan refuses (no access to it)
    good, good_resman = property_in_double(clean_db, double)
    other, _ = property_in_double(clean_db, double)
    refused = refresh_property(clean_db, resman_account_id=ACCOUNT)
    start = next_local_ten()
    double.state.add_staff_appointment(ACCOUNT, good_resman, start)
    # when the refresh runs
    from functions.cache_refresh.app import CacheRefreshFailedError

    with pytest.raises(CacheRefreshFailedError, match="1 of 3"):
        refresh()
    # then the others were read and cached; the refused one has its error kept and its slots cached anyway
    assert watermark(clean_db, good)["last_error"] is None  # type: ignore[index]
    assert watermark(clean_db, other)["last_error"] is None  # type: ignore[index]
    assert "ResManAuthError" in watermark(clean_db, refused)["last_error"]  # type: ignore[index]
    assert all(len(cached_days(clean_db, p)) == 14 for p in (good, other, refused))


def test_resman_errors_leave_the_watermark_and_the_next_run_resumes(clean_db: str, double: DoubleHandle) -> None:
    # given a property read once, then a staff appointment booked while ResMan answers 503s
    property_id, resman_property = property_in_double(clean_db, double, capacity=1)
    refresh()
    first = watermark(clean_db, property_id)
    assert first is not None
    start = next_local_ten()
    double.state.add_staff_appointment(ACCOUNT, resman_property, start)
    double.state.add_fault(Fault("http_503", method="MITS/SearchProspects"))
    # when the refresh runs during the outage
    from functions.cache_refresh.app import CacheRefreshFailedError

    with pytest.raises(CacheRefreshFailedError):
        refresh()
    # then the watermark stayed, with the reason kept
    during = watermark(clean_db, property_id)
    assert during is not None
    assert during["modified_since"] == first["modified_since"]
    assert "ResManTransientError" in during["last_error"]
    # when ResMan recovers
    double.state.clear_faults()
    refresh()
    # then the change made during the outage is read and the watermark moves on
    after = watermark(clean_db, property_id)
    assert after is not None
    assert after["modified_since"] > first["modified_since"]
    assert after["last_error"] is None
    slots = [s for day in cached_days(clean_db, property_id).values() for s in day]
    assert [s["remaining"] for s in slots if datetime.fromisoformat(s["start"]) == start] == [0]


def test_buffer_overflow_windows_are_halved_over_http(clean_db: str, double: DoubleHandle) -> None:
    # given ResMan that overflows on windows of more than 2 changed prospects, and 5 staff appointments
    property_id, resman_property = property_in_double(clean_db, double, capacity=3)
    start = next_local_ten()
    for i in range(5):
        double.state.advance(60 * 60)  # modified an hour apart, so halving can separate them
        double.state.add_staff_appointment(ACCOUNT, resman_property, start + timedelta(hours=i % 2))
    double.state.set_now(datetime.now(UTC))
    double.state.max_window_prospects = 2
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO resman_watermark (property_id, modified_since) VALUES (%s, %s)",
            (property_id, datetime.now(UTC) - timedelta(hours=1)),
        )
    # when the refresh runs
    summary = refresh()
    # then every appointment was read through smaller windows
    assert summary["failed"] == 0, summary
    result = summary["results"][0]
    assert result["windows"] > 1
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM resman_staff_appointment").fetchone() == (5,)
