"""The local stack's demo: one property with a tour schedule and ResMan ids, one conversation, and the
ResMan credentials the double accepts. Fixed ids, so the printed curl commands work on every run."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from tour_booking.domain.schedule import TourSchedule
from tour_booking.domain.slots import compute_slots, local_today

PROPERTY_ID = UUID("5f0c8a4e-0d6f-4a36-9a59-2d1c5e7b9a01")
CONVERSATION_ID = UUID("c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a40")
PROPERTY_NAME = "Riverside Commons (demo)"

RESMAN_ACCOUNT_ID = "400"
RESMAN_PROPERTY_ID = "8e2b3f4a-5c6d-4e7f-8091-a2b3c4d5e6f7"
RESMAN_INTEGRATION_PARTNER_ID = "domiq-local"
RESMAN_API_KEY = "local-resman-key"  # the double's, worth nothing elsewhere
RESMAN_PROSPECT_SOURCE_ID = "7001"

SCHEDULE = TourSchedule.model_validate(
    {
        "timezone": "America/Chicago",
        "slot_minutes": 30,
        "buffer_minutes": 0,
        "min_notice_minutes": 60,
        "capacity": 2,
        "tour_types": ["in_person", "virtual", "self_guided"],
        "weekly_hours": {
            "mon": [["09:00", "18:00"]],
            "tue": [["09:00", "18:00"]],
            "wed": [["09:00", "18:00"]],
            "thu": [["09:00", "18:00"]],
            "fri": [["09:00", "18:00"]],
            "sat": [["10:00", "17:00"]],
            "sun": [["12:00", "17:00"]],
        },
        "blackouts": [],
        "horizon_days": 14,
        "resman_account_id": RESMAN_ACCOUNT_ID,
        "resman_property_id": RESMAN_PROPERTY_ID,
    }
)


def seed_database(conn: Any) -> None:
    """The demo property, its schedule and the demo conversation (idempotent)."""
    from tour_booking.db import availability_cache_repository, schedules_repository  # noqa: PLC0415 - the booking API's data access, loaded late

    with conn.transaction():
        schedules_repository.put_schedule(conn, PROPERTY_ID, SCHEDULE)
        availability_cache_repository.delete_days(conn, PROPERTY_ID)
        conn.execute(
            b"INSERT INTO conversation (id) SELECT %(id)s "
            b"WHERE NOT EXISTS (SELECT 1 FROM conversation WHERE id = %(id)s)",
            {"id": CONVERSATION_ID},
        )


def first_free_start(now: datetime | None = None) -> datetime | None:
    """The demo property's first bookable start from now, in its local offset (for the printed example)."""
    moment = now or datetime.now(UTC)
    today: date = local_today(SCHEDULE, moment)
    days = [today + timedelta(days=offset) for offset in range(SCHEDULE.horizon_days)]
    for slots in compute_slots(SCHEDULE, days, {}, moment).values():
        for slot in slots:
            return slot.start
    return None


def main() -> int:
    """`python -m tools.demo_data`: migrates DATABASE_URL and adds the demo (e.g. for `sam local invoke`)."""

    import psycopg  # noqa: PLC0415

    from tour_booking.db.migrations import apply_migrations  # noqa: PLC0415

    url = os.environ.get("DATABASE_URL")
    if not url:
        print("set DATABASE_URL (make dev seeds its own database)")
        return 2
    apply_migrations(url, Path(__file__).resolve().parent.parent / "sql")
    with psycopg.connect(url, autocommit=True) as conn:
        seed_database(conn)
    print(f"demo property {PROPERTY_ID} and conversation {CONVERSATION_ID} ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
