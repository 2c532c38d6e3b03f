"""Tour events (README "Tour events"): the outbox written with every change, the publisher on moto's EventBridge,
ordering, crashes, reminders, the refresh's and the sync's events, privacy and the detail schemas."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from functions.event_publisher.app import lambda_handler
from tests import builders
from tests.api_events import LambdaContext, call
from tests.builders import future_slot, new_conversation, new_property, tour_body
from tests.fakes import FakeEvent, FakeProspect, FakeResMan
from tests.integration.buses import BusProbe, PublisherKilled, RecordingBus, details, expire_leases, outbox, tour_events
from tour_booking import db
from tour_booking.domain.tour_events import DETAIL_TYPES
from tour_booking.events.event_publisher import publish_pending
from tour_booking.refresh.resman_refresh import refresh_all

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "events"
COMMON = {
    "event_id",
    "tour_id",
    "property_id",
    "conversation_id",
    "status",
    "tour_type",
    "scheduled_datetime",
    "version",
    "occurred_at",
    "origin",
}


def book(property_id: uuid.UUID, conversation_id: uuid.UUID, start: str, **overrides: Any) -> dict[str, Any]:
    answer = call("POST", "/tours", tour_body(property_id, conversation_id, start, **overrides))
    assert answer.status == 201, answer.json
    return answer.json  # type: ignore[no-any-return]


def patch(tour_id: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = call("PATCH", f"/tours/{tour_id}", body)
    assert answer.status == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def test_a_committed_booking_publishes_exactly_its_event(clean_db: str, event_bus: BusProbe) -> None:
    # given a tour booked through the API
    property_id = new_property()
    tour = book(property_id, new_conversation(clean_db), future_slot(days_ahead=3, hour=10))
    # when the publisher runs (twice)
    first = publish_pending(event_bus.events)
    second = publish_pending(event_bus.events)
    # then the bus delivered one TourBooked, with its schema's detail (schemas/events/), and the second run sent nothing
    assert (first.published, second.published, second.pending) == (1, 0, 0)
    [event] = event_bus.delivered()
    assert (event["source"], event["detail-type"]) == ("tour-booking", "TourBooked")
    detail = event["detail"]
    assert set(detail) == COMMON
    assert detail["tour_id"] == tour["id"]
    assert (detail["property_id"], detail["conversation_id"]) == (str(property_id), tour["conversation_id"])
    assert (detail["status"], detail["tour_type"], detail["version"], detail["origin"]) == (
        "scheduled",
        "in_person",
        1,
        "domiq",
    )
    # the start with the property's offset (America/New_York), as the API answers it
    assert detail["scheduled_datetime"] == tour["scheduled_datetime"]
    assert detail["event_id"] == str(outbox(clean_db)[0]["event_id"])


def test_a_rolled_back_change_publishes_nothing(clean_db: str, event_bus: BusProbe) -> None:
    # given a booked tour whose event went out
    property_id = new_property(capacity=1)
    conversation = new_conversation(clean_db)
    tour = book(property_id, conversation, future_slot(days_ahead=3, hour=10))
    publish_pending(event_bus.events)
    event_bus.delivered()
    # when a writer cancels it and rolls back, and a booking is refused (the slot is full)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("UPDATE tour_booking_sync SET status = 'cancelled' WHERE id = %s", (tour["id"],))
        raise RuntimeError("rolled back")
    refused = call("POST", "/tours", tour_body(property_id, conversation, future_slot(days_ahead=3, hour=10)))
    assert refused.status == 409
    # then nothing is pending and nothing is published
    assert publish_pending(event_bus.events).published == 0
    assert event_bus.delivered() == []
    assert len(outbox(clean_db)) == 1


def test_each_change_emits_its_event_in_version_order(clean_db: str, event_bus: BusProbe) -> None:
    # given a tour booked, rescheduled, its notes changed, confirmed, then cancelled through the API
    property_id = new_property()
    tour = book(property_id, new_conversation(clean_db), future_slot(days_ahead=3, hour=10))
    old_start = tour["scheduled_datetime"]
    moved = patch(tour["id"], {"scheduled_datetime": future_slot(days_ahead=4, hour=11)})
    patch(tour["id"], {"staff_notes": "bring the keys"})
    patch(tour["id"], {"status": "confirmed"})
    patch(tour["id"], {"status": "cancelled"})
    # when the publisher runs
    publish_pending(event_bus.events)
    # then DomIQ hears each change once, in order (a notes change is nothing DomIQ hears of)
    delivered = event_bus.delivered()
    delivered.sort(key=lambda e: (e["detail"]["version"], e["detail"]["occurred_at"]))
    assert tour_events(delivered, tour["id"]) == ["TourBooked", "TourRescheduled", "TourConfirmed", "TourCancelled"]
    rescheduled = details(delivered, "TourRescheduled")[0]
    assert rescheduled["previous_scheduled_datetime"] == old_start
    assert rescheduled["scheduled_datetime"] == moved["scheduled_datetime"]
    assert [e["detail"]["status"] for e in delivered] == ["scheduled", "scheduled", "confirmed", "cancelled"]
    assert {e["detail"]["origin"] for e in delivered} == {"domiq"}
    assert len({e["detail"]["event_id"] for e in delivered}) == 4


def _events_of_many_tours(clean_db: str, tours: int) -> list[str]:
    """`tours` tours with three events each (booked, rescheduled, cancelled), written straight in SQL."""
    property_id = builders.refresh_property(clean_db, capacity=100)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    ids = []
    for index in range(tours):
        tour_id = builders.add_tour(clean_db, property_id, start + timedelta(hours=index % 3))
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute(
                "UPDATE tour_booking_sync SET scheduled_datetime = scheduled_datetime + interval '1 day', "
                "version = version + 1 WHERE id = %s",
                (tour_id,),
            )
            conn.execute(
                "UPDATE tour_booking_sync SET status = 'cancelled', version = version + 1 WHERE id = %s", (tour_id,)
            )
        ids.append(str(tour_id))
    return ids


def test_a_publisher_killed_mid_batch_loses_nothing_and_repeats_the_same_ids(
    clean_db: str, event_bus: BusProbe
) -> None:
    # given 25 tours with 3 pending events each
    tours = _events_of_many_tours(clean_db, 25)
    recorded = {str(row["event_id"]) for row in outbox(clean_db)}
    assert len(recorded) == 75

    # when a publisher dies after its claim committed and before its first PutEvents
    def die_before(number: int, entries: Any) -> set[int]:
        raise PublisherKilled

    with pytest.raises(PublisherKilled):
        publish_pending(RecordingBus(event_bus.events, before=die_before))
    db.close()  # the dead process's connection goes with it
    # and the next one dies after its second PutEvents was accepted, before marking it published
    expire_leases(clean_db)

    def die_after(number: int) -> None:
        if number == 1:
            raise PublisherKilled

    with pytest.raises(PublisherKilled):
        publish_pending(RecordingBus(event_bus.events, after=die_after))
    db.close()
    # then until the leases expire only the tours whose first event was marked published move on (their later
    # events); the 15 tours whose first event is still leased send nothing
    leased = {
        str(r["tour_id"])
        for r in outbox(clean_db)
        if r["published_at"] is None and r["lease_until"] and r["detail_type"] == "TourBooked"
    }
    assert len(leased) == 15
    bus = RecordingBus(event_bus.events)
    assert publish_pending(bus).published == 20
    assert {t for t, *_ in bus.timeline}.isdisjoint(leased)
    # and once they have, later runs publish everything
    expire_leases(clean_db)
    while publish_pending(event_bus.events).pending:
        expire_leases(clean_db)
    delivered = event_bus.delivered()
    ids = [e["detail"]["event_id"] for e in delivered]
    assert set(ids) == recorded
    # the 10 events sent before the second death arrive twice, with the same event ids and the same detail
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert len(duplicates) == 10
    assert len(ids) == 85
    for event_id in duplicates:
        copies = [e["detail"] for e in delivered if e["detail"]["event_id"] == event_id]
        assert copies[0] == copies[1]
    assert all(row["published_at"] is not None for row in outbox(clean_db))
    assert len(tours) == 25


def test_a_publisher_process_killed_after_its_claim_loses_nothing(
    clean_db: str, event_bus: BusProbe, tmp_path: Path
) -> None:
    # given 15 tours with 3 pending events each
    _events_of_many_tours(clean_db, 15)
    recorded = {str(row["event_id"]) for row in outbox(clean_db)}
    sent = tmp_path / "sent.jsonl"
    # when a publisher process is SIGKILLed after its claim committed and its first PutEvents call was accepted
    killed = subprocess.run(
        [sys.executable, "-m", "tests.integration.publisher_process", str(sent), "1"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},  # pytest's pythonpath, also outside `make`
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    before = [json.loads(line)["event_id"] for line in sent.read_text().splitlines()]
    assert len(before) == 10
    # then its 15 claimed rows stay unpublished, and once the lease expired the next runs publish every event
    assert sum(1 for row in outbox(clean_db) if row["published_at"] is None) == 45
    expire_leases(clean_db)
    while publish_pending(event_bus.events).pending:
        expire_leases(clean_db)
    after = [e["detail"]["event_id"] for e in event_bus.delivered()]
    assert set(after) == recorded
    assert len(after) == 45
    # and the 10 events the killed process had sent arrive again with the same ids
    assert set(before) <= set(after)


def test_refused_entries_are_retried_and_a_tour_waits_for_its_earlier_event(clean_db: str, event_bus: BusProbe) -> None:
    # given 12 tours with 3 events each, and a bus that refuses the first entry of its first call
    _events_of_many_tours(clean_db, 12)

    def refuse_first(number: int, entries: Any) -> set[int]:
        return {0} if number == 0 else set()

    bus = RecordingBus(event_bus.events, before=refuse_first)
    refused_tour = str(outbox(clean_db)[0]["tour_id"])
    # when the publisher runs
    report = publish_pending(bus)
    # then the refused event waits for its retry and so do its tour's later events; the other tours went out
    assert report.failed == 1
    assert report.published == 36 - 3
    assert [t for t, *_ in bus.timeline].count(refused_tour) == 0
    [row] = [r for r in outbox(clean_db) if r["published_at"] is None and r["last_error"]]
    assert row["last_error"].startswith("InternalFailure")
    # and after the retry delay the tour's three events go out, in order
    expire_leases(clean_db)
    publish_pending(bus)
    assert [(v, kind) for t, v, kind, *_ in bus.timeline if t == refused_tour] == [
        (1, "TourBooked"),
        (2, "TourRescheduled"),
        (3, "TourCancelled"),
    ]


def test_concurrent_publishers_keep_each_tours_order_and_send_each_event_once(
    clean_db: str, event_bus: BusProbe
) -> None:
    # given 30 tours with 3 events each
    tours = _events_of_many_tours(clean_db, 30)
    bus = RecordingBus(event_bus.events)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            publish_pending(bus)
        except BaseException as error:
            errors.append(error)
        finally:
            db.close()

    # when three publishers run at once
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every event was sent once, and a tour's next event was sent only after its previous one was accepted
    assert errors == []
    assert len(bus.timeline) == 90
    for tour_id in tours:
        mine = sorted((v, started, finished) for t, v, _, started, finished in bus.timeline if t == tour_id)
        assert [v for v, *_ in mine] == [1, 2, 3]
        for (_, _, finished), (_, started, _) in itertools.pairwise(mine):
            assert started > finished


def _reminders(bus: RecordingBus) -> list[tuple[str, int]]:
    return [
        (t, json.loads(e["Detail"])["reminder_minutes"])
        for call_entries in bus.calls
        for e in call_entries
        if e["DetailType"] == "TourReminderDue"
        for t in [json.loads(e["Detail"])["tour_id"]]
    ]


def test_reminders_fall_due_once_and_never_for_cancelled_or_late_booked_tours(
    clean_db: str, event_bus: BusProbe
) -> None:
    # given tours three days ahead (one of them cancelled) and one booked 10 hours before its start
    property_id = builders.refresh_property(clean_db, capacity=10)
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) + timedelta(days=3)
    early = builders.add_tour(clean_db, property_id, start)
    cancelled = builders.add_tour(clean_db, property_id, start)
    late = builders.add_tour(clean_db, property_id, now.replace(second=0, microsecond=0) + timedelta(hours=10))
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE tour_booking_sync SET status = 'cancelled' WHERE id = %s", (cancelled,))
    bus = RecordingBus(event_bus.events)
    # when the publisher runs just before 24 hours before the start, then no reminder is due
    publish_pending(bus, now=start - timedelta(minutes=1441))
    assert _reminders(bus) == []
    # when it runs after, then the 24-hour reminder goes out once, for the active tour booked in time
    publish_pending(bus, now=start - timedelta(minutes=1439))
    publish_pending(bus, now=start - timedelta(minutes=1430))
    assert _reminders(bus) == [(str(early), 1440)]
    # and the 2-hour one likewise; the tour booked 10 hours ahead gets its 2-hour reminder only
    late_start = now.replace(second=0, microsecond=0) + timedelta(hours=10)
    publish_pending(bus, now=late_start - timedelta(minutes=119))
    publish_pending(bus, now=start - timedelta(minutes=119))
    publish_pending(bus, now=start - timedelta(minutes=60))
    assert sorted(_reminders(bus)) == sorted([(str(early), 1440), (str(late), 120), (str(early), 120)])
    # and none once the tour has started
    publish_pending(bus, now=start + timedelta(minutes=1))
    assert len(_reminders(bus)) == 3
    reminder = details(event_bus.delivered(), "TourReminderDue")[0]
    assert set(reminder) == COMMON | {"reminder_minutes"}
    assert reminder["origin"] == "system"


def test_a_reschedule_rearms_the_reminders(clean_db: str, event_bus: BusProbe) -> None:
    # given a tour whose 24-hour reminder went out
    property_id = builders.refresh_property(clean_db, capacity=10)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    tour = builders.add_tour(clean_db, property_id, start)
    bus = RecordingBus(event_bus.events)
    publish_pending(bus, now=start - timedelta(minutes=1439))
    assert _reminders(bus) == [(str(tour), 1440)]
    # when it moves a day later, then the new start has its own 24-hour reminder, once
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE tour_booking_sync SET scheduled_datetime = %s WHERE id = %s", (start + timedelta(days=1), tour)
        )
    publish_pending(bus, now=start + timedelta(days=1) - timedelta(minutes=1439))
    publish_pending(bus, now=start + timedelta(days=1) - timedelta(minutes=1400))
    assert _reminders(bus) == [(str(tour), 1440), (str(tour), 1440)]
    # and a move to 5 hours from now (inside 24 hours) arms only the 2-hour one
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=5)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE tour_booking_sync SET scheduled_datetime = %s WHERE id = %s", (soon, tour))
    publish_pending(bus, now=soon - timedelta(minutes=1439))
    publish_pending(bus, now=soon - timedelta(minutes=119))
    assert _reminders(bus)[2:] == [(str(tour), 120)]


NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def test_refresh_outcomes_emit_completed_cancelled_and_no_show_with_their_origin(
    clean_db: str, event_bus: BusProbe
) -> None:
    # given tours of a ResMan property: one whose prospect showed, one staff cancelled, one nobody heard of
    property_id = builders.refresh_property(clean_db)
    _, resman_property = builders.resman_ids(clean_db, property_id)
    start = NOW - timedelta(hours=3)
    shown = builders.add_tour(clean_db, property_id, start, resman_prospect_id="P1", resman_appointment_id="A1")
    missed = builders.add_tour(clean_db, property_id, start, resman_prospect_id="P2")
    cancelled = builders.add_tour(
        clean_db, property_id, NOW - timedelta(hours=1), resman_prospect_id="P3", resman_appointment_id="A3"
    )
    source = FakeResMan()
    source.add(
        resman_property,
        FakeProspect(
            "P1", start + timedelta(minutes=5), [FakeEvent("Appointment", start, "A1"), FakeEvent("Show", start, "S1")]
        ),
    )
    source.add(
        resman_property,
        FakeProspect(
            "P3",
            NOW - timedelta(minutes=10),
            [
                FakeEvent("Appointment", NOW - timedelta(hours=1), "A3"),
                FakeEvent("Cancel", NOW - timedelta(minutes=30), "C3"),
            ],
        ),
    )
    # when the refresh runs past the grace and the publisher after it
    report = refresh_all(source, now=NOW)
    assert report.results[0].ok, report.results[0].error
    publish_pending(event_bus.events)
    # then DomIQ hears TourCompleted and TourCancelled from ResMan, and TourNoShow from our own rule
    delivered = event_bus.delivered()
    completed = [d for d in details(delivered, "TourCompleted") if d["tour_id"] == str(shown)]
    no_show = [d for d in details(delivered, "TourNoShow") if d["tour_id"] == str(missed)]
    assert [(d["status"], d["origin"]) for d in completed] == [("completed", "resman")]
    assert [(d["status"], d["origin"]) for d in no_show] == [("no_show", "system")]
    cancels = [
        (d["status"], d["origin"]) for d in details(delivered, "TourCancelled") if d["tour_id"] == str(cancelled)
    ]
    assert cancels == [("cancelled", "resman")]


def test_a_sync_that_fails_for_good_emits_tour_sync_failed(clean_db: str, event_bus: BusProbe) -> None:
    from tests import builders
    from tour_booking.sync.resman_sync import sync_tour

    # given a tour of a property without ResMan ids (a permanent failure, no ResMan call)
    tour = builders.add_tour(
        clean_db, builders.synced_property(clean_db, resman=False), datetime.now(UTC) + timedelta(days=2)
    )
    # when it syncs (twice: a duplicate message) and the publisher runs
    assert sync_tour(tour, 1, client=None).result == "failed"  # type: ignore[arg-type]
    assert sync_tour(tour, 1, client=None).result == "already_failed"  # type: ignore[arg-type]
    publish_pending(event_bus.events)
    # then DomIQ hears it once
    [failed] = details(event_bus.delivered(), "TourSyncFailed")
    assert (failed["tour_id"], failed["origin"], failed["status"]) == (str(tour), "system", "scheduled")


PROSPECT = {
    "first_name": "Zenobia",
    "last_name": "Quartermaine",
    "email": "zenobia.q@example.org",
    "phone": "+1 555 010 4477",
}


def _every_event_type(clean_db: str) -> None:
    """One event of every detail type, of tours whose prospect, notes and preferences are distinctive."""
    property_id = new_property(capacity=10)
    conversation = new_conversation(clean_db)
    extra = {
        "prospect": PROSPECT,
        "staff_notes": "Gate code 8841",
        "preferences": {"comment": "has a parrot named Kiwi"},
    }
    a = book(property_id, conversation, future_slot(days_ahead=3, hour=10), **extra)
    patch(a["id"], {"scheduled_datetime": future_slot(days_ahead=3, hour=11)})
    patch(a["id"], {"status": "confirmed"})
    b = book(property_id, conversation, future_slot(days_ahead=3, hour=12), **extra)
    patch(b["id"], {"status": "cancelled"})
    c = book(property_id, conversation, future_slot(days_ahead=3, hour=13), **extra)
    d = book(property_id, conversation, future_slot(days_ahead=3, hour=14), **extra)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        for tour, status in ((c, "completed"), (d, "no_show")):
            conn.execute(
                "UPDATE tour_booking_sync SET scheduled_datetime = now() - interval '3 hours', "
                "status = %s WHERE id = %s",
                (status, tour["id"]),
            )
        conn.execute(
            "UPDATE tour_booking_sync SET sync_status = 'failed', last_sync_error = 'refused' WHERE id = %s", (a["id"],)
        )


def test_no_event_of_any_type_carries_a_prospect_detail(clean_db: str, event_bus: BusProbe) -> None:
    # given one event of every type
    _every_event_type(clean_db)
    bus = RecordingBus(event_bus.events)
    start = datetime.fromisoformat(future_slot(days_ahead=3, hour=11))
    # when they are published (the reminder too)
    publish_pending(bus, now=start.astimezone(UTC) - timedelta(minutes=1439))
    # then every type went out, and none carries a name, email, phone, note or preference
    sent = [entry for call_entries in bus.calls for entry in call_entries]
    assert {entry["DetailType"] for entry in sent} == set(DETAIL_TYPES)
    text = json.dumps([entry["Detail"] for entry in sent]).lower()
    for secret in (
        "zenobia",
        "quartermaine",
        "example.org",
        "555 010 4477",
        "15550104477",
        "5550104477",
        "gate code",
        "parrot",
        "kiwi",
        "prospect",
    ):
        assert secret not in text, secret
    assert all(
        set(json.loads(entry["Detail"])) <= COMMON | {"previous_scheduled_datetime", "reminder_minutes"}
        for entry in sent
    )


def test_every_event_validates_against_its_json_schema(clean_db: str, event_bus: BusProbe) -> None:
    import jsonschema

    # given one published event of every type
    _every_event_type(clean_db)
    start = datetime.fromisoformat(future_slot(days_ahead=3, hour=11))
    publish_pending(event_bus.events, now=start.astimezone(UTC) - timedelta(minutes=1439))
    delivered = event_bus.delivered()
    assert {e["detail-type"] for e in delivered} == set(DETAIL_TYPES)
    # then each detail validates against schemas/events/<detail-type>.json, and a detail missing a field does not
    for event in delivered:
        schema = json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text())
        jsonschema.validate(event["detail"], schema, format_checker=jsonschema.FormatChecker())
        broken = {k: v for k, v in event["detail"].items() if k != "version"}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    assert sorted(path.stem for path in SCHEMAS.glob("*.json")) == sorted(DETAIL_TYPES)


def test_the_handler_publishes_everything_pending_on_its_scheduled_event(clean_db: str, event_bus: BusProbe) -> None:
    # given two booked tours
    property_id = new_property()
    conversation = new_conversation(clean_db)
    book(property_id, conversation, future_slot(days_ahead=3, hour=10))
    book(property_id, conversation, future_slot(days_ahead=3, hour=11))
    scheduled = json.loads((Path(__file__).resolve().parents[2] / "events" / "event_publisher.json").read_text())
    # when the schedule invokes the function (its boto3 client on moto)
    answer = lambda_handler(scheduled, LambdaContext(function_name="event-publisher-test"))
    # then both went out and nothing is pending
    assert (answer["published"], answer["pending"]) == (2, 0)
    assert len(details(event_bus.delivered(), "TourBooked")) == 2


def test_published_events_are_pruned_after_the_retention(clean_db: str, event_bus: BusProbe) -> None:
    # given a published event
    property_id = new_property()
    book(property_id, new_conversation(clean_db), future_slot(days_ahead=3, hour=10))
    publish_pending(event_bus.events)
    # when the publisher runs within the retention (7 days), then it is kept; past it, it is pruned
    assert publish_pending(event_bus.events, now=datetime.now(UTC) + timedelta(days=6)).pruned == 0
    assert publish_pending(event_bus.events, now=datetime.now(UTC) + timedelta(days=8)).pruned == 1
    assert outbox(clean_db) == []
