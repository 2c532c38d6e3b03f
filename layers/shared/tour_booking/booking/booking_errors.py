"""Domain errors of booking, rescheduling and cancelling tours (mapped to the contract in tour_booking.api)."""

from __future__ import annotations

from tour_booking.domain.errors import DomainError


class BookingValidationError(DomainError):
    """Well-formed input the schedule refuses outright: a start in the past or off the slot grid."""

    code = "validation_error"
    status = 422


class SlotUnavailableError(DomainError):
    code = "slot_unavailable"
    status = 409


class ConversationNotFoundError(DomainError):
    code = "conversation_not_found"
    status = 404


class TourNotFoundError(DomainError):
    code = "tour_not_found"
    status = 404


class InvalidTransitionError(DomainError):
    code = "invalid_transition"
    status = 409


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency_key_reused"
    status = 409


class HoldNotFoundError(DomainError):
    """No live hold with this id (unknown, expired, released or consumed by a booking)."""

    code = "hold_not_found"
    status = 404


class HoldMismatchError(DomainError):
    """A booking names a live hold of another slot (property, start or tour type)."""

    code = "hold_mismatch"
    status = 409


class TooManyHoldsError(DomainError):
    code = "too_many_holds"
    status = 409
