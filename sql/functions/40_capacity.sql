-- The database itself refuses overbooking, whatever code path writes: an active tour or a hold may only take a
-- period at whose every instant the occupants (sql/functions/30_occupancy.sql) stay below the capacity. Staff
-- appointments themselves are never refused (ResMan accepts overlaps and has already booked them).

-- An active tour that keeps or shrinks its period takes no time it did not hold (a confirmation, a tour a schedule
-- change left over capacity): it is not refused. A new tour that consumes a live hold (the hold names it in
-- booked_tour_id, set earlier in the same transaction) within the hold's own period takes that hold's seat: no
-- instant gains an occupant, so it is never refused, even when a staff appointment or a lowered capacity has filled
-- the slot meanwhile.
CREATE OR REPLACE FUNCTION enforce_tour_slot_capacity() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    slot_capacity INTEGER;
    busiest INTEGER;
BEGIN
    IF NOT tour_is_active(NEW.status) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE'
        AND tour_is_active(OLD.status)
        AND OLD.property_id = NEW.property_id
        AND tstzrange(NEW.scheduled_datetime, NEW.scheduled_end) <@ tstzrange(OLD.scheduled_datetime, OLD.scheduled_end)
    THEN
        RETURN NEW;
    END IF;
    PERFORM lock_occupancy(NEW.property_id);
    -- New statements from here on: their snapshot sees every commit of an earlier lock holder.
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

COMMENT ON FUNCTION enforce_tour_slot_capacity() IS
    'Refuses an active tour whose period [start, end + buffer) would hold more occupants than the capacity at one instant';

-- A conversation holds at most 3 slots at once (SPEC "Holds"), counted under a transaction-scoped lock of the
-- conversation; then the hold counts against capacity under the property's occupancy lock, like a tour. The two
-- locks are always taken in this order, and no other writer takes a conversation's lock.
CREATE OR REPLACE FUNCTION enforce_hold_capacity() RETURNS TRIGGER
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
