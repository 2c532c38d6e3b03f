-- Cached slots stay right between cache refreshes: whatever writes a tour (the booking API, the sync, the
-- refresh recording outcomes, staff by hand), the cached `remaining` of the slot(s) it leaves and takes is
-- recomputed in the same transaction.
CREATE FUNCTION refresh_cached_slot_remaining(p_property_id UUID, p_start TIMESTAMPTZ) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    zone TEXT;
    local_day DATE;
    active_tours INTEGER;
BEGIN
    SELECT timezone INTO zone FROM tour_schedule WHERE property_id = p_property_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    local_day := (p_start AT TIME ZONE zone)::DATE;
    -- Lock the cached day first and count afterwards: the count's fresh snapshot (READ COMMITTED) then sees
    -- every writer that held the row before us, so the last writer leaves the true number.
    PERFORM 1 FROM calendar_availability_cache
    WHERE property_id = p_property_id AND date = local_day
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;  -- day not cached: it is computed from the tours when asked
    END IF;
    SELECT COUNT(*) INTO active_tours
    FROM tour_booking_sync
    WHERE property_id = p_property_id
      AND scheduled_datetime = p_start
      AND status IN ('scheduled', 'confirmed');
    UPDATE calendar_availability_cache AS c
    SET available_slots = (
        SELECT jsonb_agg(
            CASE WHEN (e.slot ->> 'start')::TIMESTAMPTZ = p_start
                THEN jsonb_set(e.slot, '{remaining}',
                               to_jsonb(GREATEST((e.slot ->> 'capacity')::INTEGER - active_tours, 0)))
                ELSE e.slot
            END ORDER BY e.ord)
        FROM jsonb_array_elements(c.available_slots) WITH ORDINALITY AS e(slot, ord))
    WHERE c.property_id = p_property_id
      AND c.date = local_day
      AND EXISTS (
          SELECT 1 FROM jsonb_array_elements(c.available_slots) AS s(slot)
          WHERE (s.slot ->> 'start')::TIMESTAMPTZ = p_start);
END
$$;

COMMENT ON FUNCTION refresh_cached_slot_remaining(UUID, TIMESTAMPTZ) IS
    'Recomputes remaining (capacity - active tours) of the cached slot starting at p_start, if cached';

CREATE FUNCTION refresh_cached_slots_of_tour() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    -- Two reschedules crossing between two days must lock those days in one order, or they deadlock.
    IF TG_OP = 'UPDATE' THEN
        IF (OLD.property_id, OLD.scheduled_datetime) < (NEW.property_id, NEW.scheduled_datetime) THEN
            PERFORM refresh_cached_slot_remaining(OLD.property_id, OLD.scheduled_datetime);
            PERFORM refresh_cached_slot_remaining(NEW.property_id, NEW.scheduled_datetime);
        ELSIF (OLD.property_id, OLD.scheduled_datetime) > (NEW.property_id, NEW.scheduled_datetime) THEN
            PERFORM refresh_cached_slot_remaining(NEW.property_id, NEW.scheduled_datetime);
            PERFORM refresh_cached_slot_remaining(OLD.property_id, OLD.scheduled_datetime);
        ELSE
            PERFORM refresh_cached_slot_remaining(NEW.property_id, NEW.scheduled_datetime);
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM refresh_cached_slot_remaining(NEW.property_id, NEW.scheduled_datetime);
    ELSE
        PERFORM refresh_cached_slot_remaining(OLD.property_id, OLD.scheduled_datetime);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION refresh_cached_slots_of_tour() IS
    'Trigger: keeps calendar_availability_cache.remaining of the slots a tour leaves or takes true';

CREATE TRIGGER trg_tour_booking_sync_cached_slots_insert
    AFTER INSERT ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION refresh_cached_slots_of_tour();

CREATE TRIGGER trg_tour_booking_sync_cached_slots_update
    AFTER UPDATE OF status, scheduled_datetime, property_id ON tour_booking_sync
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.scheduled_datetime IS DISTINCT FROM NEW.scheduled_datetime
          OR OLD.property_id IS DISTINCT FROM NEW.property_id)
    EXECUTE FUNCTION refresh_cached_slots_of_tour();

CREATE TRIGGER trg_tour_booking_sync_cached_slots_delete
    AFTER DELETE ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION refresh_cached_slots_of_tour();
