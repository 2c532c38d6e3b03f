CREATE TABLE idempotency_record (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status_code INTEGER,
    response_body JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT chk_idempotency_record_key_length CHECK (char_length(key) BETWEEN 1 AND 255),
    CONSTRAINT chk_idempotency_record_status_code CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT chk_idempotency_record_response_complete CHECK ((status_code IS NULL) = (response_body IS NULL))
);

COMMENT ON TABLE idempotency_record IS 'First answer to each Idempotency-Key of POST /tours, replayed for the same body for 24 hours';
COMMENT ON COLUMN idempotency_record.request_hash IS 'SHA-256 of the canonical request body: another body under the same key is refused';

CREATE INDEX idx_idempotency_record_expires_at ON idempotency_record(expires_at);
