"""Booking, rescheduling and cancelling tours; listing them. One transaction per request, the ResMan sync
queued after commit. The database's capacity trigger (sql/009) is what makes overbooking impossible; the
checks here only turn the common refusals into precise errors before a write is tried.

A booking with the `hold_id` of a live hold for its slot (sql/060) takes that hold's seat: under the property's
occupancy lock it marks the hold consumed by the new tour, and the capacity trigger lets exactly that tour through
within the hold's period, so it is never refused for capacity. A live hold of another slot is a HoldMismatchError;
an unknown or expired one is ignored and the booking competes for the slot like any other.

Idempotency (a booking with an idempotency key): the key row is inserted in the booking's own transaction, so a
racing replay waits for the first request and then gets its answer. The caller decides that answer (`answer`), the
service keeps it with the key. Only a successful booking is kept: a refused attempt rolls back with its key, so the
same key may be retried once the cause is gone (e.g. another slot freed) and nothing was booked under it.

The services speak no HTTP: they take the validated requests (booking_requests), return tours as their rows and
raise domain errors whose `Problem` names the field they concern; tour_booking.api answers them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict

from tour_booking import db
from tour_booking.booking.booking_errors import (
    BookingValidationError,
    ConversationNotFoundError,
    HoldMismatchError,
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    SlotUnavailableError,
    TourNotFoundError,
)
from tour_booking.booking.booking_requests import CreateTourRequest, UpdateTourRequest
from tour_booking.db import (
    holds_repository,
    idempotency_repository,
    occupancy_repository,
    outbox_repository,
    schedules_repository,
    tours_repository,
)
from tour_booking.db.holds_repository import Hold
from tour_booking.domain.availability import Slot
from tour_booking.domain.enums import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    OUTCOME_STATUSES,
    TourStatus,
    TourType,
    has_started,
)
from tour_booking.domain.errors import Problem, PropertyNotFoundError
from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import find_slot, on_grid
from tour_booking.domain.time_bounds import Instant
from tour_booking.domain.tour import Preferences
from tour_booking.settings import get_settings
from tour_booking.sync.sync_queue import SyncRequest, send_sync_requests

Connection = db.Connection


@dataclass(frozen=True)
class KeptAnswer:
    """The answer given to a booking made under an idempotency key, kept with the key: a retry with the same key
    and request gets it as it was first given. The caller decides it; the service only keeps it."""

    status: int
    body: Any


@dataclass(frozen=True)
class Booking:
    """What create_tour did: booked now (`answer` is the caller's answer to the new tour), or found the booking an
    earlier request with the same idempotency key made (`replayed`; `answer` is that request's kept answer)."""

    answer: KeptAnswer
    replayed: bool = False


def open_slot(schedule: TourSchedule, tour_type: TourType, start: datetime, now: datetime) -> Slot:
    """The open slot at `start` (capacity aside), or the precise refusal."""
    if start <= now:
        raise BookingValidationError(
            "scheduled_datetime is in the past", Problem("scheduled_datetime", "datetime_past", "must be in the future")
        )
    if tour_type not in schedule.tour_types:
        raise SlotUnavailableError(
            f"this property offers no {tour_type} tours",
            Problem("tour_type", "tour_type_not_offered", "not offered by the property"),
        )
    slot = find_slot(schedule, start, {}, now)
    if slot is None:
        if not on_grid(schedule, start):
            raise BookingValidationError(
                "scheduled_datetime is not a slot start of the property's schedule",
                Problem("scheduled_datetime", "off_grid", "not a slot start; see the availability"),
            )
        raise SlotUnavailableError(
            "the slot cannot be booked (minimum notice, booking horizon or a blackout)",
            Problem("scheduled_datetime", "slot_closed", "slot not open for booking"),
        )
    return slot


def _check_bookable(
    conn: Connection,
    *,
    property_id: UUID,
    schedule: TourSchedule,
    tour_type: TourType,
    start: datetime,
    now: datetime,
    moving_tour: UUID | None = None,
) -> Slot:
    """The open slot at `start` with a seat free, or the precise refusal. The capacity trigger has the last word:
    this count is not locked, it only names the common refusals."""
    slot = open_slot(schedule, tour_type, start, now)
    peaks = occupancy_repository.slot_peaks(conn, property_id, [(slot.start, slot.end)], except_tour=moving_tour)
    if peaks.get(slot.start.astimezone(UTC), 0) >= schedule.capacity:
        raise SlotUnavailableError("the slot is full", Problem("scheduled_datetime", "slot_full", "slot is full"))
    return slot


def _held_seat(conn: Connection, request: CreateTourRequest, schedule: TourSchedule, now: datetime) -> Hold | None:
    """The live hold the booking names, locked, when it is for the booking's slot; None when the id names no live
    hold (the booking then competes like any other). The property's occupancy lock comes first, the order of every
    writer of occupancy."""
    if request.hold_id is None:
        return None
    occupancy_repository.lock(conn, request.property_id)
    hold = holds_repository.live_hold_for_update(conn, request.hold_id)
    if hold is None:
        return None
    if (hold.property_id, hold.scheduled_datetime, hold.tour_type) != (
        request.property_id,
        request.scheduled_datetime,
        str(request.tour_type),
    ):
        raise HoldMismatchError(
            "the hold keeps another slot (property, start or tour type)",
            Problem("hold_id", "hold_mismatch", "the hold is for another slot"),
        )
    # The seat is the hold's: the slot need not have room, and the minimum notice counts from when it was taken
    # (a start already past is refused as for any booking).
    if request.scheduled_datetime <= now:
        open_slot(schedule, request.tour_type, request.scheduled_datetime, now)
    open_slot(schedule, request.tour_type, request.scheduled_datetime, min(now, hold.created_at))
    return hold


def _request_hash(request: CreateTourRequest) -> str:
    """The body's meaning, hashed: the instant in UTC (the same instant written with another offset is the same
    body) and keys sorted (pydantic has already made their order and absent-versus-null irrelevant)."""
    meaning = request.model_dump(mode="json")
    meaning["scheduled_datetime"] = request.scheduled_datetime.astimezone(UTC).isoformat()
    return hashlib.sha256(json.dumps(meaning, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_tour(
    request: CreateTourRequest,
    idempotency_key: str | None,
    correlation_id: str | None,
    answer: Callable[[dict[str, Any]], KeptAnswer],
    now: datetime | None = None,
) -> Booking:
    """Books the tour; `answer` turns the new tour's row into the answer kept under `idempotency_key`."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    request_hash = _request_hash(request)
    with db.transaction() as conn:
        outbox_repository.set_origin(conn, "domiq")  # the tour events this booking emits
        if idempotency_key is not None:
            ttl = timedelta(hours=settings.idempotency_ttl_hours)
            stored = idempotency_repository.claim(conn, idempotency_key, request_hash, now, ttl)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise IdempotencyKeyReusedError(
                        "this Idempotency-Key was used with another request body",
                        Problem("idempotency_key", "idempotency_key_reused", "key reused"),
                    )
                if stored.status_code is None:
                    raise IdempotencyKeyReusedError("a request with this Idempotency-Key is still in progress")
                return Booking(KeptAnswer(stored.status_code, stored.response_body), replayed=True)
        schedule = schedules_repository.get_schedule(conn, request.property_id)
        if schedule is None:
            raise PropertyNotFoundError(f"property {request.property_id} has no tour schedule")
        hold = _held_seat(conn, request, schedule, now)
        tour_id: UUID | None = None
        if hold is not None:
            tour_id = uuid4()
            end = hold.scheduled_end
            holds_repository.consume(conn, hold.id, tour_id)
        else:
            end = _check_bookable(
                conn,
                property_id=request.property_id,
                schedule=schedule,
                tour_type=request.tour_type,
                start=request.scheduled_datetime,
                now=now,
            ).end
        try:
            row = tours_repository.insert_tour(
                conn,
                {
                    "id": tour_id,
                    "conversation_id": request.conversation_id,
                    "property_id": request.property_id,
                    "tour_type": str(request.tour_type),
                    "scheduled_datetime": request.scheduled_datetime,
                    "scheduled_end": end,
                    "prospect_info": request.prospect.model_dump(mode="json", exclude_none=True),
                    "staff_notes": request.staff_notes,
                    "preferences": _preferences(request.preferences),
                },
            )
        except tours_repository.SlotTakenError as error:
            raise SlotUnavailableError("the slot is full") from error
        except tours_repository.ConversationMissingError as error:
            raise ConversationNotFoundError(f"conversation {request.conversation_id} does not exist") from error
        booked = answer(row)
        if idempotency_key is not None:
            idempotency_repository.record_answer(conn, idempotency_key, booked.status, booked.body)
    send_sync_requests([SyncRequest(row["id"], row["version"], correlation_id)])
    return Booking(booked)


def _preferences(preferences: Preferences | None) -> dict[str, Any] | None:
    """The stored form: only the fields given (null when none), dates as YYYY-MM-DD."""
    if preferences is None:
        return None
    given = preferences.model_dump(mode="json", exclude_none=True)
    return given or None


def _preferences_change(request: UpdateTourRequest, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The guest card's CustomerPreferences follow the tour's: a change bumps the version like the others."""
    if "preferences" not in request.model_fields_set:
        return {}
    new = _preferences(request.preferences)
    return {} if new == stored else {"preferences": new}


def get_tour(tour_id: UUID) -> dict[str, Any]:
    """The tour's row, with its property's time zone (`timezone`)."""
    with db.transaction() as conn:
        row = tours_repository.get_tour(conn, tour_id)
    if row is None:
        raise TourNotFoundError(f"tour {tour_id} does not exist")
    return row


def _locked_tour(conn: Connection, tour_id: UUID) -> dict[str, Any]:
    """The tour's row, locked for update after its property's occupancy: the order of every writer of occupancy
    (the cache refresh records outcomes under the same lock), so a change of a tour and a refresh never deadlock."""
    property_id = tours_repository.property_of(conn, tour_id)
    row = None
    if property_id is not None:
        occupancy_repository.lock(conn, property_id)
        row = tours_repository.get_tour(conn, tour_id, for_update=True)
    if row is None:
        raise TourNotFoundError(f"tour {tour_id} does not exist")
    return row


def _check_transition(current: TourStatus, new_status: TourStatus, start: datetime, now: datetime) -> None:
    """Status moves only forward, and to an outcome (completed, no_show) only once the tour has started."""
    if new_status not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransitionError(
            f"a {current} tour cannot become {new_status}",
            Problem("status", "invalid_transition", f"{current} -> {new_status}"),
        )
    if new_status in OUTCOME_STATUSES and not has_started(start, now):
        raise InvalidTransitionError(
            f"a tour can become {new_status} only once it has started",
            Problem("status", "invalid_transition", "the tour has not started"),
        )


def update_tour(
    tour_id: UUID, request: UpdateTourRequest, correlation_id: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Applies a change and returns the tour's row. Staff notes and preferences count as changes ResMan must learn:
    notes travel in the appointment's comments, preferences in the guest card's CustomerPreferences, so a change of
    either bumps the version and queues a sync like the others."""
    now = now or datetime.now(UTC)
    fields = request.model_fields_set
    with db.transaction() as conn:
        outbox_repository.set_origin(conn, "domiq")
        row = _locked_tour(conn, tour_id)
        current = TourStatus(row["status"])
        new_status = request.status if request.status is not None else current
        if new_status != current:
            _check_transition(current, new_status, row["scheduled_datetime"], now)
        new_start = request.scheduled_datetime if request.scheduled_datetime is not None else row["scheduled_datetime"]
        new_type = request.tour_type if request.tour_type is not None else TourType(row["tour_type"])
        moving = new_start != row["scheduled_datetime"]
        retyping = new_type != row["tour_type"]
        changes: dict[str, Any] = {}
        if moving or retyping:
            if current not in ACTIVE_STATUSES or new_status not in ACTIVE_STATUSES:
                raise InvalidTransitionError(
                    "only a scheduled or confirmed tour can be rescheduled",
                    Problem(None, "invalid_transition", f"tour is {current}"),
                )
            schedule = schedules_repository.get_schedule(conn, row["property_id"])
            if schedule is None:
                raise PropertyNotFoundError(f"property {row['property_id']} has no tour schedule")
            if moving:
                slot = _check_bookable(
                    conn,
                    property_id=row["property_id"],
                    schedule=schedule,
                    tour_type=new_type,
                    start=new_start,
                    now=now,
                    moving_tour=tour_id,
                )
                changes["scheduled_datetime"] = new_start
                changes["scheduled_end"] = slot.end
            elif new_type not in schedule.tour_types:
                raise SlotUnavailableError(f"this property offers no {new_type} tours")
            if retyping:
                changes["tour_type"] = str(new_type)
        if new_status != current:
            changes["status"] = str(new_status)
        if "staff_notes" in fields and request.staff_notes != row["staff_notes"]:
            changes["staff_notes"] = request.staff_notes
        changes.update(_preferences_change(request, row["preferences"]))
        if not changes:
            return row
        try:
            row = tours_repository.update_tour(conn, tour_id, changes, bump_version=True)
        except tours_repository.SlotTakenError as error:
            raise SlotUnavailableError("the slot is full") from error
    send_sync_requests([SyncRequest(row["id"], row["version"], correlation_id)])
    return row


class _Cursor(BaseModel):
    """Where a page of tours ended: the paging key (created_at, id) of its last tour."""

    model_config = ConfigDict(extra="forbid", strict=True)

    created_at: Instant
    id: UUID


@dataclass(frozen=True)
class ToursPage:
    """Tours' rows in booking order; `next_cursor` continues after the last, None on the last page."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(created_at: datetime, tour_id: UUID) -> str:
    raw = json.dumps({"created_at": created_at.astimezone(UTC).isoformat(), "id": str(tour_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (created_at, id) of a cursor; any other text, or JSON of another shape, is a BookingValidationError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = _Cursor.model_validate_json(raw)
    except (ValueError, binascii.Error):  # pydantic's ValidationError is a ValueError
        raise BookingValidationError(
            "cursor is not valid", Problem("cursor", "cursor_invalid", "invalid cursor")
        ) from None
    return after.created_at, after.id


def list_tours(
    *,
    conversation_id: UUID | None,
    property_id: UUID | None,
    status: TourStatus | None,
    start_from: datetime | None,
    start_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> ToursPage:
    after = decode_cursor(cursor) if cursor else None
    with db.transaction() as conn:
        rows = tours_repository.list_tours(
            conn,
            conversation_id=conversation_id,
            property_id=property_id,
            status=str(status) if status is not None else None,
            start_from=start_from,
            start_to=start_to,
            after=after,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return ToursPage(rows, next_cursor)


def success_rates(property_id: UUID | None) -> list[dict[str, Any]]:
    """Per property (one, or all): property_id, completion_rate and sync_success_rate, percents or None."""
    with db.transaction() as conn:
        return tours_repository.success_rates(conn, property_id)
