-- occupancy_peaks_counting of sql/060 with its occupants read once per call. Referenced once, `o` was inlined by
-- the planner into the per-slot subquery, so `occupancy` ran again for every slot: the cache refresh's 14 days of
-- 30-minute slots cost about 100 ms per property (bench/refresh_queue.py), against about 7 ms read once. The same
-- occupants and the same peaks: only when they are read changes.
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
