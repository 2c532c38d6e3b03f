from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class TourType(StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    SELF_GUIDED = "self_guided"


class TourStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class SyncStatus(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"


ACTIVE_STATUSES = frozenset({TourStatus.SCHEDULED, TourStatus.CONFIRMED})

# Status moves only forward: scheduled -> confirmed -> completed | no_show; active -> cancelled.
ALLOWED_TRANSITIONS: dict[TourStatus, frozenset[TourStatus]] = {
    TourStatus.SCHEDULED: frozenset({TourStatus.CONFIRMED, TourStatus.CANCELLED}),
    TourStatus.CONFIRMED: frozenset({TourStatus.COMPLETED, TourStatus.NO_SHOW, TourStatus.CANCELLED}),
    TourStatus.COMPLETED: frozenset(),
    TourStatus.CANCELLED: frozenset(),
    TourStatus.NO_SHOW: frozenset(),
}

# What happened at the tour: a tour can have an outcome only once it has started.
OUTCOME_STATUSES = frozenset({TourStatus.COMPLETED, TourStatus.NO_SHOW})


def has_started(scheduled_datetime: datetime, now: datetime) -> bool:
    """Whether the tour's start has come: DomIQ may then set `completed` or `no_show` (before, 409)."""
    return now >= scheduled_datetime
