-- DomIQ owns `property` and `conversation`. On an empty database (a laptop, the tests) create minimal
-- stand-ins that need nothing but `id`; beside DomIQ's real tables these statements change nothing.
CREATE TABLE IF NOT EXISTS property (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS conversation (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Only comment tables this migration may have created: DomIQ's own comments stay as they are.
DO $$
BEGIN
    IF obj_description('property'::regclass, 'pg_class') IS NULL THEN
        COMMENT ON TABLE property IS 'Apartment community (DomIQ''s table; minimal stand-in when DomIQ''s schema is absent)';
    END IF;
    IF obj_description('conversation'::regclass, 'pg_class') IS NULL THEN
        COMMENT ON TABLE conversation IS 'DomIQ chat with a prospect (DomIQ''s table; minimal stand-in when DomIQ''s schema is absent)';
    END IF;
END
$$;
