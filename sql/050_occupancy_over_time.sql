-- Capacity is counted over time (SPEC.md): a tour occupies [start, end + buffer), where end is the slot length it
-- was booked with and buffer is the property's buffer_minutes; a staff appointment from ResMan occupies the same
-- way. At no instant may a property hold more occupants than its capacity. This file replaces the exact-start
-- counting of sql/009, sql/010 and sql/030 with one rule, `occupancy`, used by the capacity trigger, by the cached
-- `remaining` (trigger below) and, through occupancy_peaks, by availability and the cache refresh.
--
-- Concurrency: every writer of occupants (tours, staff appointments) and every writer of cached days or of the
-- schedule first takes lock_occupancy(property), a transaction-scoped advisory lock (safe behind RDS Proxy and
-- PgBouncer in transaction mode), and counts afterwards in a new statement, whose READ COMMITTED snapshot then sees
-- every earlier holder's commit. No btree_gist: the embedded PostgreSQL of the tests does not ship it.

-- ------------------------------------------------------------------ the tour keeps the end it was booked with
ALTER TABLE tour_booking_sync ADD COLUMN scheduled_end TIMESTAMPTZ;
UPDATE tour_booking_sync t SET scheduled_end = t.scheduled_datetime + make_interval(mins => COALESCE(
    (SELECT s.slot_minutes FROM tour_schedule s WHERE s.property_id = t.property_id), 60));
ALTER TABLE tour_booking_sync
    ALTER COLUMN scheduled_end SET NOT NULL,
    ADD CONSTRAINT chk_tour_booking_scheduled_end_after_start CHECK (scheduled_end > scheduled_datetime);
COMMENT ON COLUMN tour_booking_sync.scheduled_end IS
    'End of the slot the tour was booked with; it occupies [scheduled_datetime, scheduled_end + buffer)';

ALTER TABLE resman_staff_appointment ADD COLUMN scheduled_end TIMESTAMPTZ;
UPDATE resman_staff_appointment a SET scheduled_end = a.scheduled_datetime + make_interval(mins => COALESCE(
    (SELECT s.slot_minutes FROM tour_schedule s WHERE s.property_id = a.property_id), 60));
ALTER TABLE resman_staff_appointment
    ALTER COLUMN scheduled_end SET NOT NULL,
    ADD CONSTRAINT chk_resman_staff_appointment_end_after_start CHECK (scheduled_end > scheduled_datetime);
COMMENT ON COLUMN resman_staff_appointment.scheduled_end IS
    'ResMan gives a start only: the appointment lasts one slot of the schedule it was first seen under';

-- Occupants overlapping a period, found by a plain GiST index on the period without the buffer (the buffer
-- lives on the schedule; callers widen the searched period by it instead). Not (property_id, range): a uuid in a
-- GiST index needs btree_gist.
CREATE INDEX idx_tour_booking_sync_active_during ON tour_booking_sync
    USING gist (tstzrange(scheduled_datetime, scheduled_end))
    WHERE status IN ('scheduled', 'confirmed');
CREATE INDEX idx_resman_staff_appointment_during ON resman_staff_appointment
    USING gist (tstzrange(scheduled_datetime, scheduled_end));

-- A row written without an end (by hand, by older code, a staff appointment) lasts one slot of the current
-- schedule; a move of the start without a new end keeps the length of the current schedule too.
CREATE FUNCTION fill_scheduled_end() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    length_minutes INTEGER;
BEGIN
    IF NEW.scheduled_end IS NULL
        OR (TG_OP = 'UPDATE' AND NEW.scheduled_datetime IS DISTINCT FROM OLD.scheduled_datetime
            AND NEW.scheduled_end IS NOT DISTINCT FROM OLD.scheduled_end) THEN
        SELECT slot_minutes INTO length_minutes FROM tour_schedule WHERE property_id = NEW.property_id;
        NEW.scheduled_end := NEW.scheduled_datetime + make_interval(mins => COALESCE(length_minutes, 60));
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION fill_scheduled_end() IS 'Gives a tour or staff appointment written without an end one slot length';

-- Trigger names order BEFORE triggers: "..._end" fires before "..._slot_capacity", which needs the end.
CREATE TRIGGER trg_tour_booking_sync_end BEFORE INSERT OR UPDATE OF scheduled_datetime, scheduled_end
    ON tour_booking_sync FOR EACH ROW EXECUTE FUNCTION fill_scheduled_end();
CREATE TRIGGER trg_resman_staff_appointment_end BEFORE INSERT OR UPDATE OF scheduled_datetime, scheduled_end
    ON resman_staff_appointment FOR EACH ROW EXECUTE FUNCTION fill_scheduled_end();

-- ------------------------------------------------------------------ the one rule
CREATE FUNCTION lock_occupancy(p_property_id UUID) RETURNS VOID
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('tour_booking.occupancy:' || p_property_id::TEXT, 0));
$$;

COMMENT ON FUNCTION lock_occupancy(UUID) IS
    'Transaction-scoped lock of a property''s occupancy: taken before counting by every writer of occupants, cached days or the schedule';

-- What occupies a property's time during p_during: each occupant with the period it occupies, buffer included.
-- A later `holds` table joins here with one more UNION ALL branch.
CREATE FUNCTION occupancy(p_property_id UUID, p_during TSTZRANGE)
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
$$;

COMMENT ON FUNCTION occupancy(UUID, TSTZRANGE) IS
    'Active tours and staff appointments of a property occupying part of p_during, with [start, end + buffer)';

-- The most ranges of p_ranges that cover one instant of p_window: the busiest instant is the window's start
-- or the start of one of the ranges inside it.
CREATE FUNCTION peak_overlap(p_ranges TSTZRANGE[], p_window TSTZRANGE) RETURNS INTEGER
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(max((SELECT count(*) FROM unnest(p_ranges) AS r(x) WHERE r.x @> pt.at)), 0)::INTEGER
    FROM (SELECT lower(p_window) AS at
          UNION SELECT lower(x) FROM unnest(p_ranges) AS r(x) WHERE lower(x) > lower(p_window)
                                                            AND lower(x) < upper(p_window)) AS pt
$$;

-- For slots (starts[i], ends[i]): the most occupants at one instant of what each slot would occupy, its end plus
-- the buffer. A slot's `remaining` is capacity minus this peak, so booking it never puts one instant over capacity.
CREATE FUNCTION occupancy_peaks(
    p_property_id UUID, p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[], p_except_tour UUID DEFAULT NULL)
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
        WHERE NOT (o.source = 'tour' AND o.occupant_id IS NOT DISTINCT FROM p_except_tour::TEXT))
    SELECT slot.s, peak_overlap(
        ARRAY(SELECT o.occupied FROM o WHERE o.occupied && slot.occupies), slot.occupies)
    FROM slot
$$;

COMMENT ON FUNCTION occupancy_peaks(UUID, TIMESTAMPTZ[], TIMESTAMPTZ[], UUID) IS
    'Per slot start: most occupants at one instant of [start, end + buffer), optionally not counting one tour';

-- Active future tours that, counting only the occupants booked before them, find an instant of their period full:
-- the ones a lowered capacity, a longer buffer or a moved grid leaves over capacity.
CREATE FUNCTION over_capacity_tours(p_property_id UUID, p_after TIMESTAMPTZ)
RETURNS TABLE (tour_id UUID)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT capacity, make_interval(mins => buffer_minutes) AS buffer
        FROM tour_schedule WHERE property_id = p_property_id),
    o AS (SELECT * FROM occupancy(p_property_id, tstzrange(p_after, NULL)))
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

COMMENT ON FUNCTION over_capacity_tours(UUID, TIMESTAMPTZ) IS
    'Active tours after p_after that do not fit the capacity beside the occupants booked before them';

-- ------------------------------------------------------------------ the capacity trigger, over time
CREATE OR REPLACE FUNCTION enforce_tour_slot_capacity() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    slot_capacity INTEGER;
    busiest INTEGER;
BEGIN
    IF NEW.status NOT IN ('scheduled', 'confirmed') THEN
        RETURN NEW;
    END IF;
    -- An active tour that keeps or shrinks its period takes no time it did not hold (a confirmation, a tour
    -- a schedule change left over capacity): it is not refused.
    IF TG_OP = 'UPDATE'
        AND OLD.status IN ('scheduled', 'confirmed')
        AND OLD.property_id = NEW.property_id
        AND tstzrange(NEW.scheduled_datetime, NEW.scheduled_end) <@ tstzrange(OLD.scheduled_datetime, OLD.scheduled_end)
    THEN
        RETURN NEW;
    END IF;
    PERFORM lock_occupancy(NEW.property_id);
    -- New statements from here on: their snapshot sees every commit of an earlier lock holder.
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

COMMENT ON FUNCTION enforce_tour_slot_capacity() IS
    'Refuses an active tour whose period [start, end + buffer) would hold more occupants than the capacity at one instant';

DROP TRIGGER trg_tour_booking_sync_slot_capacity ON tour_booking_sync;
CREATE TRIGGER trg_tour_booking_sync_slot_capacity
    BEFORE INSERT OR UPDATE OF status, scheduled_datetime, scheduled_end, property_id ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION enforce_tour_slot_capacity();

-- ------------------------------------------------------------------ the cached `remaining`, over time
-- Recomputes `remaining` of every cached slot whose period overlaps [p_start, p_end + buffer): what an occupant
-- that took or left that period changes. Slots last under a day, so the local days from the one before p_start
-- to the one of the period's end hold them all.
CREATE FUNCTION refresh_cached_remaining(p_property_id UUID, p_start TIMESTAMPTZ, p_end TIMESTAMPTZ) RETURNS VOID
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
        FROM occupancy_peaks(p_property_id, ARRAY(SELECT s FROM touched), ARRAY(SELECT e FROM touched)) AS p),
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

DROP TRIGGER trg_tour_booking_sync_cached_slots_update ON tour_booking_sync;
CREATE TRIGGER trg_tour_booking_sync_cached_slots_update
    AFTER UPDATE OF status, scheduled_datetime, scheduled_end, property_id ON tour_booking_sync
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.scheduled_datetime IS DISTINCT FROM NEW.scheduled_datetime
          OR OLD.scheduled_end IS DISTINCT FROM NEW.scheduled_end
          OR OLD.property_id IS DISTINCT FROM NEW.property_id)
    EXECUTE FUNCTION refresh_cached_slots_of_tour();

-- Staff appointments change the cached days the same way (the refresh rewrites its days anyway; days past its
-- horizon and the time between its steps would otherwise show their places free).
CREATE TRIGGER trg_resman_staff_appointment_cached_slots
    AFTER INSERT OR UPDATE OR DELETE ON resman_staff_appointment
    FOR EACH ROW EXECUTE FUNCTION refresh_cached_slots_of_tour();

DROP FUNCTION refresh_cached_slot_remaining(UUID, TIMESTAMPTZ);
