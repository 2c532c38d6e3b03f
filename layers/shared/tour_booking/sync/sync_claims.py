"""Claims that keep two containers from syncing one tour, or one new prospect's tours, at once: rows of
`sync_claim` taken and released by short transactions of their own, with a lease, so no transaction stays open
across a ResMan call and a crashed container's claim expires by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import sync_claims_repository
from tour_booking.domain.errors import DatabaseUnavailableError
from tour_booking.settings import get_settings

logger = Logger(child=True)


class TourBusyError(Exception):
    """Another sync held the tour's or the prospect's claim for longer than SYNC_CLAIM_WAIT_SECONDS."""


class _NotClaimed(Exception):
    """Rolls back a partial claim."""


def _try_claim(keys: list[str], holder: UUID, lease_seconds: int) -> bool:
    try:
        with db.transaction() as conn:
            if not sync_claims_repository.claim(conn, keys, holder, lease_seconds):
                raise _NotClaimed
    except _NotClaimed:
        return False
    return True


@contextmanager
def claimed(keys: list[str], holder: UUID) -> Iterator[None]:
    """Holds the claims on `keys` for the block, waiting a little for another holder to finish (a duplicate
    message of a tour being synced then finds it synced, instead of going back to the queue)."""
    settings = get_settings()
    deadline = time.monotonic() + settings.sync_claim_wait_seconds
    pause = 0.05
    while not _try_claim(keys, holder, settings.sync_claim_lease_seconds):
        if time.monotonic() + pause > deadline:
            raise TourBusyError("another sync holds the claim")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    try:
        yield
    finally:
        try:
            with db.transaction() as conn:
                sync_claims_repository.release(conn, keys, holder)
        except DatabaseUnavailableError:
            logger.warning("sync claim left to expire by its lease")
