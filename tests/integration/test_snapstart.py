"""SnapStart simulated with the runtime's hooks (snapshot_restore_py, as the Lambda Python runtime runs them):
init, a request that opens a connection, the before-snapshot hooks, a "restore" of that memory into a new
container (the database has closed every connection the snapshot knew, the random state is the snapshot's),
the after-restore hooks, and the first request after the restore.

The child process is a fresh interpreter with Lambda's environment, as the runtime's init is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, random, sys
import psycopg
from snapshot_restore_py import get_after_restore, get_before_snapshot

from functions.booking_api.app import lambda_handler  # init
from tests.api_events import LambdaContext, api_event
from tour_booking import db

report = {"booking_loaded_at_init": "tour_booking.booking.booking_service" in sys.modules}

def health():
    return lambda_handler(api_event("GET", "/health", None), LambdaContext())["statusCode"]

def backend_pid():
    conn = getattr(db._local, "conn", None)
    return None if conn is None or conn.closed else conn.info.backend_pid

report["primed"] = health()
report["primed_pid"] = backend_pid()

# Lambda: init done, the before-snapshot hooks, then the snapshot.
for hook, args, kwargs in get_before_snapshot():
    hook(*args, **kwargs)
report["booking_loaded_in_snapshot"] = "tour_booking.booking.booking_service" in sys.modules
report["pid_after_snapshot_hook"] = backend_pid()
frozen = random.getstate()

# Restore, hours later, into another container: the server closed the sessions it knew.
with psycopg.connect(sys.argv[1], autocommit=True) as admin:
    admin.execute("SELECT pg_terminate_backend(%s)", (report["primed_pid"],))
random.setstate(frozen)
snapshot_next = random.Random()
snapshot_next.setstate(frozen)
for hook, args, kwargs in get_after_restore():
    hook(*args, **kwargs)
report["random_reseeded"] = random.random() != snapshot_next.random()
report["first_after_restore"] = health()
report["pid_after_restore"] = backend_pid()
print(json.dumps(report))
"""


def test_a_restored_snapshot_answers_its_first_request_with_fresh_state(clean_db: str, app_url: str) -> None:
    # given the booking API's init and a priming request in a Lambda-like process with SnapStart
    env = {key: value for key, value in os.environ.items() if key not in {"POWERTOOLS_TRACE_DISABLED"}}
    env.update(
        DATABASE_URL=app_url,
        PYTHONPATH=f"{ROOT / 'layers/shared'}:{ROOT}",
        AWS_LAMBDA_FUNCTION_NAME="tour-booking-api",
        AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",
        LAMBDA_TASK_ROOT=str(ROOT),
    )
    # when it is snapshotted and restored with the runtime's hooks
    child = subprocess.run(
        [sys.executable, "-c", CHILD, clean_db],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])

    # then init left the booking modules to the routes, the snapshot holds them, and no connection
    assert report["booking_loaded_at_init"] is False
    assert report["primed"] == 200 and report["primed_pid"] is not None
    assert report["booking_loaded_in_snapshot"] is True
    assert report["pid_after_snapshot_hook"] is None
    # and the restored container reseeded its random state and answers its first request on a new connection
    assert report["random_reseeded"] is True
    assert report["first_after_restore"] == 200
    assert report["pid_after_restore"] not in (None, report["primed_pid"])
