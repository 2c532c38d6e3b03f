"""`make dev` runs each function with its own Environment from template.yaml, next to the others in one process."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from tools import local_stack, sam_template
from tour_booking.resman.client import get_resman_client
from tour_booking.settings import get_settings

OVERRIDES = local_stack.local_overrides(
    "postgresql://127.0.0.1:1/local",
    "http://127.0.0.1:1",
    "http://127.0.0.1:1/123456789012/tour-booking-sync",
    "http://127.0.0.1:2",
    60,
)


def _what_the_function_sees(event: Any, context: Any) -> dict[str, Any]:
    """A handler that reports the settings and ResMan client its container (and a worker thread of it) get."""
    client = get_resman_client()
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_worker = pool.submit(contextvars.copy_context().run, lambda: get_settings().resman_timeout_seconds)
    settings = get_settings()
    return {
        "timeout": settings.resman_timeout_seconds,
        "attempts": settings.resman_max_attempts,
        "sync_workers": settings.resman_sync_workers,
        "refresh_concurrency": settings.refresh_concurrency,
        "client_timeout": client._settings.resman_timeout_seconds,
        "client_attempts": client._settings.resman_max_attempts,
        "worker_timeout": in_worker.result(),
        "base_url": settings.resman_base_url,
        "database_url": settings.database_url,
        "prepare_threshold": settings.db_prepare_threshold,
    }


def test_the_template_resolves_plain_values_and_parameter_defaults_only() -> None:
    # given the sync function's declared environment (Globals and its own)
    declared = sam_template.function_environment("ResmanSyncFunction")

    # then its own values, the Globals' plain values and Parameters' defaults resolve; deploy-only ones do not
    assert declared["RESMAN_TIMEOUT_SECONDS"] == "5"
    assert declared["RESMAN_MAX_ATTEMPTS"] == "3"
    assert declared["POWERTOOLS_SERVICE_NAME"] == "tour-booking"
    assert declared["RESMAN_BASE_URL"] == "https://api.myresman.com"  # ResManBaseUrl's Default
    assert declared["DB_SECRET_ARN"] is None  # a Parameter without a Default
    assert declared["SYNC_QUEUE_URL"] is None  # another resource


def test_the_sync_sees_the_templates_resman_limits_and_the_refresh_its_own() -> None:
    # given the sync and the refresh built as make dev builds them, in one process
    get_settings.cache_clear()
    get_resman_client.cache_clear()
    with ExitStack() as stack:
        sync = local_stack.local_function(
            stack,
            "ResmanSyncFunction",
            _what_the_function_sees,
            part_name="sync",
            concurrency=1,
            overrides=OVERRIDES,
        )
        refresh = local_stack.local_function(
            stack,
            "CacheRefreshFunction",
            _what_the_function_sees,
            part_name="refresh",
            concurrency=1,
            overrides=OVERRIDES,
        )

        # when each is invoked
        in_sync = sync.invoke({"Records": []})
        in_refresh = refresh.invoke({})

    # then the sync's settings, its ResMan client and its worker threads have template.yaml's 5 s and 3 attempts
    assert in_sync["timeout"] == 5
    assert in_sync["attempts"] == 3
    assert in_sync["client_timeout"] == 5
    assert in_sync["client_attempts"] == 3
    assert in_sync["worker_timeout"] == 5
    assert in_sync["sync_workers"] == 10
    # and the refresh, which declares no ResMan limits, keeps the client's defaults and has its own variables
    assert in_refresh["timeout"] == 10
    assert in_refresh["attempts"] == 4
    assert in_refresh["client_timeout"] == 10
    assert in_refresh["refresh_concurrency"] == 8
    # and what must point locally does, in both; the template's plain values apply (no prepared statements)
    for seen in (in_sync, in_refresh):
        assert seen["base_url"] == "http://127.0.0.1:2"
        assert seen["database_url"] == "postgresql://127.0.0.1:1/local"
        assert seen["prepare_threshold"] is None
    # and outside any function the process's own settings are untouched
    assert get_settings().resman_timeout_seconds == 10
