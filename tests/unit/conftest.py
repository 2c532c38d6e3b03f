"""The unit tier: pure code, all of it in well under 10 s (`make test-unit`). A test here that opens a connection, to
the database or over a socket, fails at once: it belongs in tests/integration."""

from __future__ import annotations

import socket
from typing import NoReturn

import psycopg
import pytest


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("a unit test opened a connection: it belongs in tests/integration")


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(psycopg, "connect", _refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(_refuse))
