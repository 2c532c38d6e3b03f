"""How a run's report (a dataclass: the refresh's, the schedule's, the sweeper's) becomes the dict its handler
returns and logs: every field in order, UUIDs as text, nested reports as dicts, and times rounded to the digits
their field declares (`duration(digits)`)."""

from __future__ import annotations

from dataclasses import field, fields, is_dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def duration(digits: int) -> Any:
    """A report's duration field, 0 until measured, rounded to `digits` in its dict."""
    return field(default=0.0, metadata={"digits": digits})


def report_dict(report: DataclassInstance) -> dict[str, Any]:
    return {f.name: _plain(getattr(report, f.name), f.metadata.get("digits")) for f in fields(report)}


def _plain(value: Any, digits: int | None) -> Any:
    if digits is not None:
        return round(value, digits)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list):
        return [report_dict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
    return value
