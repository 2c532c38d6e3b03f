"""What must hold in the database after any booking load, as SQL: read by the load tests and the soak.

Staff appointments (resman_staff_appointment) are not counted: the loads that read these queries book only
through the API.
"""

from __future__ import annotations

# Starts holding more active tours than their property's capacity: overbooking.
OVERBOOKED = b"""
SELECT t.property_id, t.scheduled_datetime, count(*) AS active, s.capacity
FROM tour_booking_sync t JOIN tour_schedule s USING (property_id)
WHERE t.status IN ('scheduled', 'confirmed')
GROUP BY t.property_id, t.scheduled_datetime, s.capacity
HAVING count(*) > s.capacity
"""

# How many starts are exactly full: shows that a load reached the capacity check at all.
FULL_SLOTS = b"""
SELECT count(*) FROM (
    SELECT 1 FROM tour_booking_sync t JOIN tour_schedule s USING (property_id)
    WHERE t.status IN ('scheduled', 'confirmed')
    GROUP BY t.property_id, t.scheduled_datetime, s.capacity
    HAVING count(*) = s.capacity) AS full_slots
"""

# Cached slots, those with a place taken, and those whose `remaining` is not capacity minus active tours.
CACHED_REMAINING = b"""
WITH cached AS (
    SELECT c.property_id, (e.slot ->> 'start')::timestamptz AS start, (e.slot ->> 'remaining')::int AS remaining
    FROM calendar_availability_cache c CROSS JOIN jsonb_array_elements(c.available_slots) AS e(slot)),
active AS (
    SELECT property_id, scheduled_datetime, count(*) AS tours FROM tour_booking_sync
    WHERE status IN ('scheduled', 'confirmed') GROUP BY property_id, scheduled_datetime)
SELECT count(*) AS slots,
       count(*) FILTER (WHERE cached.remaining <> GREATEST(s.capacity - coalesce(active.tours, 0), 0)) AS wrong,
       count(*) FILTER (WHERE cached.remaining < s.capacity) AS taken
FROM cached
JOIN tour_schedule s USING (property_id)
LEFT JOIN active ON active.property_id = cached.property_id AND active.scheduled_datetime = cached.start
"""
