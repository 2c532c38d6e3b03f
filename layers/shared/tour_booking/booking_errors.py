"""Domain errors of booking, rescheduling and cancelling tours (mapped to the contract in tour_booking.api)."""

from __future__ import annotations

from tour_booking.errors import DomainError


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
