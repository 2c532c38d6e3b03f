"""Domain errors. Handlers map them to the HTTP contract's error shape in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error the caller can act on; `code` is the contract's error code."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class DatabaseUnavailableError(DomainError):
    code = "service_unavailable"
    status = 503


class PropertyNotFoundError(DomainError):
    """No such property (or no tour schedule for it): raised by the schedules repository, shared."""

    code = "property_not_found"
    status = 404


class UnknownTimeZoneError(DomainError):
    """A schedule names a time zone the database does not know (Python's zone list is checked by the model)."""

    code = "validation_error"
    status = 422
