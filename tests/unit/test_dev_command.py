"""`make dev`'s guards: one stack per state directory, ports already taken, options from the environment."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools.dev import AlreadyRunningError, StateDir, busy_ports, parse_args


def test_a_second_stack_on_the_same_state_directory_is_told_which_one_runs(tmp_path: Path) -> None:
    # given a running stack that published its pid and API
    first = StateDir(tmp_path)
    first.acquire()
    first.write({"pid": 4242, "api_url": "http://127.0.0.1:3000"})
    # when a second one starts
    with pytest.raises(AlreadyRunningError) as refused:
        StateDir(tmp_path).acquire()
    # then it is told which one runs and how to stop it
    assert "already running (pid 4242, API http://127.0.0.1:3000)" in str(refused.value)
    assert "kill -INT 4242" in str(refused.value)
    # and once the first one is gone, a new one may start
    first.release()
    again = StateDir(tmp_path)
    again.acquire()
    again.release()


def test_a_port_another_program_listens_on_is_named() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert busy_ports({"API": taken, "any": 0}) == [f"API port {taken}"]


def test_ports_and_rates_come_from_flags_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_API_PORT", "3100")
    monkeypatch.setenv("DEV_REFRESH_SECONDS", "5")
    options = parse_args(["--sqs-port", "3202"])
    assert (options.api_port, options.resman_port, options.sqs_port) == (3100, 3001, 3202)
    assert options.refresh_seconds == 5.0
    assert options.sweep_seconds is None
