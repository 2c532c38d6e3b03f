"""The booking API traced as Lambda traces it (tour_booking/observability.py).

With TRACING_SDK=xray, a sampled invocation's X-Ray segments reach the daemon's UDP port with the handler's
subsegment and its cold-start annotation, and none of the prospect's details (the 201 carries them all). By
default (Lambda's active tracing alone), and for an unsampled invocation, the X-Ray SDK is never imported and
the function sends nothing.

The handler runs in a child process whose environment is Lambda's (function name, task root, trace header,
daemon address), because Powertools' Tracer decides when it is built whether it is in Lambda, and the test
process runs outside it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.builders import future_slot, new_conversation, schedule_body, tour_body
from tests.integration.private_details import PROSPECT, SECRETS

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from functions.booking_api.app import lambda_handler
from tests.api_events import LambdaContext, api_event

print("sdk at init", "aws_xray_sdk" in sys.modules, flush=True)
for method, path, body in json.loads(sys.argv[1]):
    answer = lambda_handler(api_event(method, path, body), LambdaContext())
    print("status", answer["statusCode"], flush=True)
print("sdk after", "aws_xray_sdk" in sys.modules, flush=True)
"""


def _segments(datagrams: list[bytes]) -> list[dict[str, Any]]:
    # Each datagram is a JSON header line, a newline, then one segment or subsegment document.
    return [json.loads(datagram.split(b"\n", 1)[1]) for datagram in datagrams]


def _walk(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pending = list(documents)
    while pending:
        document = pending.pop()
        found.append(document)
        pending.extend(document.get("subsegments", []))
    return found


def _traced_run(clean_db: str, app_url: str, *, sdk: str | None, sampled: bool) -> tuple[str, list[bytes]]:
    property_id = uuid.uuid4()
    conversation_id = new_conversation(clean_db)
    requests = [
        ["PUT", f"/properties/{property_id}/tour-schedule", schedule_body()],
        ["POST", "/tours", tour_body(property_id, conversation_id, future_slot(), prospect=PROSPECT)],
    ]
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(0.5)
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "SYNC_QUEUE_URL", "TRACING_SDK"}
    }
    trace_id = f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
    env.update(
        DATABASE_URL=app_url,
        PYTHONPATH=f"{ROOT / 'layers/shared'}:{ROOT}",
        AWS_LAMBDA_FUNCTION_NAME="tour-booking-api",
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_XRAY_DAEMON_ADDRESS=address,
        _X_AMZN_TRACE_ID=f"Root={trace_id};Parent={uuid.uuid4().hex[:16]};Sampled={int(sampled)}",
    )
    if sdk is not None:
        env["TRACING_SDK"] = sdk
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(requests)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        datagrams: list[bytes] = []
        while True:
            try:
                datagrams.append(daemon.recv(65_535))
            except TimeoutError:
                break
    finally:
        daemon.close()

    assert child.returncode == 0, child.stderr
    statuses = [line.split()[1] for line in child.stdout.splitlines() if line.startswith("status ")]
    assert statuses == ["200", "201"], child.stdout
    assert "sdk at init False" in child.stdout, "the X-Ray SDK was imported at init"
    return trace_id + "\n" + child.stdout, datagrams


def test_a_traced_booking_sends_the_handler_subsegments_and_no_prospect_detail(clean_db: str, app_url: str) -> None:
    # given TRACING_SDK=xray and invocations Lambda sampled
    output, datagrams = _traced_run(clean_db, app_url, sdk="xray", sampled=True)
    trace_id = output.split("\n", 1)[0]

    # then the SDK was loaded by the first invocation, and the segments carry the trace, not the prospect
    assert "sdk after True" in output
    documents = _walk(_segments(datagrams))
    assert {document["trace_id"] for document in documents if "trace_id" in document} == {trace_id}
    handler = [document for document in documents if document.get("name") == "## lambda_handler"]
    assert len(handler) == 2
    assert sorted(document["annotations"]["ColdStart"] for document in handler) == [False, True]
    raw = b"".join(datagrams).decode()
    leaked = [secret for secret in SECRETS if secret.lower() in raw.lower()]
    assert not leaked, f"the trace carries prospect details: {leaked}"


def test_by_default_the_function_loads_no_tracing_sdk_and_sends_nothing(clean_db: str, app_url: str) -> None:
    # given the default (Lambda's active tracing alone) and sampled invocations
    output, datagrams = _traced_run(clean_db, app_url, sdk=None, sampled=True)

    # then the X-Ray SDK was never imported and no segment left the function
    assert "sdk after False" in output
    assert datagrams == []


def test_an_unsampled_invocation_never_loads_the_sdk(clean_db: str, app_url: str) -> None:
    # given TRACING_SDK=xray but invocations Lambda did not sample
    output, datagrams = _traced_run(clean_db, app_url, sdk="xray", sampled=False)

    # then nothing was loaded or sent
    assert "sdk after False" in output
    assert datagrams == []
