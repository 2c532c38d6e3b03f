-- Cached slots stay right between cache refreshes: whatever writes a tour or a staff appointment (the booking API,
-- the sync, the refresh recording outcomes, staff by hand), the cached `remaining` of every slot whose period the
-- change touches is recomputed in the same transaction. The cache counts no holds (an expiry changes nothing in the
-- table): an availability read recounts, with slots_with_live_holds, the slots a live hold touches.
--
-- A slot's JSON shape is {"start", "end", "tour_types", "capacity", "remaining"} (tour_booking.domain.availability
-- .slot_json); these functions read start, end and capacity and rewrite remaining only.

-- Recomputes `remaining` of every cached slot whose period overlaps [p_start, p_end + buffer): what an occupant
-- that took or left that period changes. Slots last under a day, so the local days from the one before p_start
-- to the one of the period's end hold them all.
CREATE OR REPLACE FUNCTION refresh_cached_remaining(p_property_id UUID, p_start TIMESTAMPTZ, p_end TIMESTAMPTZ)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
    buffer INTERVAL;
    changed TSTZRANGE;
BEGIN
    PERFORM lock_occupancy(p_property_id);
    SELECT timezone, make_interval(mins => buffer_minutes) INTO zone, buffer
    FROM tour_schedule WHERE property_id = p_property_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    changed := tstzrange(p_start, p_end + buffer);
    WITH cached AS (
        SELECT c.id, e.slot, e.ord, (e.slot ->> 'start')::TIMESTAMPTZ AS s, (e.slot ->> 'end')::TIMESTAMPTZ AS e
        FROM calendar_availability_cache c
        CROSS JOIN LATERAL jsonb_array_elements(c.available_slots) WITH ORDINALITY AS e(slot, ord)
        WHERE c.property_id = p_property_id
          AND c.date BETWEEN (p_start AT TIME ZONE zone)::DATE - 1 AND ((p_end + buffer) AT TIME ZONE zone)::DATE),
    touched AS (
        SELECT * FROM cached WHERE tstzrange(s, e + buffer) && changed),
    peaks AS (
        SELECT p.slot_start, p.peak
        FROM booked_occupancy_peaks(p_property_id, ARRAY(SELECT s FROM touched), ARRAY(SELECT e FROM touched)) AS p),
    rebuilt AS (
        SELECT cached.id, jsonb_agg(
            CASE WHEN peaks.slot_start IS NULL THEN cached.slot
                ELSE jsonb_set(cached.slot, '{remaining}',
                               to_jsonb(GREATEST((cached.slot ->> 'capacity')::INTEGER - peaks.peak, 0)))
            END ORDER BY cached.ord) AS slots
        FROM cached LEFT JOIN peaks ON peaks.slot_start = cached.s
        WHERE cached.id IN (SELECT id FROM touched)
        GROUP BY cached.id)
    UPDATE calendar_availability_cache c SET available_slots = rebuilt.slots
    FROM rebuilt WHERE c.id = rebuilt.id;
END
$$;

COMMENT ON FUNCTION refresh_cached_remaining(UUID, TIMESTAMPTZ, TIMESTAMPTZ) IS
    'Recomputes remaining (capacity - peak occupancy) of the cached slots overlapping a period that changed';

CREATE OR REPLACE FUNCTION refresh_cached_slots_of_tour() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_cached_remaining(OLD.property_id, OLD.scheduled_datetime, OLD.scheduled_end);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM refresh_cached_remaining(NEW.property_id, NEW.scheduled_datetime, NEW.scheduled_end);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION refresh_cached_slots_of_tour() IS
    'Trigger: keeps calendar_availability_cache.remaining true for the periods a tour or staff appointment leaves or takes';

-- A cached day's slots as an availability read answers them: the slots a live hold's period overlaps get
-- remaining = capacity - occupancy_peaks (holds included); the others are as cached. The overlapped slots are
-- gathered into arrays first, so that occupancy_peaks, called with plain parameters, is inlined into this function's
-- cached plan instead of being planned again on every call.
CREATE OR REPLACE FUNCTION slots_with_live_holds(p_property_id UUID, p_slots JSONB) RETURNS JSONB
LANGUAGE plpgsql STABLE STRICT
-- Planned once per connection, not per call (this function's own setting, restored when it returns).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    buffer INTERVAL;
    starts TIMESTAMPTZ[];
    ends TIMESTAMPTZ[];
    answer JSONB;
BEGIN
    SELECT make_interval(mins => buffer_minutes) INTO buffer FROM tour_schedule WHERE property_id = p_property_id;
    IF NOT FOUND THEN
        RETURN p_slots;
    END IF;
    SELECT array_agg(c.s ORDER BY c.s), array_agg(c.e ORDER BY c.s) INTO starts, ends
    FROM (SELECT (e.slot ->> 'start')::TIMESTAMPTZ AS s, (e.slot ->> 'end')::TIMESTAMPTZ AS e
          FROM jsonb_array_elements(p_slots) AS e(slot)) AS c
    WHERE EXISTS (
        SELECT 1 FROM tour_hold h
        WHERE h.property_id = p_property_id AND hold_is_live(h)
          AND tstzrange(h.scheduled_datetime, h.scheduled_end + buffer) && tstzrange(c.s, c.e + buffer));
    IF starts IS NULL THEN
        RETURN p_slots;
    END IF;
    SELECT jsonb_agg(
        CASE WHEN p.slot_start IS NULL THEN e.slot
            ELSE jsonb_set(e.slot, '{remaining}', to_jsonb(GREATEST((e.slot ->> 'capacity')::INTEGER - p.peak, 0)))
        END ORDER BY e.ord)
    INTO answer
    FROM jsonb_array_elements(p_slots) WITH ORDINALITY AS e(slot, ord)
    LEFT JOIN occupancy_peaks(p_property_id, starts, ends) AS p ON p.slot_start = (e.slot ->> 'start')::TIMESTAMPTZ;
    RETURN answer;
END
$$;

COMMENT ON FUNCTION slots_with_live_holds(UUID, JSONB) IS
    'A cached day''s slots with remaining recounted (live holds included) where a live hold overlaps them';
