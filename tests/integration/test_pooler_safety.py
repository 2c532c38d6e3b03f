"""Nothing the code needs outlives a transaction, so it runs unchanged behind RDS Proxy or PgBouncer in transaction
mode. CI runs these (and every integration test) a second time behind PgBouncer with a small pool."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from functions.resman_sync.app import lambda_handler
from tests.api_events import LambdaContext
from tests.builders import add_tour, appointments, sqs_event, synced_property
from tools.resman_double import DoubleHandle, Fault
from tour_booking import db
from tour_booking.domain.errors import DatabaseUnavailableError
from tour_booking.resman.client import get_resman_client
from tour_booking.settings import get_settings

pytestmark = pytest.mark.usefixtures("resman_env")
CONTAINERS = 6
START = datetime.now(ZoneInfo("America/Chicago")).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)


def _container(event: dict[str, Any], barrier: Any, answers: Any) -> None:
    # A forked container opens its own connection (the parent closed its own before forking).
    barrier.wait()
    answer = lambda_handler(event, LambdaContext(function_name="resman-sync-pooler-test"))
    answers.put([failure["itemIdentifier"] for failure in answer["batchItemFailures"]])


def _deliver_at_once(events: list[dict[str, Any]]) -> list[list[str]]:
    """Each event handled by its own process, all released together, as Lambda containers would."""
    db.close()
    get_resman_client.cache_clear()  # a client cached by an earlier test would point at that test's double
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(events))
    answers = context.Queue()
    processes = [context.Process(target=_container, args=(event, barrier, answers)) for event in events]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert all(process.exitcode == 0 for process in processes)
    return [answers.get(timeout=5) for _ in processes]


def _leftover_session_state(url: str) -> dict[str, Any]:
    """Advisory locks held by any session, idle-in-transaction sessions of ours, and live sync claims."""
    with psycopg.connect(url, autocommit=True) as conn:
        locks = conn.execute(
            b"SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            b"WHERE l.locktype = 'advisory' AND a.datname = current_database()"
        ).fetchone()
        idle_in_tx = conn.execute(
            b"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            b"AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        ).fetchone()
        claims = conn.execute(b"SELECT count(*) FROM sync_claim").fetchone()
    assert locks is not None and idle_in_tx is not None and claims is not None
    return {"advisory_locks": locks[0], "idle_in_transaction": idle_in_tx[0], "claims": claims[0]}


def test_six_containers_delivering_one_message_make_one_card_and_one_appointment(
    clean_db: str, double: DoubleHandle
) -> None:
    # given a new prospect's tour and a slow ResMan, so the deliveries overlap
    tour = add_tour(clean_db, synced_property(clean_db), START)
    double.state.add_fault(Fault("latency", seconds=0.3))
    event = sqs_event((tour, 1))

    # when six containers handle the same message at once
    failures = _deliver_at_once([event] * CONTAINERS)

    # then ResMan holds one guest card with one appointment, and every delivery is acknowledged
    assert len(double.state.all_prospects()) == 1
    assert len(appointments(double, tour)) == 1
    assert failures == [[]] * CONTAINERS
    # and nothing is left held in any server session
    assert _leftover_session_state(clean_db) == {"advisory_locks": 0, "idle_in_transaction": 0, "claims": 0}


def test_six_tours_of_one_new_prospect_synced_at_once_share_one_card(clean_db: str, double: DoubleHandle) -> None:
    # given six tours booked by one new prospect (same email and phone)
    prospect = {"first_name": "Kim", "last_name": "Nguyen", "email": "kim@example.com", "phone": "+1 312 555 0144"}
    property_id = synced_property(clean_db)
    tours = [add_tour(clean_db, property_id, START + timedelta(hours=i), prospect) for i in range(CONTAINERS)]
    double.state.add_fault(Fault("latency", seconds=0.2))

    # when each tour's message is handled by its own container at the same moment
    failures = _deliver_at_once([sqs_event((tour, 1)) for tour in tours])

    # then the six appointments sit on one guest card
    assert failures == [[]] * CONTAINERS
    [card] = double.state.all_prospects()
    assert len(appointments(double)) == CONTAINERS
    assert {prospect_id for prospect_id, _ in appointments(double)} == {card.prospect_id}
    assert _leftover_session_state(clean_db) == {"advisory_locks": 0, "idle_in_transaction": 0, "claims": 0}


def test_a_crashed_containers_claim_expires_by_itself(
    clean_db: str, double: DoubleHandle, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a tour whose claim a container took and never released (it crashed)
    tour = add_tour(clean_db, synced_property(clean_db), START)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            b"INSERT INTO sync_claim (key, holder, expires_at) VALUES (%s, %s, now() + interval '1 second')",
            (f"tour:{tour}", uuid.uuid4()),
        )
    monkeypatch.setenv("SYNC_CLAIM_WAIT_SECONDS", "0")
    get_settings.cache_clear()
    get_resman_client.cache_clear()

    # when its message comes while the claim is live, it is left to SQS's retry
    assert lambda_handler(sqs_event((tour, 1)), LambdaContext())["batchItemFailures"] != []
    assert appointments(double, tour) == []

    # then once the lease has passed the retry syncs it
    monkeypatch.setenv("SYNC_CLAIM_WAIT_SECONDS", "3")
    get_settings.cache_clear()
    assert lambda_handler(sqs_event((tour, 1)), LambdaContext())["batchItemFailures"] == []
    assert len(appointments(double, tour)) == 1


def test_the_statement_timeout_bounds_each_transaction_and_leaves_the_session_untouched(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a statement timeout of 200 ms
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "200")
    get_settings.cache_clear()
    db.close()

    # then a transaction's statements run under it, a read outside one too, and a slower statement is cancelled
    with db.transaction() as conn:
        assert conn.execute(b"SHOW statement_timeout").fetchone() == {"statement_timeout": "200ms"}
    assert db.fetch_all(b"SELECT current_setting('statement_timeout') AS t", {}) == [{"t": "200ms"}]
    with pytest.raises(DatabaseUnavailableError) as in_transaction, db.transaction() as conn:
        conn.execute(b"SELECT pg_sleep(2)")
    with pytest.raises(DatabaseUnavailableError) as alone:
        db.fetch_all(b"SELECT pg_sleep(%(s)s)", {"s": 2})
    assert isinstance(in_transaction.value.__cause__, psycopg.errors.QueryCanceled)
    assert isinstance(alone.value.__cause__, psycopg.errors.QueryCanceled)
    with db.transaction(pipeline=True) as conn:
        assert conn.execute(b"SHOW statement_timeout").fetchone() == {"statement_timeout": "200ms"}

    # and outside a transaction the session keeps the server's own setting
    assert db.connection().execute(b"SHOW statement_timeout").fetchone() != {"statement_timeout": "200ms"}


def test_connections_send_no_startup_options(clean_db: str) -> None:
    # RDS Proxy and PgBouncer refuse libpq's `options`; the one extra startup parameter sent is application_name
    conn = db.connection()
    assert "options" not in conn.info.dsn
    with db.transaction() as tx:
        assert tx.execute(b"SELECT current_setting('application_name') AS a").fetchone() == {"a": "tour-booking"}
    assert conn.prepare_threshold == get_settings().db_prepare_threshold
