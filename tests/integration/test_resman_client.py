"""The ResMan client against the double over real HTTP: retries, error types, formats, limits, credentials."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.builders import ACCOUNT, RESMAN_PROPERTY, SOURCE
from tools.resman_double import DoubleHandle, Fault
from tour_booking.domain.guest_card import CardPost, EventPost
from tour_booking.resman.client import ResManClient, load_credentials
from tour_booking.resman.errors import (
    ResManAuthError,
    ResManPermanentError,
    ResManTransientError,
    ResManWindowTooWideError,
)
from tour_booking.settings import Settings, get_settings

SEARCH = "MITS/SearchProspects"
POST = "MITS/PostLeadManagement4_0"


def calls(double: DoubleHandle, method: str) -> int:
    return len(double.state.requests(method))


def post(client: ResManClient, email: str = "ada@example.com") -> str:
    when = datetime(2027, 1, 5, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    prospect = client.post_lead(
        ACCOUNT,
        RESMAN_PROPERTY,
        CardPost("Ada", "Lovelace", email=email),
        [EventPost("Appointment", when, transaction_source=SOURCE)],
    )
    return prospect.prospect_id


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "http_504", "malformed_xml", "hang"])
def test_transient_failures_are_retried(client: ResManClient, double: DoubleHandle, kind: str) -> None:
    # given ResMan failing twice, then answering
    double.state.add_fault(Fault(kind, method=SEARCH, times=2, seconds=0.8))
    # when the client searches
    found = client.search_prospects(ACCOUNT, RESMAN_PROPERTY, Email="nobody@example.com")
    # then it retried and got the answer
    assert found == []
    assert calls(double, SEARCH) == 3


def test_a_transient_failure_past_the_attempts_raises_transient(client: ResManClient, double: DoubleHandle) -> None:
    double.state.add_fault(Fault("http_503", method=SEARCH))
    with pytest.raises(ResManTransientError) as error:
        client.search_prospects(ACCOUNT, RESMAN_PROPERTY, Email="nobody@example.com")
    assert error.value.http_status == 503
    assert calls(double, SEARCH) == get_settings().resman_max_attempts


def test_429_is_retried_after_retry_after(client: ResManClient, double: DoubleHandle) -> None:
    # given ResMan asking to wait 0.05 s (within RESMAN_BACKOFF_MAX_SECONDS)
    double.state.add_fault(Fault("http_429", method=POST, times=1, retry_after=0.05))
    started = time.perf_counter()
    # when a post that creates is sent: 429 means ResMan did not act, so even it is retried
    post(client)
    # then it waited and succeeded with one card
    assert time.perf_counter() - started >= 0.05
    assert calls(double, POST) == 2
    assert len(double.state.all_prospects()) == 1


def test_a_creating_post_is_not_blindly_resent_after_an_ambiguous_failure(
    client: ResManClient, double: DoubleHandle
) -> None:
    # given ResMan acting on the post and then answering a 504
    double.state.add_fault(Fault("http_504", method=POST, times=1, after_commit=True))
    # when a creating post is sent
    with pytest.raises(ResManTransientError):
        post(client)
    # then it was sent once (a resend would make a second card): the caller searches before posting again
    assert calls(double, POST) == 1
    assert len(double.state.all_prospects()) == 1


@pytest.mark.parametrize(
    ("kind", "error_type"),
    [
        ("status_failed", ResManPermanentError),
        ("status_error", ResManPermanentError),
        ("bad_credentials", ResManAuthError),
    ],
)
def test_failures_inside_a_200_are_permanent_and_not_retried(
    client: ResManClient, double: DoubleHandle, kind: str, error_type: type[Exception]
) -> None:
    double.state.add_fault(Fault(kind, method=SEARCH))
    with pytest.raises(error_type):
        client.search_prospects(ACCOUNT, RESMAN_PROPERTY, Email="a@example.com")
    assert calls(double, SEARCH) == 1


def test_wrong_credentials_are_refused_as_auth_errors(double: DoubleHandle, resman_env: None) -> None:
    bad = ResManClient(get_settings().model_copy(update={"resman_api_key": "wrong"}))
    with pytest.raises(ResManAuthError):
        bad.search_prospects(ACCOUNT, RESMAN_PROPERTY, Email="a@example.com")
    with pytest.raises(ResManAuthError):
        ResManClient(get_settings()).search_prospects(ACCOUNT, "another-property", Email="a@example.com")
    assert len(double.state.requests()) == 2


def test_an_unknown_prospect_source_is_a_permanent_failure(client: ResManClient, double: DoubleHandle) -> None:
    with pytest.raises(ResManPermanentError, match="Transaction Source could not be found"):
        client.post_lead(
            ACCOUNT,
            RESMAN_PROPERTY,
            CardPost("A", "B", email="a@example.com"),
            [EventPost("Appointment", datetime.now(UTC), transaction_source="999")],
        )
    assert double.state.all_prospects() == []


def test_posting_without_ids_creates_a_new_card_each_time(client: ResManClient, double: DoubleHandle) -> None:
    # as ResMan does: the duplicate the sync must avoid by searching first
    assert post(client) != post(client)
    assert len(double.state.all_prospects()) == 2


def test_a_wide_window_raises_window_too_wide_without_retry(client: ResManClient, double: DoubleHandle) -> None:
    # given more prospects modified than ResMan can answer at once
    double.state.max_window_prospects = 2
    for index in range(3):
        post(client, f"p{index}@example.com")
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    # when the whole window is searched: buffer overflow, surfaced at once; half of it fits
    with pytest.raises(ResManWindowTooWideError):
        client.search_prospects_modified(ACCOUNT, RESMAN_PROPERTY, start, end)
    assert calls(double, SEARCH) == 1
    double.state.max_window_prospects = 3
    assert len(client.search_prospects_modified(ACCOUNT, RESMAN_PROPERTY, start, end)) == 3


def test_search_reads_outcomes_set_by_staff(client: ResManClient, double: DoubleHandle) -> None:
    # given a card with an appointment, then marked shown and lost by staff an hour later
    prospect_id = post(client)
    double.state.advance(3600)
    double.state.set_outcome(prospect_id, "Show")
    double.state.set_outcome(prospect_id, "lost")
    # when it is searched by ProspectID
    prospect = client.get_prospect(ACCOUNT, RESMAN_PROPERTY, prospect_id)
    # then its events, ids and type are parsed, times aware in UTC
    assert prospect is not None
    assert prospect.customer_type == "lost"
    assert [e.event_type for e in prospect.events] == ["Appointment", "Show"]
    assert prospect.events[0].event_date == datetime(2027, 1, 5, 14, 0, tzinfo=UTC)
    assert all(e.event_id for e in prospect.events)


def test_connections_are_reused(client: ResManClient, double: DoubleHandle) -> None:
    for _ in range(5):
        client.search_prospects(ACCOUNT, RESMAN_PROPERTY, Email="nobody@example.com")
    ports = {entry["client_port"] for entry in double.state.requests()}
    assert len(ports) == 1


def test_calls_per_account_are_limited(double: DoubleHandle, resman_env: None) -> None:
    # given RESMAN_MAX_CONCURRENCY_PER_ACCOUNT = 2 and ResMan answering in 0.2 s
    limited = ResManClient(get_settings().model_copy(update={"resman_max_concurrency_per_account": 2}))
    double.state.add_fault(Fault("latency", seconds=0.2))
    # when six threads call at once
    threads = [
        threading.Thread(
            target=limited.search_prospects, args=(ACCOUNT, RESMAN_PROPERTY), kwargs={"Email": "a@b.example"}
        )
        for _ in range(6)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then they went two at a time: three rounds of 0.2 s
    assert time.perf_counter() - started >= 0.55
    assert double.state.max_in_flight == 2


def test_credentials_come_from_secrets_manager_in_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager").create_secret(
            Name="resman", SecretString='{"IntegrationPartnerID": "p-1", "ApiKey": "k-1"}'
        )["ARN"]
        credentials = load_credentials(Settings(resman_secret_arn=arn, resman_api_key="ignored"))
    assert (credentials.integration_partner_id, credentials.api_key) == ("p-1", "k-1")
