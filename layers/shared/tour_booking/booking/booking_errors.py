"""Domain errors of booking, rescheduling and cancelling tours, and of holds (tour_booking.api.errors answers them)."""

from __future__ import annotations

from tour_booking.domain.errors import DomainError


class BookingValidationError(DomainError):
    """Well-formed input the schedule refuses outright: a start in the past or off the slot grid."""

    code = "validation_error"


class SlotUnavailableError(DomainError):
    code = "slot_unavailable"


class ConversationNotFoundError(DomainError):
    code = "conversation_not_found"


class TourNotFoundError(DomainError):
    code = "tour_not_found"


class InvalidTransitionError(DomainError):
    code = "invalid_transition"


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency_key_reused"


class HoldNotFoundError(DomainError):
    """No live hold with this id (unknown, expired, released or consumed by a booking)."""

    code = "hold_not_found"


class HoldMismatchError(DomainError):
    """A booking names a live hold of another slot (property, start or tour type)."""

    code = "hold_mismatch"


class TooManyHoldsError(DomainError):
    code = "too_many_holds"
