"""`make bench` on a fresh clone: every module in one process, each on its own embedded server."""

from __future__ import annotations

import os

import pytest

from bench.__main__ import main as run_benchmarks


def test_two_modules_run_one_after_the_other_without_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given no DATABASE_URL (each module starts an embedded server and stops it) and the smallest sizes
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BENCH_REFRESH_PROPERTIES", "2")
    monkeypatch.setenv("BENCH_RESMAN_LATENCY_MS", "0")

    # when the refresh benchmark runs and then the sync benchmark, in this process
    assert run_benchmarks(["cache_refresh", "resman_sync"]) == 0

    # then the second found a live server of its own (the first one's was already gone), and both measured
    output = capsys.readouterr().out
    assert "== bench.cache_refresh ==" in output
    assert "steady state" in output
    assert "== bench.resman_sync ==" in output
    assert "RESMAN_MAX_CONCURRENCY_PER_ACCOUNT=2" in output
    # and the environment is as it was before: no DATABASE_URL naming a stopped server
    assert "DATABASE_URL" not in os.environ
    assert "REFRESH_HORIZON_DAYS" not in os.environ
