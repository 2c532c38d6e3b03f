"""The ResMan sync function end to end: SQS-shaped events, real PostgreSQL, the ResMan double over HTTP."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from functions.resman_sync.app import lambda_handler
from tests.api_events import LambdaContext
from tests.builders import (
    ACCOUNT,
    RESMAN_PROPERTY,
    add_tour,
    appointments,
    change_tour,
    sqs_event,
    synced_property,
    tour_row,
)
from tools.resman_double import DoubleHandle, Fault
from tour_booking import db
from tour_booking.resman.client import ResManClient
from tour_booking.resman.sync_adapter import ResManSyncAdapter
from tour_booking.sync.resman_sync import sync_tour

pytestmark = pytest.mark.usefixtures("resman_env")
CHICAGO = ZoneInfo("America/Chicago")
START = datetime(2027, 3, 14, 10, 30, tzinfo=CHICAGO)  # the day US clocks spring forward: CDT, UTC-5


def handle(event: dict[str, Any], client: ResManClient) -> list[str]:
    answer = lambda_handler(event, LambdaContext(function_name="resman-sync-test"), client=client)
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def posts(double: DoubleHandle) -> list[dict[str, Any]]:
    return double.state.requests("MITS/PostLeadManagement4_0")


def test_happy_path_creates_one_card_with_the_appointment_in_utc(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a new tour of a property on ResMan
    tour = add_tour(
        clean_db,
        synced_property(clean_db),
        START,
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+1 312 555 0101"},
    )
    # when its sync message is handled
    failures = handle(sqs_event((tour, 1)), client)
    # then ResMan holds one guest card with one appointment at the slot's UTC time, posted with an explicit Z
    assert failures == []
    [prospect] = double.state.all_prospects()
    assert (prospect.first_name, prospect.email, prospect.customer_type) == ("Ada", "ada@example.com", "prospect")
    [(_, event)] = appointments(double)
    assert event.event_date == datetime(2027, 3, 14, 15, 30, tzinfo=UTC)
    assert event.transaction_source == "7001"
    assert 'EventDate="2027-03-14T15:30:00Z"' in posts(double)[0]["fields"]["Xml"]
    # and the tour is synced with ResMan's ids
    row = tour_row(clean_db, tour)
    assert (row["sync_status"], row["synced_version"], row["last_sync_error"]) == ("success", 1, None)
    assert (row["resman_prospect_id"], row["resman_appointment_id"]) == (prospect.prospect_id, event.event_id)


def test_the_same_message_ten_times_gives_one_card_and_one_appointment(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour
    tour = add_tour(clean_db, synced_property(clean_db), START)
    # when its message arrives ten times: five in one batch, then five more one by one
    assert handle(sqs_event(*[(tour, 1)] * 5), client) == []
    for _ in range(5):
        assert handle(sqs_event((tour, 1)), client) == []
    # then one guest card, one appointment, one post
    assert len(double.state.all_prospects()) == 1
    assert len(appointments(double)) == 1
    assert len(posts(double)) == 1


def test_a_reschedule_moves_the_same_appointment(clean_db: str, double: DoubleHandle, client: ResManClient) -> None:
    # given a synced tour
    tour = add_tour(clean_db, synced_property(clean_db), START)
    assert handle(sqs_event((tour, 1)), client) == []
    first_id = tour_row(clean_db, tour)["resman_appointment_id"]
    # when it is rescheduled and the new and the late old message arrive in reverse order
    version = change_tour(clean_db, tour, scheduled_datetime=START + timedelta(days=1))
    assert handle(sqs_event((tour, version), (tour, 1)), client) == []
    # then the same appointment event moved: still one, at the new time
    [(_, event)] = appointments(double)
    assert event.event_id == first_id
    assert event.event_date == (START + timedelta(days=1)).astimezone(UTC)
    assert tour_row(clean_db, tour)["synced_version"] == version


def test_a_cancel_posts_a_cancel_event(clean_db: str, double: DoubleHandle, client: ResManClient) -> None:
    # given a synced tour
    tour = add_tour(clean_db, synced_property(clean_db), START)
    assert handle(sqs_event((tour, 1)), client) == []
    # when it is cancelled (twice delivered)
    version = change_tour(clean_db, tour, status="cancelled")
    assert handle(sqs_event((tour, version)), client) == []
    assert handle(sqs_event((tour, version)), client) == []
    # then one Cancel event follows the appointment, and no second card
    [prospect] = double.state.all_prospects()
    assert [e.event_type for e in prospect.events] == ["Appointment", "Cancel"]
    assert tour_row(clean_db, tour)["sync_status"] == "success"


def test_a_cancel_before_the_create_was_synced_creates_nothing(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour cancelled before its first sync ran
    tour = add_tour(clean_db, synced_property(clean_db), START)
    version = change_tour(clean_db, tour, status="cancelled")
    # when the create's and the cancel's messages arrive
    assert handle(sqs_event((tour, 1), (tour, version)), client) == []
    # then ResMan got no guest card just to cancel it, and the tour is synced
    assert double.state.all_prospects() == []
    assert posts(double) == []
    row = tour_row(clean_db, tour)
    assert (row["sync_status"], row["synced_version"]) == ("success", version)


def test_a_prospect_already_in_resman_is_reused(clean_db: str, double: DoubleHandle, client: ResManClient) -> None:
    # given guest cards that staff made earlier, one matching the tour's email and one its phone and last name
    # (and holding no email)
    by_email, _ = double.state.add_staff_appointment(
        ACCOUNT, RESMAN_PROPERTY, START - timedelta(days=3), email="grace@example.com"
    )
    by_phone, _ = double.state.add_staff_appointment(
        ACCOUNT, RESMAN_PROPERTY, START - timedelta(days=3), last_name="TURING", phone="(312) 555-0199"
    )
    prop = synced_property(clean_db)
    email_tour = add_tour(
        clean_db, prop, START, {"first_name": "Grace", "last_name": "Hopper", "email": "GRACE@example.com"}
    )
    phone_tour = add_tour(
        clean_db,
        prop,
        START,
        {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com", "phone": "+1 312 555 0199"},
    )
    # when both tours sync
    assert handle(sqs_event((email_tour, 1), (phone_tour, 1)), client) == []
    # then each tour's appointment went onto the existing card: no new card
    assert len(double.state.all_prospects()) == 2
    assert tour_row(clean_db, email_tour)["resman_prospect_id"] == by_email.prospect_id
    assert tour_row(clean_db, phone_tour)["resman_prospect_id"] == by_phone.prospect_id
    assert [p for p, _ in appointments(double, email_tour)] == [by_email.prospect_id]
    assert [p for p, _ in appointments(double, phone_tour)] == [by_phone.prospect_id]


@pytest.mark.parametrize(
    "fault",
    [
        Fault("http_500", times=2),
        Fault("http_502", times=2),
        Fault("http_503", times=2),
        Fault("http_504", times=2),
        Fault("http_429", times=2, retry_after=0.01),
        Fault("malformed_xml", times=2),
        Fault("hang", times=1, seconds=1.0),
        Fault("latency", times=3, seconds=0.1),
        Fault("http_504", times=1, after_commit=True),
        Fault("hang", times=1, seconds=1.0, after_commit=True),
    ],
    ids=lambda f: f"{f.kind}{'-after-commit' if f.after_commit else ''}",
)
def test_transient_faults_end_in_success_without_duplicates(
    clean_db: str, double: DoubleHandle, client: ResManClient, fault: Fault
) -> None:
    # given a tour and ResMan failing transiently on every method
    tour = add_tour(clean_db, synced_property(clean_db), START)
    double.state.add_fault(Fault(**{**fault.__dict__, "method": "*"}))
    # when SQS delivers its message until it is acknowledged
    event = sqs_event((tour, 1))
    for _ in range(5):
        if not handle(event, client):
            break
    # then it is synced with one card and one appointment
    assert tour_row(clean_db, tour)["sync_status"] == "success"
    assert len(double.state.all_prospects()) == 1
    assert len(appointments(double)) == 1


def test_a_transient_failure_fails_the_message_and_keeps_the_tour_pending(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given ResMan down, and a batch with its tour and one of a property that never calls ResMan
    tour = add_tour(clean_db, synced_property(clean_db), START)
    other = add_tour(clean_db, synced_property(clean_db, resman=False), START)
    double.state.add_fault(Fault("http_503"))
    # when the batch is handled
    event = sqs_event((tour, 1), (other, 1))
    failures = handle(event, client)
    # then only the ResMan tour's message fails (SQS retries it); it stays pending, attempt counted, no PII kept
    assert failures == [event["Records"][0]["messageId"]]
    assert len(double.state.requests()) == 4  # RESMAN_MAX_ATTEMPTS
    row = tour_row(clean_db, tour)
    assert (row["sync_status"], row["sync_attempts"]) == ("pending", 1)
    assert "HTTP 503" in row["last_sync_error"]
    assert "@example.com" not in row["last_sync_error"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("status_failed", "Transaction Source could not be found"),
        ("status_error", "An unexpected error occurred"),
        ("bad_credentials", "Invalid credentials"),
    ],
)
def test_a_permanent_error_ends_failed_with_its_reason(
    clean_db: str, double: DoubleHandle, client: ResManClient, kind: str, reason: str
) -> None:
    # given ResMan refusing the post
    tour = add_tour(clean_db, synced_property(clean_db), START)
    double.state.add_fault(Fault(kind, method="MITS/PostLeadManagement4_0"))
    # when the message is handled
    failures = handle(sqs_event((tour, 1)), client)
    # then it is acknowledged and the tour is failed with ResMan's reason, after a single post (no retry)
    assert failures == []
    row = tour_row(clean_db, tour)
    assert row["sync_status"] == "failed"
    assert reason in row["last_sync_error"]
    assert len(posts(double)) == 1


def test_a_failed_tour_stays_failed_on_a_duplicate_message_until_it_is_set_pending(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour ResMan refused once (its message acknowledged, the tour failed)
    tour = add_tour(clean_db, synced_property(clean_db), START)
    double.state.add_fault(Fault("status_failed", method="MITS/PostLeadManagement4_0", times=1))
    assert handle(sqs_event((tour, 1)), client) == []
    calls = len(double.state.requests())
    # when a duplicate of its message arrives (a sweeper copy, a redrive), ResMan now willing
    assert handle(sqs_event((tour, 1)), client) == []
    # then it is acknowledged without asking ResMan again, and the verdict and its reason stay
    row = tour_row(clean_db, tour)
    assert (row["sync_status"], row["sync_attempts"]) == ("failed", 1)
    assert "Transaction Source could not be found" in row["last_sync_error"]
    assert len(double.state.requests()) == calls
    # and once an operator sets it pending (the README's runbook), the next message syncs it
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE tour_booking_sync SET sync_status = 'pending' WHERE id = %s", (tour,))
    assert handle(sqs_event((tour, 1)), client) == []
    assert tour_row(clean_db, tour)["sync_status"] == "success"
    assert len(appointments(double, tour)) == 1


def test_a_property_without_resman_ids_fails_the_tour(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour of a property that has no ResMan ids
    tour = add_tour(clean_db, synced_property(clean_db, resman=False), START)
    # when it syncs
    assert handle(sqs_event((tour, 1)), client) == []
    # then it fails with the reason, without a call to ResMan
    row = tour_row(clean_db, tour)
    assert row["sync_status"] == "failed"
    assert row["last_sync_error"] == "the property has no ResMan account or property id"
    assert double.state.requests() == []


def test_two_concurrent_syncs_of_one_tour_post_it_once(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour and a slow ResMan, so two syncs would overlap
    tour = add_tour(clean_db, synced_property(clean_db), START)
    double.state.add_fault(Fault("latency", seconds=0.2))
    results: list[str] = []
    barrier = threading.Barrier(3)

    def container() -> None:
        barrier.wait()
        try:
            results.append(sync_tour(tour, 1, ResManSyncAdapter(client)).result)
        finally:
            db.close()

    # when two containers (threads with their own connections) sync it at once, twice over
    threads = [threading.Thread(target=container) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one synced it and the others found it synced: one card, one appointment
    assert sorted(results) == ["already_synced", "already_synced", "synced"]
    assert len(double.state.all_prospects()) == 1
    assert len(appointments(double)) == 1


def test_200_tours_with_30_percent_transient_faults_all_end_success_without_duplicates(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given 200 tours (some sharing a prospect) and ResMan failing 30% of calls, some after acting
    prop = synced_property(clean_db)
    emails = [f"p{i % 150}@example.com" for i in range(200)]
    tours = [
        add_tour(
            clean_db,
            prop,
            START + timedelta(minutes=30 * (i % 40)),
            {"first_name": "P", "last_name": str(i), "email": emails[i]},
        )
        for i in range(200)
    ]
    double.state.add_fault(Fault("http_503", probability=0.15))
    double.state.add_fault(Fault("http_502", probability=0.1, after_commit=True))
    double.state.add_fault(Fault("malformed_xml", probability=0.05))
    # when SQS delivers batches of 10 (each message twice) and redelivers the failed ones
    pending = [(t, 1) for t in tours] * 2
    rounds = 0
    while pending and rounds < 30:
        rounds += 1
        retry: list[tuple[uuid.UUID, int]] = []
        for offset in range(0, len(pending), 10):
            event = sqs_event(*pending[offset : offset + 10])
            failed = set(handle(event, client))
            retry += [
                m
                for m, r in zip(pending[offset : offset + 10], event["Records"], strict=True)
                if r["messageId"] in failed
            ]
        pending = retry
    # then every tour is synced, with one card per prospect and one appointment per tour
    double.state.clear_faults()
    assert pending == []
    assert {tour_row(clean_db, t)["sync_status"] for t in tours} == {"success"}
    cards: dict[str, int] = {}
    for prospect in double.state.all_prospects():
        cards[prospect.email or ""] = cards.get(prospect.email or "", 0) + 1
    assert len(cards) == 150
    assert set(cards.values()) == {1}
    for tour in tours:
        assert len(appointments(double, tour)) == 1


def test_a_completed_tour_gets_one_show_event(clean_db: str, double: DoubleHandle, client: ResManClient) -> None:
    # given two synced tours, one of which staff already marked shown in ResMan
    prop = synced_property(clean_db)
    ours, staffs = add_tour(clean_db, prop, START), add_tour(clean_db, prop, START)
    assert handle(sqs_event((ours, 1), (staffs, 1)), client) == []
    double.state.set_now(START + timedelta(minutes=5))
    double.state.set_outcome(tour_row(clean_db, staffs)["resman_prospect_id"], "Show")
    # when DomIQ marks both completed (delivered twice)
    versions = [(t, change_tour(clean_db, t, status="completed")) for t in (ours, staffs)]
    assert handle(sqs_event(*versions, *versions), client) == []
    # then each card holds exactly one Show after its appointment
    for tour in (ours, staffs):
        prospect = double.state.prospect(tour_row(clean_db, tour)["resman_prospect_id"])
        assert prospect is not None
        assert [e.event_type for e in prospect.events] == ["Appointment", "Show"]
        assert prospect.events[1].event_date >= prospect.events[0].event_date


def test_two_tours_of_one_new_prospect_synced_at_once_share_one_card(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given two new prospects booking two tours each (one of them gave only a phone: the phone and last name
    # rule), and a slow ResMan so syncs overlap
    prop = synced_property(clean_db)
    lin = {"first_name": "Lin", "last_name": "Wu", "email": "lin@example.com", "phone": "+1 312 555 0142"}
    bo = {"first_name": "Bo", "last_name": "Chen", "phone": "+1 312 555 0143"}
    by_email = [add_tour(clean_db, prop, START + timedelta(hours=h), lin) for h in range(2)]
    by_phone = [
        add_tour(clean_db, prop, START + timedelta(hours=h), {**bo, "last_name": n})
        for h, n in ((3, "Chen"), (4, "CHEN"))
    ]
    double.state.add_fault(Fault("latency", seconds=0.1))
    # when their messages arrive in one batch (synced concurrently)
    assert handle(sqs_event(*[(t, 1) for t in by_email + by_phone]), client) == []
    # then each prospect's tours share one guest card with two appointments
    cards = double.state.all_prospects()
    assert len(cards) == 2
    assert all([e.event_type for e in card.events] == ["Appointment"] * 2 for card in cards)
    for tours in (by_email, by_phone):
        assert len({tour_row(clean_db, t)["resman_prospect_id"] for t in tours}) == 1


def test_missing_credentials_retry_the_message_instead_of_failing_the_tour(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a container whose ResMan credentials are not configured
    from tour_booking.settings import get_settings

    unconfigured = ResManClient(get_settings().model_copy(update={"resman_api_key": None}))
    tour = add_tour(clean_db, synced_property(clean_db), START)
    # when the message is handled
    event = sqs_event((tour, 1))
    failures = handle(event, unconfigured)
    # then the message is retried (our configuration, not the tour, is at fault) and the tour stays pending
    assert failures == [event["Records"][0]["messageId"]]
    assert tour_row(clean_db, tour)["sync_status"] == "pending"
    assert double.state.requests() == []
