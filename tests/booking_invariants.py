"""What must hold in the database after any booking load, as SQL: read by the load tests and the soak.

Occupancy over time (README "Database", capacity counted over time): a tour occupies [start, end + buffer). The
over-capacity check below is written from the tables, independently of sql/050's `occupancy` functions, so it
also checks them. Staff appointments (resman_staff_appointment) are not counted: the loads that read these
queries book only through the API. A load that changes schedules may only raise capacity: a lowered capacity
legitimately leaves tours over it (a schedule change never cancels a tour; it reports them as conflicts).
"""

from __future__ import annotations

# Instants at which a property holds more active tours than its capacity: overbooking over time. The busiest
# instants are tour starts, so each distinct start is checked against every tour period that covers it.
OVERBOOKED = b"""
WITH occupied AS (
    SELECT t.property_id,
           tstzrange(t.scheduled_datetime, t.scheduled_end + make_interval(mins => s.buffer_minutes)) AS period
    FROM tour_booking_sync t JOIN tour_schedule s USING (property_id)
    WHERE t.status IN ('scheduled', 'confirmed')),
instants AS (SELECT DISTINCT property_id, lower(period) AS at FROM occupied)
SELECT i.property_id, i.at, count(*) AS active, s.capacity
FROM instants i
JOIN occupied o ON o.property_id = i.property_id AND o.period @> i.at
JOIN tour_schedule s ON s.property_id = i.property_id
GROUP BY i.property_id, i.at, s.capacity
HAVING count(*) > s.capacity
"""

# How many tour starts are exactly full: shows that a load reached the capacity check at all.
FULL_SLOTS = b"""
WITH occupied AS (
    SELECT t.property_id,
           tstzrange(t.scheduled_datetime, t.scheduled_end + make_interval(mins => s.buffer_minutes)) AS period
    FROM tour_booking_sync t JOIN tour_schedule s USING (property_id)
    WHERE t.status IN ('scheduled', 'confirmed')),
instants AS (SELECT DISTINCT property_id, lower(period) AS at FROM occupied)
SELECT count(*) FROM (
    SELECT 1 FROM instants i
    JOIN occupied o ON o.property_id = i.property_id AND o.period @> i.at
    JOIN tour_schedule s ON s.property_id = i.property_id
    GROUP BY i.property_id, i.at, s.capacity
    HAVING count(*) = s.capacity) AS full_slots
"""

# Cached slots, those with a place taken, and those that are wrong: a `remaining` other than the capacity minus
# the slot's peak occupancy (booked_occupancy_peaks: the rule availability uses, without the holds that the cache
# never stores), or a capacity other than the schedule's (a day cached from a replaced schedule).
CACHED_REMAINING = b"""
WITH cached AS (
    SELECT c.property_id, (e.slot ->> 'start')::timestamptz AS start, (e.slot ->> 'end')::timestamptz AS stop,
           (e.slot ->> 'remaining')::int AS remaining, (e.slot ->> 'capacity')::int AS capacity
    FROM calendar_availability_cache c CROSS JOIN jsonb_array_elements(c.available_slots) AS e(slot)),
peaks AS (
    SELECT p.property_id, k.slot_start, k.peak
    FROM (SELECT DISTINCT property_id FROM cached) p
    CROSS JOIN LATERAL booked_occupancy_peaks(
        p.property_id,
        ARRAY(SELECT start FROM cached WHERE cached.property_id = p.property_id),
        ARRAY(SELECT stop FROM cached WHERE cached.property_id = p.property_id)) AS k)
SELECT count(*) AS slots,
       count(*) FILTER (WHERE cached.remaining <> GREATEST(s.capacity - coalesce(peaks.peak, 0), 0)
                           OR cached.capacity <> s.capacity) AS wrong,
       count(*) FILTER (WHERE cached.remaining < s.capacity) AS taken
FROM cached
JOIN tour_schedule s USING (property_id)
LEFT JOIN peaks ON peaks.property_id = cached.property_id AND peaks.slot_start = cached.start
"""
