-- Holds (SPEC.md "Holds"): while the chat collects a prospect's details, a hold keeps one seat of a slot. A live
-- hold occupies [start, end + buffer) exactly like a tour, so it joins the one occupancy rule of sql/050 as one more
-- branch of `occupancy`: the capacity trigger of tours, the new capacity trigger of holds and availability all count
-- it. It frees itself at expires_at with no job: liveness is judged by the clock of the statement that counts
-- (`hold_is_live`), and the cache refresh deletes expired rows.
--
-- calendar_availability_cache cannot carry holds (an expiry changes nothing in the table), so its `remaining` counts
-- tours and staff appointments only (booked_occupancy_peaks); an availability read recomputes, with
-- slots_with_live_holds, the slots of the days a live hold touches.

CREATE TABLE tour_hold (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id UUID NOT NULL REFERENCES property (id) ON DELETE CASCADE,
    -- A tag for the per-conversation limit, not a foreign key: a hold outlives nothing.
    conversation_id UUID,
    tour_type VARCHAR(50) NOT NULL CHECK (tour_type IN ('in_person', 'virtual', 'self_guided')),
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    scheduled_end TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- Set by the booking that consumes the hold, in the booking's transaction: from then on it occupies nothing.
    booked_tour_id UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_tour_hold_end_after_start CHECK (scheduled_end > scheduled_datetime),
    CONSTRAINT chk_tour_hold_expires_after_creation CHECK (expires_at > created_at)
);

COMMENT ON TABLE tour_hold IS
    'A seat kept for a conversation until expires_at: occupies [scheduled_datetime, scheduled_end + buffer) while live';

-- Live holds of a property (occupancy, availability reads) and of a conversation (the limit); expired rows for the
-- refresh's prune. A property or conversation holds a handful at once, so plain btrees suffice.
CREATE INDEX idx_tour_hold_property_expires ON tour_hold (property_id, expires_at);
CREATE INDEX idx_tour_hold_conversation_expires ON tour_hold (conversation_id, expires_at)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX idx_tour_hold_expires ON tour_hold (expires_at);

-- The one definition of a live hold; inlined by the planner, so `hold_is_live(h)` can use the indexes above.
CREATE FUNCTION hold_is_live(h tour_hold) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT h.expires_at > now() AND h.booked_tour_id IS NULL
$$;

COMMENT ON FUNCTION hold_is_live(tour_hold) IS
    'A hold occupies its seat until expires_at (the counting transaction''s clock), unless a booking consumed it';

-- ------------------------------------------------------------------ the one rule, with holds
CREATE OR REPLACE FUNCTION occupancy(p_property_id UUID, p_during TSTZRANGE)
RETURNS TABLE (source TEXT, occupant_id TEXT, occupied TSTZRANGE, booked_at TIMESTAMPTZ)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT make_interval(mins => buffer_minutes) AS buffer FROM tour_schedule WHERE property_id = p_property_id)
    SELECT 'tour', t.id::TEXT, tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer), t.created_at
    FROM rules r JOIN tour_booking_sync t ON t.property_id = p_property_id
    WHERE t.status IN ('scheduled', 'confirmed')
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

-- occupancy_peaks of sql/050, optionally without holds: the cached `remaining` must not count what expires unwritten.
CREATE FUNCTION occupancy_peaks_counting(
    p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[], p_except_tour UUID, p_with_holds BOOLEAN)
RETURNS TABLE (slot_start TIMESTAMPTZ, peak INTEGER)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT make_interval(mins => buffer_minutes) AS buffer FROM tour_schedule WHERE property_id = p_property_id),
    slot AS (
        SELECT u.s, tstzrange(u.s, u.e + r.buffer) AS occupies
        FROM rules r CROSS JOIN unnest(p_starts, p_ends) AS u(s, e)),
    span AS (SELECT tstzrange(min(lower(occupies)), max(upper(occupies))) AS during FROM slot HAVING count(*) > 0),
    o AS (
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

CREATE FUNCTION booked_occupancy_peaks(p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[])
RETURNS TABLE (slot_start TIMESTAMPTZ, peak INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT * FROM occupancy_peaks_counting(p_property_id, p_starts, p_ends, NULL, FALSE)
$$;

COMMENT ON FUNCTION booked_occupancy_peaks(UUID, TIMESTAMPTZ[], TIMESTAMPTZ[]) IS
    'occupancy_peaks without holds: what calendar_availability_cache.remaining counts (a hold expires unwritten)';

-- Conflicts of a schedule change name tours a durable occupant leaves without room; a hold is gone within minutes.
CREATE OR REPLACE FUNCTION over_capacity_tours(p_property_id UUID, p_after TIMESTAMPTZ)
RETURNS TABLE (tour_id UUID)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT capacity, make_interval(mins => buffer_minutes) AS buffer
        FROM tour_schedule WHERE property_id = p_property_id),
    o AS (SELECT * FROM occupancy(p_property_id, tstzrange(p_after, NULL)) WHERE source <> 'hold')
    SELECT t.id
    FROM rules r JOIN tour_booking_sync t ON t.property_id = p_property_id
    WHERE t.status IN ('scheduled', 'confirmed') AND t.scheduled_datetime > p_after
      AND peak_overlap(
          ARRAY(SELECT o.occupied FROM o
                WHERE o.occupied && tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer)
                  AND NOT (o.source = 'tour' AND o.occupant_id = t.id::TEXT)
                  AND (o.booked_at, o.occupant_id) < (t.created_at, t.id::TEXT)),
          tstzrange(t.scheduled_datetime, t.scheduled_end + r.buffer)) >= r.capacity
$$;

-- ------------------------------------------------------------------ the capacity trigger of tours
-- As in sql/050, plus: a new tour that consumes a live hold (the hold names it in booked_tour_id, set earlier in the
-- same transaction) within the hold's own period takes that hold's seat. No instant gains an occupant, so it is never
-- refused for capacity, even when a staff appointment or a lowered capacity has filled the slot meanwhile.
CREATE OR REPLACE FUNCTION enforce_tour_slot_capacity() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    slot_capacity INTEGER;
    busiest INTEGER;
BEGIN
    IF NEW.status NOT IN ('scheduled', 'confirmed') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE'
        AND OLD.status IN ('scheduled', 'confirmed')
        AND OLD.property_id = NEW.property_id
        AND tstzrange(NEW.scheduled_datetime, NEW.scheduled_end) <@ tstzrange(OLD.scheduled_datetime, OLD.scheduled_end)
    THEN
        RETURN NEW;
    END IF;
    PERFORM lock_occupancy(NEW.property_id);
    IF TG_OP = 'INSERT' AND EXISTS (
        SELECT 1 FROM tour_hold h
        WHERE h.booked_tour_id = NEW.id AND h.property_id = NEW.property_id AND h.expires_at > now()
          AND h.scheduled_datetime = NEW.scheduled_datetime AND NEW.scheduled_end <= h.scheduled_end)
    THEN
        RETURN NEW;
    END IF;
    SELECT capacity INTO slot_capacity FROM tour_schedule WHERE property_id = NEW.property_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- no schedule, no capacity to keep
    END IF;
    SELECT p.peak INTO busiest
    FROM occupancy_peaks(NEW.property_id, ARRAY[NEW.scheduled_datetime], ARRAY[NEW.scheduled_end], NEW.id) AS p;
    IF busiest >= slot_capacity THEN
        RAISE EXCEPTION 'property % is full at some instant of % to %', NEW.property_id, NEW.scheduled_datetime,
                NEW.scheduled_end
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'tour_slot_capacity';
    END IF;
    RETURN NEW;
END
$$;

-- ------------------------------------------------------------------ the capacity trigger of holds
-- A conversation holds at most 3 slots at once (SPEC.md), counted under a transaction-scoped lock of the
-- conversation; then the hold counts against capacity under the property's occupancy lock, like a tour. The two
-- locks are always taken in this order, and no other writer takes a conversation's lock.
CREATE FUNCTION enforce_hold_capacity() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    slot_capacity INTEGER;
    busiest INTEGER;
    held INTEGER;
BEGIN
    IF NEW.conversation_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('tour_booking.holds:' || NEW.conversation_id::TEXT, 0));
        SELECT count(*) INTO held FROM tour_hold h WHERE h.conversation_id = NEW.conversation_id AND hold_is_live(h);
        IF held >= 3 THEN
            RAISE EXCEPTION 'conversation % already holds % slots', NEW.conversation_id, held
                USING ERRCODE = 'check_violation', CONSTRAINT = 'tour_hold_per_conversation';
        END IF;
    END IF;
    PERFORM lock_occupancy(NEW.property_id);
    SELECT capacity INTO slot_capacity FROM tour_schedule WHERE property_id = NEW.property_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'property % has no tour schedule', NEW.property_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'tour_slot_capacity';
    END IF;
    SELECT p.peak INTO busiest
    FROM occupancy_peaks(NEW.property_id, ARRAY[NEW.scheduled_datetime], ARRAY[NEW.scheduled_end]) AS p;
    IF busiest >= slot_capacity THEN
        RAISE EXCEPTION 'property % is full at some instant of % to %', NEW.property_id, NEW.scheduled_datetime,
                NEW.scheduled_end
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'tour_slot_capacity';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION enforce_hold_capacity() IS
    'Refuses a hold past 3 live ones of its conversation, or whose period would put one instant over capacity';

CREATE TRIGGER trg_tour_hold_capacity BEFORE INSERT ON tour_hold
    FOR EACH ROW EXECUTE FUNCTION enforce_hold_capacity();

-- ------------------------------------------------------------------ the cached `remaining`, without holds
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

-- ------------------------------------------------------------------ availability reads, with live holds
-- A cached day's slots as an availability read answers them: the slots a live hold's period overlaps get
-- remaining = capacity - occupancy_peaks (holds included); the others are as cached. The overlapped slots are
-- gathered into arrays first, so that occupancy_peaks, called with plain parameters, is inlined into this function's
-- cached plan instead of being planned again on every call.
CREATE FUNCTION slots_with_live_holds(p_property_id UUID, p_slots JSONB) RETURNS JSONB
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
