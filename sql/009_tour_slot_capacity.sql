-- The database itself refuses overbooking, whatever code path writes a tour: an active tour (scheduled or
-- confirmed) may only take a start that holds fewer active tours than the property's capacity.
CREATE FUNCTION enforce_tour_slot_capacity() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    slot_capacity INTEGER;
    active_tours INTEGER;
BEGIN
    IF NEW.status NOT IN ('scheduled', 'confirmed') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE'
        AND OLD.status IN ('scheduled', 'confirmed')
        AND OLD.property_id = NEW.property_id
        AND OLD.scheduled_datetime = NEW.scheduled_datetime THEN
        RETURN NEW;
    END IF;
    SELECT capacity INTO slot_capacity FROM tour_schedule WHERE property_id = NEW.property_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- no schedule, no capacity to keep
    END IF;
    -- Writers of the same property and start queue here until the earlier one commits; the count below
    -- then runs with a fresh snapshot (READ COMMITTED) and sees it.
    PERFORM pg_advisory_xact_lock(
        hashtextextended(NEW.property_id::TEXT, EXTRACT(EPOCH FROM NEW.scheduled_datetime)::BIGINT));
    SELECT COUNT(*) INTO active_tours
    FROM tour_booking_sync
    WHERE property_id = NEW.property_id
      AND scheduled_datetime = NEW.scheduled_datetime
      AND status IN ('scheduled', 'confirmed')
      AND id <> NEW.id;
    IF active_tours >= slot_capacity THEN
        RAISE EXCEPTION 'slot % of property % is full', NEW.scheduled_datetime, NEW.property_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'tour_slot_capacity';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION enforce_tour_slot_capacity() IS
    'Refuses an active tour at a start that already holds tour_schedule.capacity active tours';

CREATE TRIGGER trg_tour_booking_sync_slot_capacity
    BEFORE INSERT OR UPDATE OF status, scheduled_datetime, property_id ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION enforce_tour_slot_capacity();
