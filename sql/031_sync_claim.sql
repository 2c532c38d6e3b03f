-- Claims that serialize the ResMan sync across containers without session state (a session-level advisory lock
-- would pin an RDS Proxy session and, behind PgBouncer in transaction mode, stay on whichever server connection
-- the statement got). A claim is taken by a short transaction of its own and expires by itself, so a crashed
-- container blocks nobody for longer than the lease, and no transaction stays open across a ResMan call.
CREATE TABLE IF NOT EXISTS sync_claim (
    -- 'tour:<tour id>', or 'identity:<SHA-256>' of a prospect's email or phone in a ResMan property (no
    -- personal data is stored).
    key TEXT PRIMARY KEY,
    holder UUID NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE sync_claim IS 'Leases of the ResMan sync: one holder per tour and per prospect identity at a time';
