"""The ResMan sync: brings ResMan to each queued tour's current state, and the sweeper.

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
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID, uuid4

from aws_lambda_powertools import Logger

from tour_booking import db
from tour_booking.db import sync_claims_repository, tombstones_repository, tours_repository
from tour_booking.domain import guest_card_rules
from tour_booking.domain.enums import TourStatus
from tour_booking.domain.errors import DatabaseUnavailableError
from tour_booking.domain.guest_card import (
    CANCEL_EVENT,
    SHOW_EVENT,
    CardEvent,
    CardPost,
    EventPost,
    GuestCard,
    is_lost,
    tour_marker,
)
from tour_booking.run_reports import report_dict
from tour_booking.settings import get_settings
from tour_booking.sync.resman_port import ResManCallError, ResManPort, ResManRefusedError, ResManUnavailableError
from tour_booking.sync.sync_queue import SyncRequest, send_sync_requests

logger = Logger(child=True)


class SyncTransientError(Exception):
    """The message must be retried (SQS redelivers it)."""


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


class TourSync:
    """One sync of one tour's loaded row against ResMan; counts its posts and notes the card-matching rule."""

    def __init__(
        self,
        client: ResManPort,
        row: Mapping[str, Any],
        event_type: str,
        source_id: str | None,
        reactivate_type: str = "ReActivate",
    ) -> None:
        self.client = client
        self.row = row
        self.account = str(row["resman_account_id"])
        self.property = str(row["resman_property_id"])
        self.tag = tour_marker(row["id"])
        self.appointment_type = event_type
        self.reactivate_type = reactivate_type
        self.source_id = source_id
        self.posts = 0
        self.match_rule: guest_card_rules.MatchRule | None = None
        info: Mapping[str, Any] = row["prospect_info"] or {}
        self.email: str | None = info.get("email")
        self.phone: str | None = info.get("phone")
        self.first_name = str(info.get("first_name") or "")
        self.last_name = str(info.get("last_name") or "")
        self.booking = guest_card_rules.Booking(self.first_name, self.last_name, self.email, self.phone)
        self.preferences = guest_card_rules.card_preferences(row.get("preferences"))

    def identity_keys(self) -> list[str]:
        """Claim keys of the prospect's identity in this ResMan property: the email, and the phone with the last name
        (the phone rule of guest_card_rules). Two tours of one new prospect synced at once would otherwise both find no
        card and both create one."""
        scope = f"resman_prospect:{self.account}:{self.property}"
        keys = []
        if self.email:
            keys.append(f"{scope}:email:{guest_card_rules.email_key(self.email)}")
        phone = guest_card_rules.phone_key(self.phone)
        if phone:
            keys.append(f"{scope}:phone:{phone}:{guest_card_rules.name_key(self.last_name)}")
        return [sync_claims_repository.identity_key(key) for key in keys]

    # ---- finding --------------------------------------------------------------------------------------------
    def match(self) -> tuple[GuestCard | None, guest_card_rules.MatchRule]:
        """The tour's guest card by the card rules (guest_card_rules), and the rule that found it."""
        stored = self.row["resman_prospect_id"]
        if stored:
            found = self.client.get_card(self.account, self.property, str(stored))
            if found is not None:
                return found, "stored_id"
        if self.email:
            cards = guest_card_rules.with_email(
                self.client.cards_with_email(self.account, self.property, self.email), self.booking
            )
            if cards:
                return guest_card_rules.choose(cards, self.tag), "email"
        if guest_card_rules.phone_key(self.phone) and self.phone:
            cards = guest_card_rules.with_phone_and_last_name(
                self.client.cards_with_phone(self.account, self.property, self.phone), self.booking
            )
            if cards:
                return guest_card_rules.choose(cards, self.tag), "phone_last_name"
        return None, "new"

    def locate(self) -> GuestCard | None:
        card, rule = self.match()
        if self.match_rule is None:  # the first look decides; a search again after a failure is no new match
            self.match_rule = rule
        return card

    def ours(self, prospect: GuestCard, event_type: str) -> CardEvent | None:
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
    def customer(
        self, prospect: GuestCard | None, *, reactivate: bool = False, with_preferences: bool = False
    ) -> CardPost:
        """The card as we post it: an existing card's own names, email and phone (only empty ones filled), its
        own type (a `lost` card stays lost unless this post reactivates it for a new tour)."""
        details = guest_card_rules.card_details(prospect, self.booking)
        kept_type = prospect.customer_type if prospect is not None and prospect.customer_type else "prospect"
        return CardPost(
            first_name=details.first_name,
            last_name=details.last_name,
            email=details.email,
            phone=details.phone,
            customer_type="prospect" if reactivate else kept_type,
            prospect_id=prospect.prospect_id if prospect else None,
            person_id=prospect.person_id if prospect else None,
            preferences=self.preferences if with_preferences else None,
        )

    def appointment_comments(self, prospect: GuestCard | None) -> str:
        parts = [self.tag, f"type: {self.row['tour_type']}"]
        if self.row["staff_notes"]:
            parts.append(f"notes: {self.row['staff_notes']}")
        differing = guest_card_rules.differences(prospect, self.booking)
        if differing:
            parts.append("the chat gave other details than this card: " + ", ".join(differing))
        return "; ".join(parts)

    def post_new(
        self, prospect: GuestCard | None, events: Sequence[EventPost], *, reactivate: bool = False
    ) -> GuestCard:
        """Posts events that ResMan will append (and a card when `prospect` is None); the last one is the event
        to find afterwards. If the post fails where ResMan may have acted on it, the card is searched again: the
        marker tells whether it landed."""
        self.posts += 1
        wanted = events[-1].event_type
        customer = self.customer(prospect, reactivate=reactivate, with_preferences=wanted == self.appointment_type)
        try:
            return self.client.post(self.account, self.property, customer, events)
        except ResManUnavailableError:
            again = (
                self.locate()
                if prospect is None
                else self.client.get_card(self.account, self.property, prospect.prospect_id)
            )
            if again is not None and self.ours(again, wanted) is not None:
                logger.info("ResMan had taken the post before failing", extra={"tour_id": str(self.row["id"])})
                return again
            raise

    def preferences_stale(self, prospect: GuestCard) -> bool:
        """Whether the card lacks a preference the tour holds (or holds another value for it)."""
        return self.preferences is not None and not guest_card_rules.preferences_held(
            prospect.preferences, self.preferences
        )

    def ensure_appointment(self) -> tuple[GuestCard, CardEvent]:
        when = self.row["scheduled_datetime"].astimezone(UTC)
        prospect = self.locate()
        comments = self.appointment_comments(prospect)
        existing = self.ours(prospect, self.appointment_type) if prospect else None
        if existing is None:
            events = []
            # A returning prospect whose card staff marked lost: a new tour makes the card active again, the
            # ReActivate logged before the appointment (so the old lost mark never cancels this tour).
            reactivate = prospect is not None and is_lost(prospect)
            if reactivate:
                events.append(
                    EventPost(
                        self.reactivate_type,
                        datetime.now(UTC),
                        comments=f"{self.tag}; returning prospect booked a tour",
                        transaction_source=self.source_id,
                    )
                )
            events.append(
                EventPost(
                    self.appointment_type,
                    when,
                    comments=comments,
                    transaction_source=self.source_id,
                    first_contact=prospect is None,
                )
            )
            prospect = self.post_new(prospect, events, reactivate=reactivate)
            existing = self.ours(prospect, self.appointment_type)
            if existing is None:
                raise SyncTransientError("ResMan's answer lacks the appointment just posted")
            if reactivate and is_lost(prospect):
                # The refresh would read the lost card as this tour's cancel: say so instead of losing the tour
                # (worded as the client words ResMan's refusals, which is what it is).
                raise ResManRefusedError(
                    f"ResManPermanentError: ResMan kept the guest card lost after a {self.reactivate_type} event "
                    "(check RESMAN_REACTIVATE_EVENT_TYPE)"
                )
            return prospect, existing
        if prospect is None:  # unreachable: an existing appointment sits on a card; keeps mypy and bandit exact
            raise SyncTransientError("appointment without its card")
        moved = existing.event_date != when or (existing.comments or "") != comments
        if moved or self.preferences_stale(prospect):
            self.posts += 1
            events = (
                [
                    EventPost(
                        self.appointment_type,
                        when,
                        event_id=existing.event_id,
                        comments=comments,
                        transaction_source=self.source_id,
                    )
                ]
                if moved
                else []
            )
            prospect = self.client.post(
                self.account, self.property, self.customer(prospect, with_preferences=True), events
            )
            existing = self.ours(prospect, self.appointment_type) or existing
        return prospect, existing

    def ensure_event(self, prospect: GuestCard, event_type: str, text: str, after: datetime | None = None) -> GuestCard:
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
        return self.post_new(prospect, [EventPost(event_type, when, comments=f"{self.tag}; {text}")])

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
def _claimed(keys: list[str], holder: UUID) -> Iterator[None]:
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
            with _claimed(sync.identity_keys(), holder):
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
        with _claimed([sync_claims_repository.tour_key(tour_id)], holder):
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
