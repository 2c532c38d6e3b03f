"""Guest cards stay the leasing team's (README "ResMan sync", guest cards): the sync and the refresh against the ResMan
double over real HTTP, real PostgreSQL. Staff's edits are played through the double's /__double__/ controls."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

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
from tools.resman_double import DoubleHandle
from tour_booking.domain.guest_card import CardPost
from tour_booking.refresh.resman_refresh import refresh_all
from tour_booking.resman.client import ResManClient
from tour_booking.resman.refresh_adapter import ResManProspectSource
from tour_booking.settings import get_settings

pytestmark = pytest.mark.usefixtures("resman_env")
START = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=5)
SHARED_PHONE = "+1 (312) 555-0177"


def handle(client: ResManClient, *messages: tuple[uuid.UUID, int]) -> list[str]:
    answer = lambda_handler(sqs_event(*messages), LambdaContext(function_name="resman-sync-test"), client=client)
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def control(double: DoubleHandle, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A test-only control of the double, over HTTP like any test client would use it."""
    request = urllib.request.Request(
        f"{double.url}/__double__/{name}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # nosec B310 - loopback double
        result: dict[str, Any] = json.loads(answer.read())
    return result


def match_rules(output: str) -> list[str]:
    """The MatchRule dimensions of the GuestCardMatched metrics written (EMF lines on stdout)."""
    rules = []
    for line in output.splitlines():
        if '"GuestCardMatched"' in line:
            rules.extend([json.loads(line)["MatchRule"]] * int(json.loads(line)["GuestCardMatched"][0]))
    return sorted(rules)


def refresh(client: ResManClient) -> None:
    report = refresh_all(ResManProspectSource(client))
    assert report.failed == [], report.as_dict()


# ---- 1. two people who share a phone ------------------------------------------------------------------------
def test_two_people_sharing_a_phone_get_two_cards(
    clean_db: str, double: DoubleHandle, client: ResManClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # given Kim synced to her own card, then Lee (another email, the same parent's phone) and Sam Nguyen (Kim's
    # sibling: the same last name and phone, another email)
    prop = synced_property(clean_db)
    kim = add_tour(
        clean_db,
        prop,
        START,
        {"first_name": "Kim", "last_name": "Nguyen", "email": "kim@example.com", "phone": SHARED_PHONE},
    )
    assert handle(client, (kim, 1)) == []
    lee = add_tour(
        clean_db,
        prop,
        START,
        {"first_name": "Lee", "last_name": "Okafor", "email": "lee@example.com", "phone": SHARED_PHONE},
    )
    sam = add_tour(
        clean_db,
        prop,
        START,
        {"first_name": "Sam", "last_name": "Nguyễn", "email": "sam@example.com", "phone": "312.555.0177"},
    )
    capsys.readouterr()
    # when their tours sync
    assert handle(client, (lee, 1), (sam, 1)) == []
    # then each has a card of their own, with their own name
    cards = {c.prospect_id: c for c in double.state.all_prospects()}
    assert len(cards) == 3
    owners = {t: cards[tour_row(clean_db, t)["resman_prospect_id"]] for t in (kim, lee, sam)}
    assert [(c.first_name, c.email) for c in owners.values()] == [
        ("Kim", "kim@example.com"),
        ("Lee", "lee@example.com"),
        ("Sam", "sam@example.com"),
    ]
    assert [p for p, _ in appointments(double, lee)] == [owners[lee].prospect_id]
    # and the metric names the rule that matched (none: new cards), with no personal data
    out = capsys.readouterr().out
    assert match_rules(out) == ["new", "new"]
    emf = [line for line in out.splitlines() if "GuestCardMatched" in line]
    assert not any(secret in line for line in emf for secret in ("Lee", "Okafor", "lee@", "0177"))


def test_a_phone_only_booking_with_the_same_last_name_finds_the_card_without_email(
    clean_db: str, double: DoubleHandle, client: ResManClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a card staff made from a phone call (no email), and another with the same phone but an email
    walk_in = double.state.add_card(ACCOUNT, RESMAN_PROPERTY, first_name="Ana", last_name="Peña", phone="312-555-0188")
    double.state.add_card(
        ACCOUNT, RESMAN_PROPERTY, first_name="Luis", last_name="Pena", phone="312-555-0188", email="luis@example.com"
    )
    # when Ana books with her phone, her last name spelled without the accent, and an email of hers
    tour = add_tour(
        clean_db,
        synced_property(clean_db),
        START,
        {"first_name": "Ana", "last_name": "PENA", "email": "ana@example.com", "phone": "+13125550188"},
    )
    assert handle(client, (tour, 1)) == []
    # then her tour is on the card without email, which the post filled with her email (and nothing else changed)
    assert tour_row(clean_db, tour)["resman_prospect_id"] == walk_in.prospect_id
    card = double.state.prospect(walk_in.prospect_id)
    assert card is not None
    assert (card.first_name, card.last_name, card.email, card.phone) == (
        "Ana",
        "Peña",
        "ana@example.com",
        "312-555-0188",
    )
    assert match_rules(capsys.readouterr().out) == ["phone_last_name"]


# ---- 2. staff's corrections ---------------------------------------------------------------------------------
def test_staff_corrections_survive_a_new_booking_and_the_chat_details_go_to_comments(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a synced tour whose card staff then corrected (last name and phone)
    prop = synced_property(clean_db)
    chat = {"first_name": "Jon", "last_name": "Smyth", "email": "jon@example.com", "phone": "+1 312 555 0100"}
    first = add_tour(clean_db, prop, START, chat)
    assert handle(client, (first, 1)) == []
    card_id = tour_row(clean_db, first)["resman_prospect_id"]
    control(double, "cards/edit", {"prospect_id": card_id, "last_name": "Smith", "phone": "(312) 555-0999"})
    # when the prospect books again through the chat with the old details
    second = add_tour(clean_db, prop, START + timedelta(days=1), chat)
    assert handle(client, (second, 1)) == []
    # then the second tour is on the same card, which keeps staff's corrections
    assert tour_row(clean_db, second)["resman_prospect_id"] == card_id
    card = double.state.prospect(card_id)
    assert card is not None
    assert (card.first_name, card.last_name, card.email, card.phone) == (
        "Jon",
        "Smith",
        "jon@example.com",
        "(312) 555-0999",
    )
    # and the post said so: the card's values went out, the chat's differing details are in the Comments
    post = double.state.requests("MITS/PostLeadManagement4_0")[-1]["fields"]["Xml"]
    assert "<LastName>Smith</LastName>" in post and "Smyth</LastName>" not in post
    [(_, event)] = appointments(double, second)
    assert "last name: Smyth" in (event.comments or "")
    assert "phone: +1 312 555 0100" in (event.comments or "")
    assert "email:" not in (event.comments or "")


# ---- 3. a returning prospect whose card is lost --------------------------------------------------------------
def test_a_returning_lost_prospect_is_reactivated_and_the_refresh_keeps_the_tour(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a card that staff cancelled and marked lost months ago
    old, _ = double.state.add_staff_appointment(
        ACCOUNT,
        RESMAN_PROPERTY,
        START - timedelta(days=120),
        first_name="Rae",
        last_name="Moss",
        email="rae@example.com",
    )
    control(double, "outcome", {"prospect_id": old.prospect_id, "outcome": "Cancel"})
    control(double, "outcome", {"prospect_id": old.prospect_id, "outcome": "lost"})
    # when she books again and the tour syncs
    tour = add_tour(
        clean_db,
        synced_property(clean_db),
        START,
        {"first_name": "Rae", "last_name": "Moss", "email": "rae@example.com"},
    )
    assert handle(client, (tour, 1)) == []
    # then the card is active again: a ReActivate logged just before the new appointment
    card = double.state.prospect(old.prospect_id)
    assert card is not None
    assert card.customer_type == "prospect"
    assert [e.event_type for e in card.events] == ["Appointment", "Cancel", "ReActivate", "Appointment"]
    # and the next refresh leaves the tour scheduled: the old Cancel and lost mark came before it
    refresh(client)
    assert tour_row(clean_db, tour)["status"] == "scheduled"
    # when staff mark the card lost again, after the appointment
    control(double, "outcome", {"prospect_id": old.prospect_id, "outcome": "lost"})
    refresh(client)
    # then that cancels the tour
    assert tour_row(clean_db, tour)["status"] == "cancelled"


def test_a_reactivation_after_a_tour_cancels_it_the_card_was_lost_in_between(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a synced tour whose card staff marked lost, unseen by any refresh, then a new tour on that card
    prop = synced_property(clean_db)
    who = {"first_name": "Ivo", "last_name": "Berg", "email": "ivo@example.com"}
    first = add_tour(clean_db, prop, START, who)
    assert handle(client, (first, 1)) == []
    control(double, "outcome", {"prospect_id": tour_row(clean_db, first)["resman_prospect_id"], "outcome": "lost"})
    second = add_tour(clean_db, prop, START + timedelta(days=1), who)
    assert handle(client, (second, 1)) == []
    # when the refresh runs
    refresh(client)
    # then the first tour is cancelled (lost after its appointment), the new one is kept
    assert (tour_row(clean_db, first)["status"], tour_row(clean_db, second)["status"]) == ("cancelled", "scheduled")


def test_the_reactivate_event_type_is_configurable_and_a_card_left_lost_fails_the_tour(
    clean_db: str, double: DoubleHandle, client: ResManClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a lost card and an event type this ResMan does not read as a reactivation
    card = double.state.add_card(
        ACCOUNT, RESMAN_PROPERTY, first_name="Ola", last_name="Nor", email="ola@example.com", customer_type="lost"
    )
    monkeypatch.setenv("RESMAN_REACTIVATE_EVENT_TYPE", "Revive")
    get_settings.cache_clear()
    tour = add_tour(
        clean_db,
        synced_property(clean_db),
        START,
        {"first_name": "Ola", "last_name": "Nor", "email": "ola@example.com"},
    )
    # when the tour syncs
    assert handle(client, (tour, 1)) == []
    # then the configured type was posted, and the card still lost fails the tour with the reason (not a silent
    # cancel at the next refresh)
    held = double.state.prospect(card.prospect_id)
    assert held is not None
    assert [e.event_type for e in held.events] == ["Revive", "Appointment"]
    row = tour_row(clean_db, tour)
    assert row["sync_status"] == "failed"
    assert "RESMAN_REACTIVATE_EVENT_TYPE" in row["last_sync_error"]
    refresh(client)
    assert tour_row(clean_db, tour)["status"] == "scheduled"


# ---- the ambiguous case: several cards of one prospect -----------------------------------------------------------
def test_of_several_cards_with_the_email_an_active_one_wins_then_the_oldest(
    clean_db: str, double: DoubleHandle, client: ResManClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a prospect with three cards in ResMan: the oldest lost, two active
    lost = double.state.add_card(
        ACCOUNT, RESMAN_PROPERTY, first_name="Eve", last_name="Park", email="eve@example.com", customer_type="lost"
    )
    older = double.state.add_card(ACCOUNT, RESMAN_PROPERTY, first_name="Eve", last_name="Park", email="EVE@example.com")
    double.state.add_card(ACCOUNT, RESMAN_PROPERTY, first_name="Eve", last_name="Park", email="eve@example.com")
    assert int(lost.prospect_id) < int(older.prospect_id)
    prop = synced_property(clean_db)
    who = {"first_name": "Eve", "last_name": "Park", "email": "eve@example.com"}
    # when two of her tours sync, one after the other
    first = add_tour(clean_db, prop, START, who)
    second = add_tour(clean_db, prop, START + timedelta(days=1), who)
    assert handle(client, (first, 1)) == []
    assert handle(client, (second, 1)) == []
    # then both went to the oldest active card; the lost one stays as staff left it
    assert {tour_row(clean_db, t)["resman_prospect_id"] for t in (first, second)} == {older.prospect_id}
    held = double.state.prospect(lost.prospect_id)
    assert held is not None and (held.customer_type, held.events) == ("lost", [])
    # and a change of the first tour stays on its stored card
    version = change_tour(clean_db, first, staff_notes="parking at the back")
    assert handle(client, (first, version)) == []
    assert tour_row(clean_db, first)["resman_prospect_id"] == older.prospect_id
    assert match_rules(capsys.readouterr().out) == ["email", "email", "stored_id"]


# ---- 4. text ResMan cannot carry ------------------------------------------------------------------------------
def test_resman_refuses_a_post_holding_a_control_character_for_good(client: ResManClient) -> None:
    # given what the API now refuses (a vertical tab in a name): the double parses MITS XML as ResMan does
    from tour_booking.resman.errors import ResManPermanentError

    # when it is posted anyway, then ResMan answers "Invalid Xml: not well-formed", a permanent failure
    with pytest.raises(ResManPermanentError, match="not well-formed"):
        client.post_lead(ACCOUNT, RESMAN_PROPERTY, CardPost("Ver\u000btab", "Lee", email="v@example.com"))


# ---- 5. preferences reach the card ----------------------------------------------------------------------------
def test_preferences_reach_the_card_and_a_change_syncs_without_touching_the_appointment(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a tour with preferences, synced
    prefs = {"move_in_date": "2027-06-01", "bedrooms": 2, "max_rent": 1850.0, "comment": "a quiet unit"}
    tour = add_tour(clean_db, synced_property(clean_db), START, preferences=json.dumps(prefs))
    assert handle(client, (tour, 1)) == []
    card_id = tour_row(clean_db, tour)["resman_prospect_id"]
    card = double.state.prospect(card_id)
    assert card is not None
    assert card.preferences == {
        "TargetMoveInDate": "2027-06-01",
        "DesiredNumBedrooms": "2",
        "DesiredRent": "1850",
        "Comment": "a quiet unit",
    }
    [(_, appointment)] = appointments(double, tour)
    # and staff noting a preference of their own on the card
    control(
        double,
        "cards/edit",
        {"prospect_id": card_id, "preferences": {"DesiredRent": "1850.00", "Comment": "a quiet unit"}},
    )
    posted = len(double.state.requests("MITS/PostLeadManagement4_0"))
    # when the prospect's preferences change (bedrooms) and the tour syncs
    version = change_tour(clean_db, tour, preferences=json.dumps({**prefs, "bedrooms": 3}))
    assert handle(client, (tour, version)) == []
    # then one post updated the card's preferences and left the appointment as it was
    posts = double.state.requests("MITS/PostLeadManagement4_0")[posted:]
    assert len(posts) == 1
    assert "<Events>" not in posts[0]["fields"]["Xml"]
    card = double.state.prospect(card_id)
    assert card is not None
    assert card.preferences["DesiredNumBedrooms"] == "3"
    [(_, still)] = appointments(double, tour)
    assert (still.event_id, still.event_date, still.comments) == (
        appointment.event_id,
        appointment.event_date,
        appointment.comments,
    )
    assert tour_row(clean_db, tour)["sync_status"] == "success"
    # and a sync with nothing new posts nothing (1850 and 1850.00 are one rent)
    version = change_tour(clean_db, tour, staff_notes=None)
    assert handle(client, (tour, version)) == []
    assert len(double.state.requests("MITS/PostLeadManagement4_0")) == posted + 1


# ---- a deleted conversation --------------------------------------------------------------------------------------
def test_deleting_a_conversation_still_cancels_its_active_future_tours_in_resman(
    clean_db: str, double: DoubleHandle, client: ResManClient, sqs_queue: Any
) -> None:
    import psycopg

    from tests.builders import queued_messages
    from tour_booking.sync.sweeper import sweep_pending

    # given one conversation with a synced future tour, a future tour whose sync never ran, a cancelled tour
    prop = synced_property(clean_db)
    who = {"first_name": "Dee", "last_name": "Lane", "email": "dee@example.com"}
    synced = add_tour(clean_db, prop, START, who)
    assert handle(client, (synced, 1)) == []
    conversation = tour_row(clean_db, synced)["conversation_id"]
    never = add_tour(clean_db, prop, START + timedelta(days=1), who, conversation_id=conversation)
    done = add_tour(clean_db, prop, START + timedelta(days=2), who, conversation_id=conversation, status="cancelled")
    # when DomIQ deletes the conversation (ON DELETE CASCADE takes its tours)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM conversation WHERE id = %s", (conversation,))
        stones = conn.execute("SELECT tour_id FROM resman_tour_tombstone ORDER BY scheduled_datetime").fetchall()
    # then the active future tours left tombstones
    assert [row[0] for row in stones] == [synced, never]
    assert done not in [row[0] for row in stones]
    # when the sweeper runs past the pending age and its messages are synced
    report = sweep_pending(now=datetime.now(UTC) + timedelta(seconds=301))
    assert (report.found, report.sent) == (2, 2)
    messages = [json.loads(body) for body in queued_messages(sqs_queue)]
    assert handle(client, *[(uuid.UUID(m["tour_id"]), m["version"]) for m in messages]) == []
    # then ResMan holds the synced tour's Cancel after its appointment, and nothing for the one never synced
    [card] = double.state.all_prospects()
    assert [e.event_type for e in card.events] == ["Appointment", "Cancel"]
    assert str(synced) in (card.events[1].comments or "")
    # and the tombstones are closed with the prospect's details erased; a late message posts nothing more
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT closed_at IS NOT NULL, prospect_info, last_sync_error FROM resman_tour_tombstone"
        ).fetchall()
    assert rows == [(True, None, None), (True, None, None)]
    posted = len(double.state.requests("MITS/PostLeadManagement4_0"))
    assert handle(client, (synced, 2)) == []
    assert len(double.state.requests("MITS/PostLeadManagement4_0")) == posted
    assert sweep_pending(now=datetime.now(UTC) + timedelta(seconds=900)).found == 0


def test_a_refresh_then_cancels_the_deleted_tour_in_the_cache_too(
    clean_db: str, double: DoubleHandle, client: ResManClient
) -> None:
    # given a synced future tour of a conversation DomIQ deleted, and its tombstone synced
    tour = add_tour(clean_db, synced_property(clean_db), START)
    assert handle(client, (tour, 1)) == []
    import psycopg

    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM conversation WHERE id = %s", (tour_row(clean_db, tour)["conversation_id"],))
    assert handle(client, (tour, 2)) == []
    # when the refresh reads ResMan
    refresh(client)
    # then the cancelled appointment is not taken for a staff booking that blocks the slot
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM resman_staff_appointment").fetchone() == (0,)
