-- The seed's tour table, fixed: property_id added (the monitoring view groups by it), gen_random_uuid()
-- instead of uuid-ossp, NOT NULL where a NULL means nothing, and each CHECK declared once.
CREATE TABLE tour_booking_sync (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id UUID NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
    property_id UUID NOT NULL REFERENCES property(id) ON DELETE CASCADE,
    resman_appointment_id VARCHAR(100),
    tour_type VARCHAR(50) NOT NULL CHECK (tour_type IN ('in_person', 'virtual', 'self_guided')),
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'scheduled',
    prospect_info JSONB NOT NULL,
    staff_notes TEXT,
    sync_status VARCHAR(50) NOT NULL DEFAULT 'pending',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Sync bookkeeping: every change ResMan must learn bumps `version`; the sync stores the version it
    -- brought ResMan to, so a duplicate or late queue message for an already synced version does nothing.
    version INTEGER NOT NULL DEFAULT 1,
    synced_version INTEGER NOT NULL DEFAULT 0,
    sync_attempts INTEGER NOT NULL DEFAULT 0,
    last_sync_error TEXT,
    last_synced_at TIMESTAMPTZ,
    resman_prospect_id VARCHAR(100),
    CONSTRAINT chk_tour_booking_status
        CHECK (status IN ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')),
    CONSTRAINT chk_tour_booking_sync_status
        CHECK (sync_status IN ('pending', 'success', 'failed')),
    CONSTRAINT chk_tour_booking_prospect_info_object CHECK (jsonb_typeof(prospect_info) = 'object'),
    CONSTRAINT chk_tour_booking_version_positive CHECK (version >= 1),
    CONSTRAINT chk_tour_booking_synced_version_range CHECK (synced_version BETWEEN 0 AND version),
    CONSTRAINT chk_tour_booking_sync_attempts_non_negative CHECK (sync_attempts >= 0)
);

COMMENT ON TABLE tour_booking_sync IS 'Tracks tour bookings and sync status with ResMan';
COMMENT ON COLUMN tour_booking_sync.prospect_info IS 'Prospect name, email and phone: personal data, never logged';
COMMENT ON COLUMN tour_booking_sync.version IS 'Bumped by every change ResMan must learn';
COMMENT ON COLUMN tour_booking_sync.synced_version IS 'The version ResMan was last brought to (0: never)';
COMMENT ON COLUMN tour_booking_sync.last_sync_error IS 'Reason of the last failed sync, without personal data';

CREATE INDEX idx_tour_booking_sync_status ON tour_booking_sync(status, scheduled_datetime);
CREATE INDEX idx_tour_booking_sync_conversation ON tour_booking_sync(conversation_id);
-- Capacity checks and availability count the active tours of one property at one start.
CREATE INDEX idx_tour_booking_sync_property_time ON tour_booking_sync(property_id, scheduled_datetime, id);
-- The sweeper looks only at tours still waiting for ResMan.
CREATE INDEX idx_tour_booking_sync_pending ON tour_booking_sync(updated_at) WHERE sync_status = 'pending';
CREATE INDEX idx_tour_booking_sync_resman_prospect ON tour_booking_sync(resman_prospect_id)
    WHERE resman_prospect_id IS NOT NULL;
