-- GET /tours pages by (created_at, id): columns no change of a tour rewrites, so a reschedule or a status change
-- never moves a tour across a page boundary (paging on scheduled_datetime skipped or repeated moved tours).
-- created_at is made immutable here, so the paging key is one by construction, not by convention.
CREATE INDEX idx_tour_booking_sync_created ON tour_booking_sync(created_at, id);
CREATE INDEX idx_tour_booking_sync_property_created ON tour_booking_sync(property_id, created_at, id);

CREATE FUNCTION keep_created_at() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := OLD.created_at;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION keep_created_at() IS 'created_at never changes after insert: GET /tours pages on it';

CREATE TRIGGER trg_tour_booking_sync_keep_created_at BEFORE UPDATE OF created_at ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION keep_created_at();
