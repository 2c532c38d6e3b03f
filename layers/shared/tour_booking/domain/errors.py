"""Domain errors: what went wrong, named by a code, and which input it concerns.

They say nothing of HTTP: tour_booking.api.errors gives each code its status and turns a `Problem`'s field into
the request location the client sent it in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """The input an error concerns: `field` names it (None: the request as a whole), `kind` is a stable name for
    what is wrong with it, `msg` a short explanation. It never carries the input's value."""

    field: str | None
    kind: str
    msg: str


class DomainError(Exception):
    """An error the caller can act on; `code` is the contract's error code."""

    code = "internal_error"

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problem = problem


class DatabaseUnavailableError(DomainError):
    code = "service_unavailable"


class PropertyNotFoundError(DomainError):
    """No such property (or no tour schedule for it): raised by the schedules repository, shared."""

    code = "property_not_found"


class UnknownTimeZoneError(DomainError):
    """A schedule names a time zone the database does not know (Python's zone list is checked by the model)."""

    code = "validation_error"
