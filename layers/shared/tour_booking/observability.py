"""The functions' logging, metrics and tracing, in one place.

Every function logs and counts through `logger` and `metrics` (Powertools), named by the environment the
template gives every function (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE); a module that logs on
its function's behalf takes Powertools' `Logger(child=True)`, which names the module. Nothing logged carries a
prospect's details: they are never passed as `extra`, and errors are logged by type.

Tracing: Lambda's active tracing always, the X-Ray SDK's subsegments only when asked for, and then loaded by
the first sampled invocation, never at init.

Measured (bench/cold_start.py, README "Performance"): the X-Ray SDK, with the botocore it loads to patch it,
was about a third of the booking API's init import (more of the others'). So:
- `TRACING_SDK=off` (the default): no tracing code runs in the function. Lambda's active tracing
  (`Tracing: Active` in template.yaml) still records each invocation's segment (Initialization, Invocation,
  Overhead) under API Gateway's trace, at no init cost and with no dependency on the X-Ray SDK, which is in
  maintenance mode (support ends 2027-02-25).
- `TRACING_SDK=xray`: an invocation that Lambda sampled (`Sampled=1` in `_X_AMZN_TRACE_ID`) loads Powertools'
  Tracer (once per container), patches the AWS SDK and http.client (ResMan's calls), and runs the handler in a
  `## <handler>` subsegment annotated `ColdStart` (the container's first invocation, traced or not) and
  `Service`. Unsampled invocations never load it. The X-Ray SDK's psycopg patch stays off: its connection proxy
  misses `Connection.execute`, so the database time shows as the handler's own.
Nothing a handler returns is recorded: no response metadata (a tour carries the prospect's name, email and
phone), and a failure records only its exception type in the subsegment's metadata.
Outside Lambda (tests, `make dev`, `sam local`) Powertools disables the Tracer and nothing is sent.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

# Powertools' package loads its Tracer class but not the X-Ray SDK, which the Tracer's provider imports when a
# Tracer is first built (load_tracer).
from aws_lambda_powertools import Logger, Metrics, Tracer

PATCHED_MODULES = ("botocore", "httplib")
TRACE_HEADER = "_X_AMZN_TRACE_ID"
SERVICE = "tour-booking"
METRICS_NAMESPACE = "TourBooking"

logger = Logger()
# The namespace is also given here, so that a function run without the template's environment (a test, a local
# run with a partial env file) cannot turn a good run into a metrics validation error.
metrics = Metrics(namespace=METRICS_NAMESPACE)


class _Container:
    cold_start = True
    tracer: Tracer | None = None


_container = _Container()


def sampled() -> bool:
    """Whether Lambda sampled this invocation (the runtime sets the header in the environment per invocation)."""
    return "Sampled=1" in os.environ.get(TRACE_HEADER, "").split(";")


def load_tracer() -> Tracer:
    """Powertools' Tracer with the AWS SDK and http.client patched; built once per container."""
    if _container.tracer is None:
        _container.tracer = Tracer(service=SERVICE, patch_modules=PATCHED_MODULES)
    return _container.tracer


def traced_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The handler, traced by the X-Ray SDK when TRACING_SDK=xray and Lambda sampled the invocation."""

    @functools.wraps(handler)
    def invoke(event: Any, context: Any, **kwargs: Any) -> Any:
        from tour_booking.settings import get_settings  # noqa: PLC0415 - cold start: pydantic-settings, when called

        cold_start, _container.cold_start = _container.cold_start, False
        if get_settings().tracing_sdk != "xray" or not sampled():
            return handler(event, context, **kwargs)
        tracer = load_tracer()
        if tracer.disabled:  # outside Lambda, under sam local, or POWERTOOLS_TRACE_DISABLED
            return handler(event, context, **kwargs)
        # begin/end rather than the SDK's context manager, which would record the exception's message (a
        # database error can quote an email): a failure keeps its type only.
        recorder: Any = tracer.provider  # the X-Ray SDK's recorder
        subsegment = recorder.begin_subsegment(name=f"## {handler.__name__}")
        try:
            subsegment.put_annotation(key="ColdStart", value=cold_start)
            subsegment.put_annotation(key="Service", value=SERVICE)
            return handler(event, context, **kwargs)
        except Exception as error:
            subsegment.add_fault_flag()
            subsegment.put_metadata(key="error_type", value=type(error).__name__, namespace=SERVICE)
            raise
        finally:
            recorder.end_subsegment()

    return invoke


def forget() -> None:
    """Drops the loaded tracer (SnapStart's after-restore hook: its sockets and sampling state were the snapshot's)."""
    _container.tracer = None
