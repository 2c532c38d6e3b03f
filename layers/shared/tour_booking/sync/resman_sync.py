"""The ResMan sync: brings ResMan to each queued tour's current state (the sweeper is sync.sweeper).

State-based, so duplicate, late and reordered messages are harmless: the message only names the tour; the
sync loads the tour's current row and, unless that version is already synced, makes ResMan match it:

- active (scheduled / confirmed), completed or no_show: the guest card is found by the card rules (stored
  ProspectID, else email, else phone with last name) before one is created, so there is never a duplicate card
  and never one person's tour on another's card. A post to an existing card carries what the card holds
  (domain.guest_card_rules); a new tour on a `lost` card reactivates it (RESMAN_REACTIVATE_EVENT_TYPE), and the tour's
  preferences go to the card's CustomerPreferences. The tour's
  appointment is ONE `Appointment` event: created once, then updated in place by its EventID on a reschedule or
  a change of type or notes (ResMan documents appointment updates through PostLeadManagement4_0). A completed
  tour also gets a `Show` event.
- cancelled: a `Cancel` event after the appointment (ResMan has no cancel method). A tour cancelled before its
  appointment ever reached ResMan creates nothing: no guest card is made just to cancel it.
- deleted (its conversation deleted in DomIQ, sql/041): a message for a tour that no longer exists reads the
  tour's tombstone and posts the Cancel like a cancelled tour's; the sweeper queues open tombstones.

Exactly once under crashes and ambiguous failures: every event we post carries the tour's marker
(`DomIQ tour <id>`) in its Comments, and ResMan's ids are stored as soon as they are known. A post that may
have reached ResMan (a timeout, a 5xx) is never blindly re-sent: the card is searched again and the marker
tells whether the event is already there.

Failures: transient (ResMan down, slow, 5xx, 429, an unparsable answer, the database, another sync of the same
tour) fail the message, so SQS retries it and after maxReceiveCount dead-letters it (the sweeper re-sends the
tour later). Permanent ones (ResMan's Failed/Error inside a 200, bad credentials, a property without ResMan
ids) mark the tour `failed` with the reason (no personal data) and acknowledge the message. A deleted tour's
tombstone takes the same path, its verdict written to the tombstone instead.

ResMan is reached through the port of sync.resman_port, in the domain's guest-card values: the sync never sees
MITS XML or the client's error types.

Inside a batch, tours sync concurrently (RESMAN_SYNC_WORKERS threads, each with its own connection) and a
tour's several messages are served by one sync of its current state.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID, uuid4

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import sync_claims_repository, tombstones_repository, tours_repository
from tour_booking.domain.errors import DatabaseUnavailableError
from tour_booking.settings import get_settings
from tour_booking.sync.resman_port import ResManCallError, ResManPort, ResManRefusedError
from tour_booking.sync.sync_claims import TourBusyError, claimed
from tour_booking.sync.sync_queue import SyncRequest
from tour_booking.sync.tour_sync import SyncTransientError, TourSync

logger = Logger(child=True)


@dataclass(frozen=True)
class SyncOutcome:
    tour_id: UUID
    result: str  # synced | already_synced | already_failed | failed | missing | superseded
    posts: int = 0
    reason: str | None = None
    # Which guest_card_rules rule found the tour's card (None when no card was looked up): a metric dimension.
    match_rule: str | None = None


def _reason(error: BaseException) -> str:
    # A ResMan failure's message is its reason already (resman_port); the others' messages carry no prospect
    # details either.
    text = str(error) if isinstance(error, ResManCallError) else f"{type(error).__name__}: {error}"
    return text[:500]


class _Ledger(Protocol):
    """Where one sync's verdict is written: the tour's row, or a deleted tour's tombstone."""

    refusal: str  # the warning logged when ResMan refuses

    def refused(self, conn: db.Connection, reason: str) -> None: ...

    def attempt_failed(self, conn: db.Connection, reason: str) -> None: ...

    def synced(self, conn: db.Connection, prospect_id: str | None, appointment_id: str | None) -> bool:
        """False when a later version superseded the one synced."""
        ...


@dataclass(frozen=True)
class _TourLedger:
    tour_id: UUID
    version: int
    refusal = "ResMan refused the tour"

    def refused(self, conn: db.Connection, reason: str) -> None:
        tours_repository.mark_sync_failed(conn, self.tour_id, self.version, reason)

    def attempt_failed(self, conn: db.Connection, reason: str) -> None:
        tours_repository.record_sync_attempt_failed(conn, self.tour_id, reason)

    def synced(self, conn: db.Connection, prospect_id: str | None, appointment_id: str | None) -> bool:
        return tours_repository.mark_synced(conn, self.tour_id, self.version, prospect_id, appointment_id)


@dataclass(frozen=True)
class _TombstoneLedger:
    tour_id: UUID
    refusal = "ResMan refused a deleted tour's cancel"

    def refused(self, conn: db.Connection, reason: str) -> None:
        tombstones_repository.close(conn, self.tour_id, reason)

    def attempt_failed(self, conn: db.Connection, reason: str) -> None:
        tombstones_repository.record_attempt_failed(conn, self.tour_id, reason)

    def synced(self, conn: db.Connection, prospect_id: str | None, appointment_id: str | None) -> bool:
        tombstones_repository.close(conn, self.tour_id, None)
        return True


def _sync_recorded(
    tour_id: UUID, row: Mapping[str, Any], client: ResManPort, ledger: _Ledger, holder: UUID | None
) -> SyncOutcome:
    """Syncs a loaded row (a tour's, or a tombstone's) and writes the verdict to its ledger: the one failure
    handling of both. A tour's sync holds the claims of its prospect's identity for `holder`; a tombstone's
    (None) claims none, as a Cancel never creates a card."""
    if not row["resman_account_id"] or not row["resman_property_id"]:
        reason = "the property has no ResMan account or property id"
        with db.transaction() as conn:
            ledger.refused(conn, reason)
        return SyncOutcome(tour_id, "failed", reason=reason)
    settings = get_settings()
    sync = TourSync(
        client,
        row,
        settings.resman_appointment_event_type,
        settings.resman_prospect_source_id,
        settings.resman_reactivate_event_type,
    )
    try:
        if holder is None:
            prospect_id, appointment_id = sync.run()
        else:
            with claimed(sync.identity_keys(), holder):
                prospect_id, appointment_id = sync.run()
    except ResManRefusedError as error:
        reason = _reason(error)
        with db.transaction() as conn:
            ledger.refused(conn, reason)
        logger.warning(ledger.refusal, extra={"tour_id": str(tour_id), "reason": reason})
        return SyncOutcome(tour_id, "failed", sync.posts, reason, sync.match_rule)
    except (ResManCallError, SyncTransientError) as error:
        with db.transaction() as conn:
            ledger.attempt_failed(conn, _reason(error))
        raise SyncTransientError(_reason(error)) from error
    with db.transaction() as conn:
        success = ledger.synced(conn, prospect_id, appointment_id)
    return SyncOutcome(tour_id, "synced" if success else "superseded", sync.posts, match_rule=sync.match_rule)


def sync_tour(tour_id: UUID, message_version: int, client: ResManPort) -> SyncOutcome:
    """One tour, under its claim. Raises SyncTransientError when the message must be retried."""
    holder = uuid4()
    try:
        with claimed([sync_claims_repository.tour_key(tour_id)], holder):
            with db.transaction() as conn:
                row = tours_repository.load_tour_for_sync(conn, tour_id)
            if row is None:
                return _sync_tombstone(tour_id, client)
            if row["synced_version"] >= min(int(row["version"]), message_version):
                # This version (or a later one) is already in ResMan: a duplicate or late message.
                return SyncOutcome(tour_id, "already_synced")
            if row["sync_status"] == "failed":
                # ResMan refused this version for good: a duplicate, late or redriven message must not ask again
                # (and must not turn the verdict into `success`). A change or an operator sets it pending first.
                return SyncOutcome(tour_id, "already_failed")
            return _sync_recorded(tour_id, row, client, _TourLedger(tour_id, int(row["version"])), holder)
    except (TourBusyError, DatabaseUnavailableError) as error:
        raise SyncTransientError(_reason(error)) from error


def _sync_tombstone(tour_id: UUID, client: ResManPort) -> SyncOutcome:
    """A tour deleted here (its conversation deleted): the Cancel still reaches ResMan, from its tombstone. Its
    status is `cancelled`: the Cancel is posted when ResMan holds the appointment, and no card is ever created."""
    with db.transaction() as conn:
        stone = tombstones_repository.load_open(conn, tour_id)
    if stone is None:
        logger.warning("sync for an unknown tour acknowledged", extra={"tour_id": str(tour_id)})
        return SyncOutcome(tour_id, "missing")
    outcome = _sync_recorded(tour_id, stone, client, _TombstoneLedger(tour_id), None)
    if outcome.result == "synced":
        logger.info("deleted tour's cancel synced", extra={"tour_id": str(tour_id), "posts": outcome.posts})
    return outcome


@lru_cache(maxsize=4)
def _executor(workers: int) -> ThreadPoolExecutor:
    """Kept for the container's life: each worker thread keeps its database connection between batches."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="resman-sync")


def sync_requests(
    requests: Iterable[tuple[str, SyncRequest]], client: ResManPort
) -> dict[str, BaseException | SyncOutcome]:
    """Syncs a batch: message id -> its outcome, or the exception that must fail the message.

    Messages are grouped by tour: one sync of the tour's current state serves all of them (state-based), and
    different tours sync concurrently."""
    groups: dict[UUID, list[tuple[str, SyncRequest]]] = {}
    for message_id, request in requests:
        groups.setdefault(request.tour_id, []).append((message_id, request))

    def run(tour_id: UUID) -> BaseException | SyncOutcome:
        version = max(request.version for _, request in groups[tour_id])
        # The API request's id travels in the message: it ties these lines to the booking that queued them.
        trace = {
            "tour_id": str(tour_id),
            "correlation_id": sorted({r.correlation_id for _, r in groups[tour_id] if r.correlation_id}),
        }
        try:
            outcome = sync_tour(tour_id, version, client)
        except Exception as error:
            if isinstance(error, SyncTransientError):
                logger.warning("tour sync will be retried", extra={**trace, "error_type": type(error).__name__})
            else:
                logger.exception("tour sync crashed", extra=trace)
            return error
        logger.info("tour sync done", extra={**trace, "result": outcome.result, "posts": outcome.posts})
        return outcome

    results: dict[str, BaseException | SyncOutcome] = {}
    workers = max(1, min(get_settings().resman_sync_workers, len(groups)))
    tour_ids = list(groups)
    if len(tour_ids) > 1:
        # Each task runs in a copy of this context: the container's settings (see tour_booking.settings) go along.
        futures = [_executor(workers).submit(contextvars.copy_context().run, run, t) for t in tour_ids]
        outcomes = [future.result() for future in futures]
    else:
        outcomes = [run(t) for t in tour_ids]
    for tour_id, outcome in zip(tour_ids, outcomes, strict=True):
        for message_id, _ in groups[tour_id]:
            results[message_id] = outcome
    return results
