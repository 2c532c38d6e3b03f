"""The API alone decides how a domain error is answered: its status, and where the field it names travels."""

from __future__ import annotations

from tour_booking.api.errors import STATUS_OF_CODE, problem_detail
from tour_booking.booking import booking_errors
from tour_booking.domain.errors import DomainError, Problem


def _subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_every_domain_error_code_has_a_status() -> None:
    # given every domain error (the booking's are loaded with their module)
    assert booking_errors.SlotUnavailableError in _subclasses(DomainError)
    # then the API gives each one's code a status
    assert {error.code for error in _subclasses(DomainError)} <= set(STATUS_OF_CODE)


def test_a_problem_names_a_field_and_the_api_names_its_place_in_the_request() -> None:
    assert problem_detail(Problem("scheduled_datetime", "slot_full", "slot is full")) == {
        "loc": ["body", "scheduled_datetime"],
        "type": "slot_full",
        "msg": "slot is full",
    }
    assert problem_detail(Problem("idempotency_key", "idempotency_key_reused", "key reused"))["loc"] == [
        "header",
        "Idempotency-Key",
    ]
    assert problem_detail(Problem("cursor", "cursor_invalid", "invalid cursor"))["loc"] == ["query", "cursor"]
    assert problem_detail(Problem(None, "invalid_transition", "tour is cancelled"))["loc"] == ["body"]
