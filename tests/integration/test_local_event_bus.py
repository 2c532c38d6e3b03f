"""`make dev`'s [events] bus: each entry printed as the EventBridge event and POSTed to the webhook when set."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tools.dev import parse_args
from tools.local_event_bus import LocalEventBus

ENTRY = {
    "Source": "tour-booking",
    "DetailType": "TourBooked",
    "Detail": json.dumps({"event_id": "e-1", "tour_id": "t-1", "version": 1}),
    "EventBusName": "default",
    "Time": datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
    "Resources": [],
}


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[dict[str, str], Any]]]]:
    received: list[tuple[dict[str, str], Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_each_event_is_printed_and_forwarded_as_eventbridge_delivers_it(
    webhook: tuple[str, list[tuple[dict[str, str], Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    # given the local bus with a webhook and its key
    url, received = webhook
    bus = LocalEventBus(url, "hook-key")
    # when the publisher puts an entry
    with caplog.at_level(logging.INFO, logger="tools.local_event_bus"):
        answer = bus.put_events(Entries=[ENTRY])
    # then it is accepted, printed with its detail type and detail, and POSTed as an EventBridge event
    assert answer["FailedEntryCount"] == 0
    assert answer["Entries"][0]["EventId"]
    assert any(r.getMessage().startswith('TourBooked {"event_id":"e-1"') for r in caplog.records)
    [(headers, event)] = received
    assert headers["x-api-key"] == "hook-key"
    assert (event["source"], event["detail-type"], event["time"]) == (
        "tour-booking",
        "TourBooked",
        "2026-12-01T15:00:00Z",
    )
    assert event["detail"] == {"event_id": "e-1", "tour_id": "t-1", "version": 1}


def test_a_webhook_that_is_down_is_logged_and_the_entry_still_accepted(caplog: pytest.LogCaptureFixture) -> None:
    bus = LocalEventBus("http://127.0.0.1:9/hook", timeout=1)
    with caplog.at_level(logging.INFO, logger="tools.local_event_bus"):
        answer = bus.put_events(Entries=[ENTRY])
    assert answer["FailedEntryCount"] == 0
    assert any("did not take e-1" in r.getMessage() for r in caplog.records)


def test_the_webhook_and_the_rate_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_WEBHOOK_URL", "http://127.0.0.1:4000/hook")
    monkeypatch.setenv("DEV_EVENTS_SECONDS", "5")
    options = parse_args([])
    assert (options.webhook_url, options.events_seconds, options.webhook_api_key) == (
        "http://127.0.0.1:4000/hook",
        5.0,
        None,
    )
