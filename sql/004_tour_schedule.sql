CREATE TABLE tour_schedule (
    property_id UUID PRIMARY KEY REFERENCES property(id) ON DELETE CASCADE,
    timezone TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL,
    buffer_minutes INTEGER NOT NULL DEFAULT 0,
    min_notice_minutes INTEGER NOT NULL DEFAULT 0,
    capacity INTEGER NOT NULL,
    tour_types TEXT[] NOT NULL,
    weekly_hours JSONB NOT NULL,
    blackouts JSONB NOT NULL DEFAULT '[]',
    horizon_days INTEGER NOT NULL DEFAULT 14,
    resman_account_id TEXT,
    resman_property_id TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_tour_schedule_timezone_not_blank CHECK (timezone <> ''),
    CONSTRAINT chk_tour_schedule_slot_minutes CHECK (slot_minutes BETWEEN 5 AND 480),
    CONSTRAINT chk_tour_schedule_buffer_minutes CHECK (buffer_minutes BETWEEN 0 AND 480),
    CONSTRAINT chk_tour_schedule_min_notice_minutes CHECK (min_notice_minutes BETWEEN 0 AND 43200),
    CONSTRAINT chk_tour_schedule_capacity CHECK (capacity BETWEEN 0 AND 1000),
    CONSTRAINT chk_tour_schedule_tour_types
        CHECK (tour_types <@ ARRAY['in_person', 'virtual', 'self_guided']::TEXT[]),
    CONSTRAINT chk_tour_schedule_weekly_hours_object CHECK (jsonb_typeof(weekly_hours) = 'object'),
    CONSTRAINT chk_tour_schedule_blackouts_array CHECK (jsonb_typeof(blackouts) = 'array'),
    CONSTRAINT chk_tour_schedule_horizon_days CHECK (horizon_days BETWEEN 1 AND 365)
);

COMMENT ON TABLE tour_schedule IS 'Per-property tour rules set by the leasing team; available slots are derived from it';
COMMENT ON COLUMN tour_schedule.timezone IS 'IANA zone of the property: slots are computed in local time';
COMMENT ON COLUMN tour_schedule.weekly_hours IS 'Local opening windows per weekday: {"mon": [["09:00", "17:00"]], ...}';
COMMENT ON COLUMN tour_schedule.blackouts IS 'Closed local date ranges: [{"start_date", "end_date", "reason"}], ends inclusive';
COMMENT ON COLUMN tour_schedule.capacity IS 'Tours that may start at the same slot';
COMMENT ON COLUMN tour_schedule.resman_account_id IS 'ResMan AccountID (management company)';
COMMENT ON COLUMN tour_schedule.resman_property_id IS 'ResMan PropertyID (GUID)';
