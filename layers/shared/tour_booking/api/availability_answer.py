"""The availability answer (domain.availability.Availability's shape) as JSON text: availability is the hot
read, and writing its text directly costs a fraction of validating and dumping the model (bench/booking_api.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tour_booking.availability.availability_service import OfferedDay, OfferedDays


def availability_json(offered: OfferedDays) -> str:
    days = ",".join(_day_json(day) for day in offered.days)
    return f'{{"property_id":"{offered.property_id}","timezone":{json.dumps(offered.timezone)},"days":[{days}]}}'


def _day_json(day: OfferedDay) -> str:
    slots = json.dumps(day.slots, separators=(",", ":"))
    stale = "true" if day.stale else "false"
    return (
        f'{{"date":"{day.day.isoformat()}","slots":{slots},'
        f'"last_updated":"{day.last_updated.isoformat()}","stale":{stale}}}'
    )
