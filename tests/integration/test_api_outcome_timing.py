"""`completed` and `no_show` only once the tour has started: through DomIQ's PATCH and through the cache refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import builders
from tests.api_events import call
from tests.builders import add_tour, future_slot, new_conversation, new_property, start_has_passed, tour_body, tour_row
from tests.fakes import FakeEvent, FakeProspect, FakeResMan
from tour_booking.refresh.resman_refresh import refresh_all


def _confirmed_tour(clean_db: str, days_ahead: int = 3) -> dict[str, Any]:
    booked = call("POST", "/tours", tour_body(new_property(), new_conversation(clean_db), future_slot(days_ahead)))
    assert booked.status == 201, booked.json
    confirmed = call("PATCH", f"/tours/{booked.json['id']}", {"status": "confirmed"})
    assert confirmed.status == 200, confirmed.json
    return confirmed.json  # type: ignore[no-any-return]


@pytest.mark.parametrize("outcome", ["completed", "no_show"])
def test_an_outcome_before_the_tour_starts_is_409_and_changes_nothing(clean_db: str, outcome: str) -> None:
    # given a confirmed tour three days ahead
    tour = _confirmed_tour(clean_db)
    # when DomIQ marks it completed or no-show
    answer = call("PATCH", f"/tours/{tour['id']}", {"status": outcome})
    # then it is 409 invalid_transition, in the error shape, and the tour is as it was
    assert answer.status == 409, answer.json
    assert answer.json["error"]["code"] == "invalid_transition"
    assert answer.json["error"]["details"] == [
        {"loc": ["body", "status"], "type": "invalid_transition", "msg": "the tour has not started"}
    ]
    assert call("GET", f"/tours/{tour['id']}").json == tour


@pytest.mark.parametrize("outcome", ["completed", "no_show"])
def test_an_outcome_once_the_tour_has_started_is_taken(clean_db: str, outcome: str) -> None:
    # given a confirmed tour whose start has come (a minute ago)
    tour = _confirmed_tour(clean_db)
    start_has_passed(clean_db, tour["id"], timedelta(minutes=1))
    # when DomIQ marks its outcome, then it is taken, versioned and queued like any change
    answer = call("PATCH", f"/tours/{tour['id']}", {"status": outcome})
    assert answer.status == 200, answer.json
    assert (answer.json["status"], answer.json["version"], answer.json["sync_status"]) == (outcome, 3, "pending")


def test_cancelling_before_the_start_is_still_allowed(clean_db: str) -> None:
    tour = _confirmed_tour(clean_db)
    answer = call("PATCH", f"/tours/{tour['id']}", {"status": "cancelled"})
    assert answer.status == 200, answer.json
    assert answer.json["status"] == "cancelled"


NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 in New York


def test_the_refresh_completes_a_tour_only_once_it_has_started(clean_db: str) -> None:
    # given a tour three days ahead whose ResMan prospect already carries a Show dated at the appointment
    property_id = builders.refresh_property(clean_db)
    _, resman_property = builders.resman_ids(clean_db, property_id)
    start = NOW + timedelta(days=3, hours=1)
    tour_id = add_tour(clean_db, property_id, start, resman_prospect_id="P1", resman_appointment_id="A1")
    source = FakeResMan()
    keyed_ahead = FakeProspect(
        "P1", NOW - timedelta(hours=1), [FakeEvent("Appointment", start, "A1"), FakeEvent("Show", start, "S1")]
    )
    source.add(resman_property, keyed_ahead)
    # when the refresh runs now, then the tour stays scheduled: it has not started
    report = refresh_all(source, now=NOW)
    assert report.results[0].ok, report.results[0].error
    assert report.results[0].completed == 0
    assert tour_row(clean_db, tour_id)["status"] == "scheduled"
    # and when ResMan records the Show at the tour and a refresh runs after the start, then it is completed
    keyed_ahead.modified_at = start + timedelta(minutes=5)
    later = refresh_all(source, now=start + timedelta(minutes=10))
    assert later.results[0].completed == 1
    assert tour_row(clean_db, tour_id)["status"] == "completed"


def test_the_refresh_marks_no_show_only_after_the_start_and_grace(clean_db: str) -> None:
    # given a tour that has not started yet and nothing about it in ResMan
    property_id = builders.refresh_property(clean_db)
    tour_id = add_tour(clean_db, property_id, NOW + timedelta(hours=1), resman_prospect_id="P1")
    # when refreshes run before the start and within the grace, then it stays scheduled
    for now in (NOW, NOW + timedelta(hours=2)):
        refresh_all(FakeResMan(), now=now)
        assert tour_row(clean_db, tour_id)["status"] == "scheduled"
    # and past the start plus the grace (120 minutes by default) it is a no-show
    refresh_all(FakeResMan(), now=NOW + timedelta(hours=3, minutes=1))
    assert tour_row(clean_db, tour_id)["status"] == "no_show"
