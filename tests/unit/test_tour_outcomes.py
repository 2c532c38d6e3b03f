"""Tour outcomes decided from ResMan prospects: pure functions, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tour_booking.domain.enums import TourStatus
from tour_booking.domain.guest_card import TOUR_MARKER, CardEvent, GuestCard
from tour_booking.domain.tour_outcomes import (
    SHOW_EARLY_TOLERANCE,
    TourState,
    allowed,
    decide_outcomes,
    is_no_show,
    resman_outcome,
    staff_appointments,
)

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
GRACE = timedelta(minutes=120)
LATER = START + timedelta(hours=6)  # the refresh that reads the outcomes, after the tour


def event(event_type: str, event_date: datetime | None, event_id: str | None = None) -> CardEvent:
    return CardEvent(event_id=event_id, event_type=event_type, event_date=event_date)


def guest(prospect_id: str, events: list[CardEvent], customer_type: str | None = "prospect") -> GuestCard:
    return GuestCard(prospect_id=prospect_id, customer_type=customer_type, events=tuple(events))


def tour(status: TourStatus = TourStatus.SCHEDULED, appointment_id: str | None = "A1") -> TourState:
    return TourState(uuid.uuid4(), status, START, "P1", appointment_id)


def appointment(event_id: str = "A1", at: datetime = START) -> CardEvent:
    return event("Appointment", at, event_id)


def test_show_after_the_appointment_completes_a_scheduled_or_confirmed_tour() -> None:
    # given a prospect whose appointment was followed by a Show
    prospect = guest("P1", [appointment(), event("Show", START + timedelta(minutes=5), "S1")])
    # when / then
    assert resman_outcome(tour(), prospect, "Appointment", LATER) is TourStatus.COMPLETED
    assert resman_outcome(tour(TourStatus.CONFIRMED), prospect, "Appointment", LATER) is TourStatus.COMPLETED


def test_a_show_long_before_the_appointment_is_not_this_tour() -> None:
    # given a Show logged the day before (an earlier visit)
    prospect = guest("P1", [event("Show", START - timedelta(days=1), "S0"), appointment()])
    # then the tour is not completed by it
    assert resman_outcome(tour(), prospect, "Appointment", LATER) is None


def test_cancel_logged_after_the_appointment_cancels_it() -> None:
    prospect = guest("P1", [appointment(), event("Cancel", START - timedelta(days=1), "C1")])
    assert resman_outcome(tour(), prospect, "Appointment", LATER) is TourStatus.CANCELLED


def test_cancel_logged_before_the_appointment_was_booked_does_not_cancel_it() -> None:
    prospect = guest("P1", [event("Cancel", START - timedelta(days=3), "C0"), appointment()])
    assert resman_outcome(tour(), prospect, "Appointment", LATER) is None


def test_lost_prospect_cancels_but_a_show_wins() -> None:
    lost = guest("P1", [appointment()], customer_type="lost")
    toured_then_lost = guest("P1", [appointment(), event("Show", START, "S1")], customer_type="lost")
    assert resman_outcome(tour(), lost, "Appointment", LATER) is TourStatus.CANCELLED
    assert resman_outcome(tour(), toured_then_lost, "Appointment", LATER) is TourStatus.COMPLETED


def test_resman_without_the_current_appointment_says_nothing() -> None:
    # given a tour rescheduled here whose new time ResMan has not received yet
    prospect = guest("P1", [appointment(at=START - timedelta(days=1)), event("Cancel", START, "C1")])
    # then ResMan's cancel of the old appointment does not touch the tour
    assert resman_outcome(tour(), prospect, "Appointment", LATER) is None


def test_appointment_found_by_start_when_the_sync_has_not_stored_its_id() -> None:
    prospect = guest("P1", [appointment("X9"), event("Show", START, "S1")])
    assert resman_outcome(tour(appointment_id=None), prospect, "Appointment", LATER) is TourStatus.COMPLETED


@pytest.mark.parametrize("final", [TourStatus.COMPLETED, TourStatus.CANCELLED, TourStatus.NO_SHOW])
def test_finished_tours_never_move(final: TourStatus) -> None:
    prospect = guest("P1", [appointment(), event("Cancel", START, "C1")], customer_type="lost")
    assert resman_outcome(tour(final), prospect, "Appointment", LATER) is None
    assert not is_no_show(tour(final), START + 2 * GRACE, GRACE)
    assert not allowed(final, TourStatus.COMPLETED)


def test_no_show_only_after_the_grace() -> None:
    assert not is_no_show(tour(), START + GRACE - timedelta(seconds=1), GRACE)
    assert is_no_show(tour(), START + GRACE, GRACE)


def test_decide_outcomes_prefers_resman_and_no_shows_only_when_asked() -> None:
    # given one tour with a Show and one without anything, both past the grace
    shown, silent = tour(), TourState(uuid.uuid4(), TourStatus.CONFIRMED, START, "P2", "A2")
    prospects = [guest("P1", [appointment(), event("Show", START, "S1")])]
    now = START + GRACE
    # when deciding with and without no-shows
    with_no_shows = decide_outcomes([shown, silent], prospects, "Appointment", now, GRACE, no_shows=True)
    without = decide_outcomes([shown, silent], prospects, "Appointment", now, GRACE, no_shows=False)
    # then
    assert with_no_shows == {shown.id: TourStatus.COMPLETED, silent.id: TourStatus.NO_SHOW}
    assert without == {shown.id: TourStatus.COMPLETED}


def test_staff_appointments_are_the_upcoming_uncancelled_ones_that_are_not_our_tours() -> None:
    today = START - timedelta(hours=10)
    ours = [tour(appointment_id="A0"), TourState(uuid.uuid4(), TourStatus.SCHEDULED, START, "P7", None)]
    prospects = [
        guest("P1", [appointment("A0"), appointment("E0", START + timedelta(days=1))]),
        guest("P7", [appointment("X7")]),
        guest("S1", [appointment("E1")]),
        guest("S2", [appointment("E2"), event("Cancel", today, "C2"), appointment("E3", START + timedelta(hours=1))]),
        guest("S3", [appointment("E4")], customer_type="lost"),
        guest("S4", [appointment("E5", today - timedelta(days=1))]),
        guest("S5", [appointment("E6"), event("Show", START, "S6")]),
    ]
    held = staff_appointments(prospects, ours, "Appointment", today)
    assert held == {
        "P1": [("E0", START + timedelta(days=1))],  # staff booked our prospect again: that one is theirs
        "P7": [],  # our tour, whose event id the sync has not stored yet
        "S1": [("E1", START)],
        "S2": [("E3", START + timedelta(hours=1))],
        "S3": [],
        "S4": [],
        "S5": [],
    }


def test_a_cancel_we_posted_for_another_tour_of_the_prospect_leaves_this_one_alone() -> None:
    # given two tours on one guest card, and the Cancel we posted for the first, logged after both appointments
    first, second = tour(appointment_id="A1"), tour(appointment_id="A2")
    later = START + timedelta(days=2)
    second = TourState(second.id, second.status, later, "P1", "A2")
    cancel_first = CardEvent(
        event_id="C1", event_type="Cancel", event_date=START, comments=TOUR_MARKER.format(tour_id=first.id)
    )
    prospect = guest("P1", [appointment("A1"), appointment("A2", later), cancel_first])

    # when / then: the first tour is cancelled, the second is not
    assert resman_outcome(first, prospect, "Appointment", LATER) is TourStatus.CANCELLED
    assert resman_outcome(second, prospect, "Appointment", LATER) is None


def test_a_cancel_staff_logged_without_a_tour_marker_cancels_the_appointments_before_it() -> None:
    prospect = guest("P1", [appointment("A1"), event("Cancel", START, "C1")])
    assert resman_outcome(tour(appointment_id="A1"), prospect, "Appointment", LATER) is TourStatus.CANCELLED


def test_a_tour_that_has_not_started_is_not_completed_by_a_show() -> None:
    # given a tour three days ahead whose prospect carries a Show dated at the appointment (keyed in ahead)
    prospect = guest("P1", [appointment(), event("Show", START + timedelta(minutes=5), "S1")])
    before = START - timedelta(days=3)
    # when the refresh decides three days before, then the tour is not completed: it has not started
    assert resman_outcome(tour(), prospect, "Appointment", before) is None
    assert decide_outcomes([tour()], [prospect], "Appointment", before, GRACE, no_shows=True) == {}
    # and a check-in a little early completes it from SHOW_EARLY_TOLERANCE before the start on
    early = guest("P1", [appointment(), event("Show", START - timedelta(minutes=10), "S1")])
    assert resman_outcome(tour(), early, "Appointment", START - SHOW_EARLY_TOLERANCE) is TourStatus.COMPLETED
    too_soon = START - SHOW_EARLY_TOLERANCE - timedelta(seconds=1)
    assert resman_outcome(tour(), early, "Appointment", too_soon) is None


def test_a_cancel_or_lost_mark_before_a_returning_prospects_tour_never_cancels_it() -> None:
    # given a card cancelled months ago, then reactivated by the sync for this tour's appointment
    months_ago = START - timedelta(days=120)
    returning = guest(
        "P1",
        [
            event("Appointment", months_ago, "A0"),
            event("Cancel", months_ago, "C0"),
            event("ReActivate", START - timedelta(days=1), "R1"),
            appointment(),
        ],
    )
    # then the old Cancel and the old lost mark say nothing about this tour
    assert resman_outcome(tour(), returning, "Appointment", LATER) is None


def test_a_reactivation_logged_after_the_appointment_means_a_lost_mark_in_between() -> None:
    later = guest(
        "P1", [appointment(), event("ReActivate", START, "R1"), appointment("A2", START + timedelta(hours=1))]
    )
    assert resman_outcome(tour(), later, "Appointment", LATER) is TourStatus.CANCELLED
    # and the event type is the configured one
    assert resman_outcome(tour(), later, "Appointment", LATER, reactivate_type="Revive") is None
