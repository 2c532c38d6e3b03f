-- A tour deleted while ResMan may hold its appointment (DomIQ deleting a conversation cascades to its tours):
-- ResMan has no cancel method and no way to learn of the deletion but a `Cancel` event we post. A BEFORE DELETE
-- trigger keeps what the sync needs to post it: the tour's id (its marker in ResMan's comments), the ResMan ids
-- and the prospect's details (to find the guest card when the sync never stored its ProspectID). The sweeper
-- queues open tombstones like pending tours; the sync posts the Cancel and closes the tombstone, erasing the
-- prospect's details.
CREATE TABLE resman_tour_tombstone (
    tour_id UUID PRIMARY KEY,
    property_id UUID NOT NULL,
    resman_account_id TEXT,
    resman_property_id TEXT,
    resman_prospect_id VARCHAR(100),
    resman_appointment_id VARCHAR(100),
    tour_type VARCHAR(50) NOT NULL,
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    prospect_info JSONB,
    version INTEGER NOT NULL,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    closed_at TIMESTAMPTZ,
    sync_attempts INTEGER NOT NULL DEFAULT 0,
    last_sync_error TEXT
);

COMMENT ON TABLE resman_tour_tombstone IS
    'Active future tours deleted here whose Cancel must still reach ResMan (closed_at set once it has, or once ResMan refused it for good)';
COMMENT ON COLUMN resman_tour_tombstone.prospect_info IS
    'The deleted tour''s prospect details, kept only until the Cancel reached ResMan: personal data, never logged';

-- The sweeper looks only at open tombstones.
CREATE INDEX idx_resman_tour_tombstone_open ON resman_tour_tombstone(updated_at) WHERE closed_at IS NULL;

CREATE TRIGGER trg_resman_tour_tombstone_updated_at BEFORE UPDATE ON resman_tour_tombstone
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Row-level triggers fire for rows deleted by ON DELETE CASCADE too. Only tours still active and not started
-- need a Cancel: a finished tour's outcome is ResMan's already, a past one is a no-show there.
CREATE FUNCTION record_resman_tour_tombstone() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('scheduled', 'confirmed') AND OLD.scheduled_datetime > clock_timestamp() THEN
        INSERT INTO resman_tour_tombstone (tour_id, property_id, resman_account_id, resman_property_id,
                                           resman_prospect_id, resman_appointment_id, tour_type,
                                           scheduled_datetime, prospect_info, version)
        SELECT OLD.id, OLD.property_id, s.resman_account_id, s.resman_property_id, OLD.resman_prospect_id,
               OLD.resman_appointment_id, OLD.tour_type, OLD.scheduled_datetime, OLD.prospect_info, OLD.version + 1
        FROM (SELECT 1) AS one LEFT JOIN tour_schedule s ON s.property_id = OLD.property_id
        ON CONFLICT (tour_id) DO NOTHING;
    END IF;
    RETURN OLD;
END
$$;

COMMENT ON FUNCTION record_resman_tour_tombstone() IS
    'Keeps a deleted active future tour''s ResMan ids so the sync can still post its Cancel';

CREATE TRIGGER trg_tour_booking_sync_tombstone BEFORE DELETE ON tour_booking_sync
    FOR EACH ROW EXECUTE FUNCTION record_resman_tour_tombstone();
