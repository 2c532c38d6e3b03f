"""The client behind the sync's port (tour_booking.resman.sync_adapter): the client's errors become the port's."""

from __future__ import annotations

from typing import Any, cast

import pytest

from tour_booking.resman.client import ResManClient
from tour_booking.resman.errors import (
    ResManAuthError,
    ResManConfigurationError,
    ResManError,
    ResManPermanentError,
    ResManTransientError,
)
from tour_booking.resman.sync_adapter import ResManSyncAdapter
from tour_booking.sync.resman_port import ResManCallError, ResManRefusedError, ResManUnavailableError


class FailingClient:
    def __init__(self, error: ResManError) -> None:
        self.error = error

    def search_prospects(self, *args: Any, **criteria: str) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ResManPermanentError("MITS/SearchProspects: Failed: nope"), ResManRefusedError),
        (ResManAuthError("MITS/SearchProspects: HTTP 401 (credentials refused)"), ResManRefusedError),
        (ResManTransientError("MITS/SearchProspects: HTTP 503"), ResManUnavailableError),
        (ResManConfigurationError("set RESMAN_SECRET_ARN"), ResManCallError),
    ],
)
def test_client_errors_become_the_ports_and_keep_the_reason_operators_know(
    error: ResManError, expected: type[ResManCallError]
) -> None:
    # given a client failing so
    port = ResManSyncAdapter(cast(ResManClient, FailingClient(error)))
    # when the sync searches through the port
    with pytest.raises(ResManCallError) as raised:
        port.cards_with_email("acct", "prop", "a@example.com")
    # then it sees the port's error, whose message names the client's (the reason stored on the tour)
    assert type(raised.value) is expected
    assert str(raised.value) == f"{type(error).__name__}: {error}"
    assert raised.value.__cause__ is error
