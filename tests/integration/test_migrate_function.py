"""The migrate function: a direct invoke and a CloudFormation custom-resource request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from functions.migrate import app
from tests.database import SQL_DIR, pooled, scratch_database
from tour_booking.db.migrations import FUNCTIONS_VERSION
from tour_booking.settings import get_settings

pytestmark = pytest.mark.migrations


@pytest.fixture
def empty_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with scratch_database(server_url) as url:
        monkeypatch.setenv("DATABASE_URL", pooled(url))
        monkeypatch.setattr(app, "SQL_DIR", SQL_DIR)
        get_settings.cache_clear()
        yield url
        get_settings.cache_clear()


def _context() -> Any:
    return SimpleNamespace(
        function_name="migrate",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:migrate",
        aws_request_id="req-1",
        log_stream_name="stream",
    )


def test_a_direct_invoke_applies_the_migrations(empty_database: str) -> None:
    result = app.lambda_handler({}, _context())
    assert result["applied"] == [*sorted(p.name for p in Path(SQL_DIR).glob("*.sql")), FUNCTIONS_VERSION]
    assert app.lambda_handler({}, _context()) == {"applied": []}


def test_a_custom_resource_create_migrates_and_answers_cloudformation(empty_database: str) -> None:
    # given a stand-in for CloudFormation's pre-signed response URL
    answers: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    event = {
        "RequestType": "Create",
        "ResponseURL": f"http://127.0.0.1:{server.server_port}/response",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "SchemaMigrations",
        "ResourceProperties": {"CodeVersion": "1"},
    }

    # when CloudFormation asks for the resource
    app.lambda_handler(event, _context())
    thread.join(5)
    server.server_close()

    # then the schema exists and CloudFormation heard SUCCESS
    assert [a["Status"] for a in answers] == ["SUCCESS"]
    with psycopg.connect(empty_database) as conn:
        assert conn.execute(b"SELECT to_regclass('tour_booking_sync') IS NOT NULL").fetchone() == (True,)
