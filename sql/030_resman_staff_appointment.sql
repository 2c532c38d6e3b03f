-- Appointments that leasing staff booked directly in ResMan (appointment events on ResMan prospects that are
-- none of our tours). They take a place in their slot like our own tours do: availability, the capacity
-- trigger and the cached `remaining` all count them. The cache refresh keeps the table in step with ResMan:
-- a row exists only while the appointment is upcoming-or-recent and neither cancelled nor the prospect lost.
CREATE TABLE resman_staff_appointment (
    property_id UUID NOT NULL REFERENCES property(id) ON DELETE CASCADE,
    resman_event_id VARCHAR(100) NOT NULL,
    resman_prospect_id VARCHAR(100) NOT NULL,
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (property_id, resman_event_id)
);

COMMENT ON TABLE resman_staff_appointment IS
    'Active appointments staff booked directly in ResMan; they block their slots like active tours';
COMMENT ON COLUMN resman_staff_appointment.resman_event_id IS 'EventID of the ResMan Appointment event';
COMMENT ON COLUMN resman_staff_appointment.scheduled_datetime IS 'The appointment start (ResMan keeps it in UTC)';

-- Slot counts look up one property at one start, like idx_tour_booking_sync_property_time.
CREATE INDEX idx_resman_staff_appointment_property_time
    ON resman_staff_appointment(property_id, scheduled_datetime);
-- A prospect's appointments are replaced together whenever ResMan reports the prospect modified.
CREATE INDEX idx_resman_staff_appointment_prospect
    ON resman_staff_appointment(property_id, resman_prospect_id);

CREATE TRIGGER trg_resman_staff_appointment_updated_at BEFORE UPDATE ON resman_staff_appointment
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The capacity trigger of sql/009, now also counting staff appointments: a slot that staff filled in ResMan
-- cannot take one more of our tours. Staff appointments themselves are never refused (ResMan accepts
-- overlaps and has already booked them); only our own bookings are kept within capacity.
CREATE OR REPLACE FUNCTION enforce_tour_slot_capacity() RETURNS TRIGGER
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
    SELECT
        (SELECT COUNT(*)
         FROM tour_booking_sync
         WHERE property_id = NEW.property_id
           AND scheduled_datetime = NEW.scheduled_datetime
           AND status IN ('scheduled', 'confirmed')
           AND id <> NEW.id)
        + (SELECT COUNT(*)
           FROM resman_staff_appointment
           WHERE property_id = NEW.property_id
             AND scheduled_datetime = NEW.scheduled_datetime)
    INTO active_tours;
    IF active_tours >= slot_capacity THEN
        RAISE EXCEPTION 'slot % of property % is full', NEW.scheduled_datetime, NEW.property_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'tour_slot_capacity';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION enforce_tour_slot_capacity() IS
    'Refuses an active tour at a start that already holds tour_schedule.capacity active tours and staff appointments';

-- The cached-slot trigger helper of sql/010, now also counting staff appointments, so a tour that leaves a
-- slot shared with a staff appointment does not report the staff appointment's place as free.
CREATE OR REPLACE FUNCTION refresh_cached_slot_remaining(p_property_id UUID, p_start TIMESTAMPTZ) RETURNS VOID
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
    SELECT
        (SELECT COUNT(*)
         FROM tour_booking_sync
         WHERE property_id = p_property_id
           AND scheduled_datetime = p_start
           AND status IN ('scheduled', 'confirmed'))
        + (SELECT COUNT(*)
           FROM resman_staff_appointment
           WHERE property_id = p_property_id
             AND scheduled_datetime = p_start)
    INTO active_tours;
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
    'Recomputes remaining (capacity - active tours - staff appointments) of the cached slot at p_start, if cached';
