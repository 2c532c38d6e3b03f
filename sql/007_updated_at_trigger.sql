-- clock_timestamp(), not now(): an update in the transaction that inserted the row still moves updated_at.
CREATE FUNCTION set_updated_at() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION set_updated_at() IS 'Keeps updated_at true on every UPDATE';

CREATE TRIGGER trg_tour_booking_sync_updated_at BEFORE UPDATE ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_tour_schedule_updated_at BEFORE UPDATE ON tour_schedule
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_resman_watermark_updated_at BEFORE UPDATE ON resman_watermark
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
