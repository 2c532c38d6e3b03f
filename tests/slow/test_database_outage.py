"""Database faults in the middle of a booking load: sessions killed, then the server restarted.

The API answers 503 with Retry-After while the database is away and recovers in the same process (no handler
restart); every booking answered 201 is in the database, whole, and nothing half-written stays behind.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.api_events import call
from tests.builders import future_slot, local_date, new_conversation, new_property, tour_body
from tests.database import SQL_DIR
from tests.slow.booking_load import (
    Containers,
    LoadPlan,
    assert_contract_answers,
    assert_database_matches_answers,
)
from tests.slow.commit_cutting_proxy import commit_cutting_proxy
from tests.slow.restartable_postgres import RestartablePostgres, restartable_postgres
from tour_booking import db
from tour_booking.db.migrations import apply_migrations
from tour_booking.settings import get_settings

CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 3000


def _bookable(days_ahead: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """Slot starts (every half hour from 9:00 to 16:30) of the given days, and those days."""
    starts = [
        future_slot(days_ahead=day, hour=hour, minute=minute)
        for day in days_ahead
        for hour in range(9, 17)
        for minute in (0, 30)
    ]
    return starts, [local_date(day).isoformat() for day in days_ahead]


def _cache_days(property_id: uuid.UUID, days: list[str]) -> None:
    for day in days:
        assert call("GET", f"/properties/{property_id}/availability?start_date={day}").status == 200


def _terminate_sessions(url: str, stop: threading.Event, kills: list[int]) -> None:
    """Ends every session of the handler, again and again, at random moments."""
    pause = random.Random(7)
    with psycopg.connect(url, autocommit=True) as admin:
        while not stop.is_set():
            row = admin.execute(
                b"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                b"WHERE datname = current_database() AND application_name = 'tour-booking' "
                b"AND pid <> pg_backend_pid()"
            ).fetchone()
            kills.append(int(row[0]) if row else 0)
            time.sleep(pause.uniform(0.01, 0.06))


def test_sessions_terminated_under_load_answer_503_and_lose_no_201(
    clean_db: str, sqs_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a property whose two booking days are cached, capacity 2 a slot
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", str(CONNECT_TIMEOUT_SECONDS))
    get_settings.cache_clear()
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(clean_db)
    starts, days = _bookable((3, 4))
    _cache_days(property_id, days)
    # when six bookers (processes, like containers) book for 3 s while every handler session is terminated every ~35 ms
    stop_kills = threading.Event()
    kills: list[int] = []
    killer = threading.Thread(target=_terminate_sessions, args=(clean_db, stop_kills, kills), daemon=True)
    bookers = Containers(6, LoadPlan(property_id, conversation_id, starts, days, time.monotonic() + 20), sqs_queue)
    killer.start()
    time.sleep(3)
    stop_kills.set()
    killer.join(5)
    load = bookers.finish(15)
    # then every answer is 200/201/409/503 (never 500), each 503 with Retry-After; keyed retries all resolved
    statuses = load.statuses()
    print(
        f"\nterminate: {sum(kills)} sessions killed in {len(kills)} rounds; answers {dict(statuses)}; "
        f"bookings {len(load.bookings)}; slowest {load.slowest():.3f} s"
    )
    assert sum(kills) > 0
    assert statuses[201] > 0 and statuses[503] > 0
    assert_contract_answers(load)
    # and the database holds exactly the tours answered 201 (plus unkeyed ones whose commit's answer was lost)
    found = assert_database_matches_answers(clean_db, property_id, load, bookers.queued)
    replays = sum(
        1 for r in load.bookings if r.final.status == 201 and r.final.headers.get("Idempotent-Replayed") == "true"
    )
    print(f"terminate: {found}; keyed requests answered 201 by replay after a 503: {replays}")


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RestartablePostgres]:
    """A migrated PostgreSQL of this test's own; the code under test is pointed at it."""
    with restartable_postgres() as server:
        apply_migrations(server.url, SQL_DIR)
        monkeypatch.setenv("DATABASE_URL", server.url)
        monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", str(CONNECT_TIMEOUT_SECONDS))
        monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", str(STATEMENT_TIMEOUT_MS))
        get_settings.cache_clear()
        db.close()
        try:
            yield server
        finally:
            db.close()
            get_settings.cache_clear()


def test_server_restart_under_load_answers_503_then_books_again_without_a_handler_restart(
    sqs_queue: Any, own_server: RestartablePostgres
) -> None:
    # given a property on a server of this test's own, its booking days cached, four bookers running
    property_id = new_property(capacity=2)
    conversation_id = new_conversation(own_server.url)
    starts, days = _bookable(tuple(range(3, 15)))
    _cache_days(property_id, days)
    bookers = Containers(4, LoadPlan(property_id, conversation_id, starts, days, time.monotonic() + 20), sqs_queue)
    # when the server is killed after a second, stays down for 2.5 s and comes back
    time.sleep(1)
    own_server.stop("immediate")
    down = time.monotonic()
    time.sleep(2.5)
    up_from = time.monotonic()
    own_server.start()
    up = time.monotonic()
    time.sleep(1.5)  # load after the restart
    load = bookers.finish(15)

    def first_201_after(moment: float) -> float | None:
        done = [a.finished for r in load.bookings for a in r.attempts if a.answer.status == 201 and a.started >= moment]
        return min(done) - moment if done else None

    # then nothing but 200/201/409/503 was answered, each 503 with Retry-After
    assert_contract_answers(load)
    attempts = load.attempts()
    during = [a for a in attempts if a.started >= down and a.finished <= up_from]
    print(
        f"\nrestart: outage {up - down:.2f} s (down to accepting); answers {dict(load.statuses())}; "
        f"during the outage {len(during)} all 503: {all(a.answer.status == 503 for a in during)}; "
        f"first 201 {first_201_after(up)} s after the restart; slowest {load.slowest():.3f} s"
    )
    assert during and {a.answer.status for a in during} == {503}
    # and no answer waited past the connect and statement timeouts
    assert load.slowest() < CONNECT_TIMEOUT_SECONDS + STATEMENT_TIMEOUT_MS / 1000
    # and bookings succeed again in the same processes: every booker replaced its connection and booked
    assert first_201_after(up) is not None
    booked_after = {
        r.tag.split()[1].split("-")[0]  # the booker's number
        for r in load.bookings
        for a in r.attempts
        if a.started >= up and a.answer.status == 201
    }
    assert booked_after == {"0", "1", "2", "3"}
    # and the database holds exactly what was answered
    found = assert_database_matches_answers(own_server.url, property_id, load, bookers.queued)
    print(f"restart: {found}")


def test_a_commit_whose_answer_was_lost_answers_503_and_its_key_replays_the_one_tour(
    clean_db: str, sqs_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the handler reaching the database through a proxy that will lose the answer to the next COMMIT
    property_id = new_property(capacity=2)
    body = tour_body(property_id, new_conversation(clean_db), future_slot(hour=14))
    key = {"Idempotency-Key": f"lost-{uuid.uuid4()}"}
    with commit_cutting_proxy(clean_db) as proxy:
        monkeypatch.setenv("DATABASE_URL", proxy.url)
        get_settings.cache_clear()
        db.close()
        try:
            proxy.lose_next_commit_answer()
            # when a keyed booking commits but its connection drops before the answer
            lost = call("POST", "/tours", body, key)
            assert proxy.cut.is_set()
            # then the client hears 503 with Retry-After, though the tour is booked
            assert lost.status == 503, lost.json
            assert lost.json["error"]["code"] == "service_unavailable"
            assert int(lost.headers["Retry-After"]) > 0
            with psycopg.connect(clean_db) as conn:
                booked = conn.execute(
                    b"SELECT id::text FROM tour_booking_sync WHERE property_id = %s", (property_id,)
                ).fetchall()
            assert len(booked) == 1
            # and the retry with the same key, on a new connection, answers that very tour and books nothing more
            retried = call("POST", "/tours", body, key)
            again = call("POST", "/tours", body, key)
        finally:
            db.close()
    assert retried.status == 201, retried.json
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json["id"] == booked[0][0]
    assert again.json == retried.json
    with psycopg.connect(clean_db) as conn:
        count = conn.execute(b"SELECT count(*) FROM tour_booking_sync WHERE property_id = %s", (property_id,))
        assert count.fetchone() == (1,)
