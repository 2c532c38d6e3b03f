"""The ResMan sync: brings ResMan to each queued tour's current state, and the sweeper.

State-based, so duplicate, late and reordered messages are harmless: the message only names the tour; the
sync loads the tour's current row and, unless that version is already synced, makes ResMan match it:

- active (scheduled / confirmed), completed or no_show: the guest card is found (stored ProspectID, else
  SearchProspects by email, then phone) before one is created, so there is never a duplicate card. The tour's
  appointment is ONE `Appointment` event: created once, then updated in place by its EventID on a reschedule or
  a change of type or notes (ResMan documents appointment updates through PostLeadManagement4_0). A completed
  tour also gets a `Show` event.
- cancelled: a `Cancel` event after the appointment (ResMan has no cancel method). A tour cancelled before its
  appointment ever reached ResMan creates nothing: no guest card is made just to cancel it.

Exactly once under crashes and ambiguous failures: every event we post carries the tour's marker
(`DomIQ tour <id>`) in its Comments, and ResMan's ids are stored as soon as they are known. A post that may
have reached ResMan (a timeout, a 5xx) is never blindly re-sent: the card is searched again and the marker
tells whether the event is already there.

Failures: transient (ResMan down, slow, 5xx, 429, an unparsable answer, the database, another sync of the same
tour) fail the message, so SQS retries it and after maxReceiveCount dead-letters it (the sweeper re-sends the
tour later). Permanent ones (ResMan's Failed/Error inside a 200, bad credentials, a property without ResMan
ids) mark the tour `failed` with the reason (no personal data) and acknowledge the message.

Inside a batch, tours sync concurrently (RESMAN_SYNC_WORKERS threads, each with its own connection) and a
tour's several messages are served by one sync of its current state.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from aws_lambda_powertools import Logger

from tour_booking import db, tour_sync_repository
from tour_booking.errors import DatabaseUnavailableError
from tour_booking.models.enums import TourStatus
from tour_booking.resman.errors import ResManError, ResManPermanentError, ResManTransientError
from tour_booking.resman.mits import LeadCustomer, LeadEvent
from tour_booking.resman.models import CANCEL_EVENT, SHOW_EVENT, TOUR_MARKER, ResManEvent, ResManProspect
from tour_booking.settings import get_settings
from tour_booking.sync_queue import SyncRequest, send_sync_requests

logger = Logger(child=True)


class ResManPort(Protocol):
    """What the sync needs of the ResMan client (tour_booking.resman.client.ResManClient)."""

    def get_prospect(self, account_id: str, property_id: str, prospect_id: str) -> ResManProspect | None: ...

    def find_prospect(
        self, account_id: str, property_id: str, *, email: str | None = None, phone: str | None = None
    ) -> ResManProspect | None: ...

    def post_lead(
        self, account_id: str, property_id: str, customer: LeadCustomer, events: Sequence[LeadEvent] = ()
    ) -> ResManProspect: ...


class SyncTransientError(Exception):
    """The message must be retried (SQS redelivers it)."""


@dataclass(frozen=True)
class SyncOutcome:
    tour_id: UUID
    result: str  # synced | already_synced | already_failed | failed | missing | superseded
    posts: int = 0
    reason: str | None = None


def marker(tour_id: UUID) -> str:
    return TOUR_MARKER.format(tour_id=tour_id)


def _reason(error: BaseException) -> str:
    # The client's messages carry method names, HTTP statuses and ResMan's error text, never prospect details.
    return f"{type(error).__name__}: {error}"[:500]


class TourSync:
    """One sync of one tour's loaded row against ResMan; counts its posts."""

    def __init__(self, client: ResManPort, row: Mapping[str, Any], event_type: str, source_id: str | None) -> None:
        self.client = client
        self.row = row
        self.account = str(row["resman_account_id"])
        self.property = str(row["resman_property_id"])
        self.tag = marker(row["id"])
        self.appointment_type = event_type
        self.source_id = source_id
        self.posts = 0
        info: Mapping[str, Any] = row["prospect_info"] or {}
        self.email: str | None = info.get("email")
        self.phone: str | None = info.get("phone")
        self.first_name = str(info.get("first_name") or "")
        self.last_name = str(info.get("last_name") or "")

    def identity_keys(self) -> list[str]:
        """Lock keys of the prospect's identity in this ResMan property (see tour_sync_repository.lock_keys)."""
        scope = f"resman_prospect:{self.account}:{self.property}"
        keys = []
        if self.email:
            keys.append(f"{scope}:email:{self.email.strip().lower()}")
        phone = "".join(c for c in self.phone or "" if c.isdigit())[-10:]
        if phone:
            keys.append(f"{scope}:phone:{phone}")
        return keys

    # ---- finding --------------------------------------------------------------------------------------------
    def locate(self) -> ResManProspect | None:
        """The tour's guest card: by the stored ProspectID, else by email, then phone."""
        stored = self.row["resman_prospect_id"]
        if stored:
            found = self.client.get_prospect(self.account, self.property, str(stored))
            if found is not None:
                return found
        return self.client.find_prospect(self.account, self.property, email=self.email, phone=self.phone)

    def ours(self, prospect: ResManProspect, event_type: str) -> ResManEvent | None:
        """Our event of this type on the card: the stored appointment id, else the marker in its Comments."""
        stored = self.row["resman_appointment_id"]
        if event_type == self.appointment_type and stored:
            found = prospect.event(str(stored))
            if found is not None:
                return found
        wanted = event_type.lower()
        return next(
            (e for e in prospect.events if e.event_type.lower() == wanted and self.tag in (e.comments or "")), None
        )

    # ---- posting --------------------------------------------------------------------------------------------
    def customer(self, prospect: ResManProspect | None) -> LeadCustomer:
        return LeadCustomer(
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=self.phone,
            # Never turn a card staff made `lost` back into a prospect.
            customer_type=(prospect.customer_type if prospect and prospect.customer_type else "prospect"),
            prospect_id=prospect.prospect_id if prospect else None,
            person_id=prospect.person_id if prospect else None,
        )

    def appointment_comments(self) -> str:
        parts = [self.tag, f"type: {self.row['tour_type']}"]
        if self.row["staff_notes"]:
            parts.append(f"notes: {self.row['staff_notes']}")
        return "; ".join(parts)

    def post_new(self, prospect: ResManProspect | None, event: LeadEvent) -> ResManProspect:
        """Posts an event that ResMan will append (and a card when `prospect` is None). If the post fails where
        ResMan may have acted on it, the card is searched again: the marker tells whether it landed."""
        self.posts += 1
        try:
            return self.client.post_lead(self.account, self.property, self.customer(prospect), [event])
        except ResManTransientError:
            again = self.locate() if prospect is None else self.client.get_prospect(
                self.account, self.property, prospect.prospect_id
            )
            if again is not None and self.ours(again, event.event_type) is not None:
                logger.info("ResMan had taken the post before failing", extra={"tour_id": str(self.row["id"])})
                return again
            raise

    def ensure_appointment(self) -> tuple[ResManProspect, ResManEvent]:
        when = self.row["scheduled_datetime"].astimezone(UTC)
        comments = self.appointment_comments()
        prospect = self.locate()
        existing = self.ours(prospect, self.appointment_type) if prospect else None
        if existing is None:
            prospect = self.post_new(
                prospect,
                LeadEvent(self.appointment_type, when, comments=comments, transaction_source=self.source_id,
                          first_contact=prospect is None),
            )
            existing = self.ours(prospect, self.appointment_type)
            if existing is None:
                raise SyncTransientError("ResMan's answer lacks the appointment just posted")
            return prospect, existing
        if prospect is None:  # unreachable: an existing appointment sits on a card; keeps mypy and bandit exact
            raise SyncTransientError("appointment without its card")
        if existing.event_date != when or (existing.comments or "") != comments:
            self.posts += 1
            prospect = self.client.post_lead(
                self.account,
                self.property,
                self.customer(prospect),
                [LeadEvent(self.appointment_type, when, event_id=existing.event_id, comments=comments,
                           transaction_source=self.source_id)],
            )
            existing = self.ours(prospect, self.appointment_type) or existing
        return prospect, existing

    def ensure_event(
        self, prospect: ResManProspect, event_type: str, text: str, after: datetime | None = None
    ) -> ResManProspect:
        """Our `event_type` event on the card, posted once. With `after`, one that staff already logged at or
        after that time counts too (a Show staff recorded needs no second Show from us)."""
        if self.ours(prospect, event_type) is not None:
            return prospect
        if after is not None and any(
            e.event_type.lower() == event_type.lower() and e.event_date is not None and e.event_date >= after
            for e in prospect.events
        ):
            return prospect
        # Dated no earlier than `after`: a Show is read as the tour's outcome only when it follows the appointment.
        when = max(datetime.now(UTC), after) if after is not None else datetime.now(UTC)
        return self.post_new(prospect, LeadEvent(event_type, when, comments=f"{self.tag}; {text}"))

    def run(self) -> tuple[str | None, str | None]:
        """Brings ResMan to the row; returns the (prospect id, appointment id) to store."""
        status = TourStatus(self.row["status"])
        if status is TourStatus.CANCELLED:
            prospect = self.locate()
            appointment = self.ours(prospect, self.appointment_type) if prospect else None
            if prospect is None or appointment is None:
                # Cancelled before its appointment reached ResMan: nothing to undo, no card to create.
                return None, None
            self.ensure_event(prospect, CANCEL_EVENT, "tour cancelled")
            return prospect.prospect_id, appointment.event_id
        prospect, appointment = self.ensure_appointment()
        if status is TourStatus.COMPLETED:
            self.ensure_event(prospect, SHOW_EVENT, "tour completed", after=appointment.event_date)
        return prospect.prospect_id, appointment.event_id


def sync_tour(tour_id: UUID, message_version: int, client: ResManPort) -> SyncOutcome:
    """One tour, under its sync lock. Raises SyncTransientError when the message must be retried."""
    settings = get_settings()
    conn = db.connection()
    try:
        with tour_sync_repository.lock_tour(conn, tour_id):
            row = tour_sync_repository.load_tour_for_sync(conn, tour_id)
            if row is None:
                logger.warning("sync for an unknown tour acknowledged", extra={"tour_id": str(tour_id)})
                return SyncOutcome(tour_id, "missing")
            if row["synced_version"] >= min(int(row["version"]), message_version):
                # This version (or a later one) is already in ResMan: a duplicate or late message.
                return SyncOutcome(tour_id, "already_synced")
            if row["sync_status"] == "failed":
                # ResMan refused this version for good: a duplicate, late or redriven message must not ask again
                # (and must not turn the verdict into `success`). A change or an operator sets it pending first.
                return SyncOutcome(tour_id, "already_failed")
            version = int(row["version"])
            if not row["resman_account_id"] or not row["resman_property_id"]:
                reason = "the property has no ResMan account or property id"
                tour_sync_repository.mark_failed(conn, tour_id, version, reason)
                return SyncOutcome(tour_id, "failed", reason=reason)
            sync = TourSync(client, row, settings.resman_appointment_event_type, settings.resman_prospect_source_id)
            try:
                with tour_sync_repository.lock_keys(conn, sync.identity_keys()):
                    prospect_id, appointment_id = sync.run()
            except ResManPermanentError as error:
                reason = _reason(error)
                tour_sync_repository.mark_failed(conn, tour_id, version, reason)
                logger.warning("ResMan refused the tour", extra={"tour_id": str(tour_id), "reason": reason})
                return SyncOutcome(tour_id, "failed", sync.posts, reason)
            except (ResManError, SyncTransientError) as error:
                tour_sync_repository.record_attempt_failed(conn, tour_id, _reason(error))
                raise SyncTransientError(_reason(error)) from error
            success = tour_sync_repository.mark_synced(conn, tour_id, version, prospect_id, appointment_id)
            return SyncOutcome(tour_id, "synced" if success else "superseded", sync.posts)
    except (tour_sync_repository.TourBusyError, DatabaseUnavailableError) as error:
        raise SyncTransientError(_reason(error)) from error
    except Exception as error:
        import psycopg  # noqa: PLC0415

        if isinstance(error, psycopg.OperationalError):
            db.close()
            raise SyncTransientError(_reason(error)) from error
        raise


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


@dataclass(frozen=True)
class SweepReport:
    found: int
    sent: int
    unsent: int
    seconds: float


def sweep_pending(now: datetime | None = None, limit: int | None = None) -> SweepReport:
    """Re-sends tours `pending` for longer than SWEEPER_PENDING_AGE_SECONDS (a lost send, a dead-lettered
    message), so no booking is stranded."""
    started = time.perf_counter()
    settings = get_settings()
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=settings.sweeper_pending_age_seconds)
    with db.transaction() as conn:
        rows = tour_sync_repository.find_stale_pending(conn, cutoff, limit or settings.sweeper_batch_limit)
    requests = [SyncRequest(row["id"], int(row["version"]), "sweeper") for row in rows]
    unsent = send_sync_requests(requests)
    sent_ids = [r.tour_id for r in requests if r not in unsent]
    with db.transaction() as conn:
        tour_sync_repository.touch_swept(conn, sent_ids)
    report = SweepReport(len(rows), len(sent_ids), len(unsent), time.perf_counter() - started)
    logger.info("pending tours swept", extra={"found": report.found, "sent": report.sent, "unsent": report.unsent})
    return report
