CREATE TABLE resman_watermark (
    property_id UUID PRIMARY KEY REFERENCES property(id) ON DELETE CASCADE,
    modified_since TIMESTAMPTZ NOT NULL,
    last_success_at TIMESTAMPTZ,
    last_error TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

COMMENT ON TABLE resman_watermark IS 'Per property: ResMan prospects modified before modified_since have been read by the cache refresh';
COMMENT ON COLUMN resman_watermark.last_error IS 'Reason of the last failed pull, without personal data';
