-- The seed's cache, fixed: gen_random_uuid(), NOT NULL columns, and no second index beside the one the
-- UNIQUE constraint already builds on (property_id, date).
CREATE TABLE calendar_availability_cache (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id UUID NOT NULL REFERENCES property(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    available_slots JSONB NOT NULL, -- Array of time slots: start, end, tour_types, capacity, remaining
    last_updated TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    UNIQUE(property_id, date),
    CONSTRAINT chk_calendar_availability_cache_slots_array CHECK (jsonb_typeof(available_slots) = 'array')
);

COMMENT ON TABLE calendar_availability_cache IS 'Caches available time slots for each property/date';
