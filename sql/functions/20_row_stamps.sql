-- clock_timestamp(), not now(): an update in the transaction that inserted the row still moves updated_at.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION set_updated_at() IS 'Keeps updated_at true on every UPDATE';

-- GET /tours pages by (created_at, id) (sql/045): the paging key is one by construction, not by convention.
CREATE OR REPLACE FUNCTION keep_created_at() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := OLD.created_at;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION keep_created_at() IS 'created_at never changes after insert: GET /tours pages on it';

-- A row written without an end (by hand, by older code, a staff appointment) lasts one slot of the current
-- schedule; a move of the start without a new end keeps the length of the current schedule too.
CREATE OR REPLACE FUNCTION fill_scheduled_end() RETURNS TRIGGER
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
