"""The sweeper: re-queues tours left `pending` too long, so no booking is stranded by a lost send or a
dead-lettered message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import sync_claims_repository, tombstones_repository, tours_repository
from tour_booking.run_reports import report_dict
from tour_booking.settings import get_settings
from tour_booking.sync.sync_queue import SyncRequest, send_sync_requests

logger = Logger(child=True)


@dataclass(frozen=True)
class SweepReport:
    found: int
    sent: int
    unsent: int

    def as_dict(self) -> dict[str, Any]:
        return report_dict(self)


def sweep_pending(now: datetime | None = None, limit: int | None = None) -> SweepReport:
    """Re-sends tours `pending` for longer than SWEEPER_PENDING_AGE_SECONDS (a lost send, a dead-lettered
    message), so no booking is stranded."""
    settings = get_settings()
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=settings.sweeper_pending_age_seconds)
    limit = limit or settings.sweeper_batch_limit
    with db.transaction() as conn:
        rows = tours_repository.find_stale_pending(conn, cutoff, limit)
        # Deleted tours whose Cancel has not reached ResMan yet (sql/041): their message names the tour id too.
        stones = tombstones_repository.find_stale_open(conn, cutoff, max(limit - len(rows), 0))
        sync_claims_repository.prune_expired_claims(conn, now or datetime.now(UTC))
    requests = [SyncRequest(row["id"], int(row["version"]), "sweeper") for row in [*rows, *stones]]
    unsent = send_sync_requests(requests)
    sent_ids = [r.tour_id for r in requests if r not in unsent]
    stone_ids = {row["id"] for row in stones}
    with db.transaction() as conn:
        tours_repository.touch_swept(conn, [t for t in sent_ids if t not in stone_ids])
        tombstones_repository.touch_swept(conn, [t for t in sent_ids if t in stone_ids])
    report = SweepReport(len(requests), len(sent_ids), len(unsent))
    logger.info("pending tours swept", extra={"found": report.found, "sent": report.sent, "unsent": report.unsent})
    return report
