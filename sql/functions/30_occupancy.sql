-- What occupies a property's time, the one rule (SPEC "Capacity"): an active tour, a staff appointment from ResMan
-- and a live hold each occupy [start, end + buffer), where end is the slot length it was booked with and buffer the
-- property's buffer_minutes. At no instant may a property hold more occupants than its capacity. `occupancy` is the
-- rule; the capacity triggers, the cached `remaining`, availability reads and schedule conflicts all count through
-- it (by occupancy_peaks and over_capacity_tours).
--
-- Concurrency: every writer of occupants (tours, staff appointments, holds) and every writer of cached days or of
-- the schedule first takes lock_occupancy(property), a transaction-scoped advisory lock (safe behind RDS Proxy and
-- PgBouncer in transaction mode), and counts afterwards in a new statement, whose READ COMMITTED snapshot then sees
-- every earlier holder's commit.

CREATE OR REPLACE FUNCTION lock_occupancy(p_property_id UUID) RETURNS VOID
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('tour_booking.occupancy:' || p_property_id::TEXT, 0));
$$;

COMMENT ON FUNCTION lock_occupancy(UUID) IS
    'Transaction-scoped lock of a property''s occupancy: taken before counting by every writer of occupants, cached days or the schedule';

-- The one definition of a live hold; inlined by the planner, so `hold_is_live(h)` can use tour_hold's indexes.
CREATE OR REPLACE FUNCTION hold_is_live(h tour_hold) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT h.expires_at > now() AND h.booked_tour_id IS NULL
$$;

COMMENT ON FUNCTION hold_is_live(tour_hold) IS
    'A hold occupies its seat until expires_at (the counting transaction''s clock), unless a booking consumed it';

-- Each occupant of a property's time during p_during, with the period it occupies, buffer included. Occupants are
-- found by plain GiST indexes on the period without the buffer (the buffer lives on the schedule, so the searched
-- period is widened by it instead; no btree_gist, which the embedded PostgreSQL of the tests does not ship).
CREATE OR REPLACE FUNCTION occupancy(p_property_id UUID, p_during TSTZRANGE)
RETURNS TABLE (source TEXT, occupant_id TEXT, occupied TSTZRANGE, booked_at TIMESTAMPTZ)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT make_interval(mins => buffer_minutes) AS buffer FROM tour_schedule WHERE property_id = p_property_id)
    SELECT 'tour', t.id::TEXT, tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer), t.created_at
    FROM rules r JOIN tour_booking_sync t ON t.property_id = p_property_id
    WHERE tour_is_active(t.status)
      AND tstzrange(t.scheduled_datetime, t.scheduled_end) && tstzrange(lower(p_during) - r.buffer, upper(p_during))
    UNION ALL
    SELECT 'staff_appointment', a.resman_event_id, tstzrange(a.scheduled_datetime, a.scheduled_end + r.buffer),
           a.created_at
    FROM rules r JOIN resman_staff_appointment a ON a.property_id = p_property_id
    WHERE tstzrange(a.scheduled_datetime, a.scheduled_end) && tstzrange(lower(p_during) - r.buffer, upper(p_during))
    UNION ALL
    SELECT 'hold', h.id::TEXT, tstzrange(h.scheduled_datetime, h.scheduled_end + r.buffer), h.created_at
    FROM rules r JOIN tour_hold h ON h.property_id = p_property_id
    WHERE hold_is_live(h)
      AND tstzrange(h.scheduled_datetime, h.scheduled_end) && tstzrange(lower(p_during) - r.buffer, upper(p_during))
$$;

COMMENT ON FUNCTION occupancy(UUID, TSTZRANGE) IS
    'Active tours, staff appointments and live holds of a property occupying part of p_during, with [start, end + buffer)';

-- The most ranges of p_ranges that cover one instant of p_window: the busiest instant is the window's start
-- or the start of one of the ranges inside it.
CREATE OR REPLACE FUNCTION peak_overlap(p_ranges TSTZRANGE[], p_window TSTZRANGE) RETURNS INTEGER
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(max((SELECT count(*) FROM unnest(p_ranges) AS r(x) WHERE r.x @> pt.at)), 0)::INTEGER
    FROM (SELECT lower(p_window) AS at
          UNION SELECT lower(x) FROM unnest(p_ranges) AS r(x) WHERE lower(x) > lower(p_window)
                                                            AND lower(x) < upper(p_window)) AS pt
$$;

-- For slots (starts[i], ends[i]): the most occupants at one instant of what each slot would occupy, its end plus
-- the buffer. A slot's `remaining` is capacity minus this peak, so booking it never puts one instant over capacity.
-- Live holds are counted or not: the cached `remaining` must not count what expires unwritten.
-- `o` is MATERIALIZED: referenced once, the planner would inline it into the per-slot subquery and run
-- `occupancy` again for every slot (the refresh's 14 days of 30-minute slots: ~100 ms per property, ~7 ms read
-- once; bench/refresh_queue.py).
CREATE OR REPLACE FUNCTION occupancy_peaks_counting(
    p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[], p_except_tour UUID, p_with_holds BOOLEAN)
RETURNS TABLE (slot_start TIMESTAMPTZ, peak INTEGER)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT make_interval(mins => buffer_minutes) AS buffer FROM tour_schedule WHERE property_id = p_property_id),
    slot AS (
        SELECT u.s, tstzrange(u.s, u.e + r.buffer) AS occupies
        FROM rules r CROSS JOIN unnest(p_starts, p_ends) AS u(s, e)),
    span AS (SELECT tstzrange(min(lower(occupies)), max(upper(occupies))) AS during FROM slot HAVING count(*) > 0),
    o AS MATERIALIZED (
        SELECT o.occupied
        FROM span CROSS JOIN LATERAL occupancy(p_property_id, span.during) AS o
        WHERE NOT (o.source = 'tour' AND o.occupant_id IS NOT DISTINCT FROM p_except_tour::TEXT)
          AND (p_with_holds OR o.source <> 'hold'))
    SELECT slot.s, peak_overlap(
        ARRAY(SELECT o.occupied FROM o WHERE o.occupied && slot.occupies), slot.occupies)
    FROM slot
$$;

COMMENT ON FUNCTION occupancy_peaks_counting(UUID, TIMESTAMPTZ[], TIMESTAMPTZ[], UUID, BOOLEAN) IS
    'Per slot start: most occupants at one instant of [start, end + buffer), live holds counted or not';

CREATE OR REPLACE FUNCTION occupancy_peaks(
    p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[], p_except_tour UUID DEFAULT NULL)
RETURNS TABLE (slot_start TIMESTAMPTZ, peak INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT * FROM occupancy_peaks_counting(p_property_id, p_starts, p_ends, p_except_tour, TRUE)
$$;

COMMENT ON FUNCTION occupancy_peaks(UUID, TIMESTAMPTZ[], TIMESTAMPTZ[], UUID) IS
    'Per slot start: most occupants (live holds included) at one instant of [start, end + buffer), optionally not counting one tour';

CREATE OR REPLACE FUNCTION booked_occupancy_peaks(p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[])
RETURNS TABLE (slot_start TIMESTAMPTZ, peak INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT * FROM occupancy_peaks_counting(p_property_id, p_starts, p_ends, NULL, FALSE)
$$;

COMMENT ON FUNCTION booked_occupancy_peaks(UUID, TIMESTAMPTZ[], TIMESTAMPTZ[]) IS
    'occupancy_peaks without holds: what calendar_availability_cache.remaining counts (a hold expires unwritten)';

-- Active future tours that, counting only the durable occupants booked before them, find an instant of their
-- period full: the ones a lowered capacity, a longer buffer or a moved grid leaves over capacity. Holds do not
-- count: a hold is gone within minutes.
CREATE OR REPLACE FUNCTION over_capacity_tours(p_property_id UUID, p_after TIMESTAMPTZ)
RETURNS TABLE (tour_id UUID)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT capacity, make_interval(mins => buffer_minutes) AS buffer
        FROM tour_schedule WHERE property_id = p_property_id),
    -- MATERIALIZED, as in occupancy_peaks_counting: inlined, `occupancy` would run again for every tour.
    o AS MATERIALIZED (SELECT * FROM occupancy(p_property_id, tstzrange(p_after, NULL)) WHERE source <> 'hold')
    SELECT t.id
    FROM rules r JOIN tour_booking_sync t ON t.property_id = p_property_id
    WHERE tour_is_active(t.status) AND t.scheduled_datetime > p_after
      AND peak_overlap(
          ARRAY(SELECT o.occupied FROM o
                WHERE o.occupied && tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer)
                  AND NOT (o.source = 'tour' AND o.occupant_id = t.id::TEXT)
                  AND (o.booked_at, o.occupant_id) < (t.created_at, t.id::TEXT)),
          tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer)) >= r.capacity
$$;

COMMENT ON FUNCTION over_capacity_tours(UUID, TIMESTAMPTZ) IS
    'Active tours after p_after that do not fit the capacity beside the occupants booked before them';
