-- AmoCRM webhook deliveries, stored as they arrived before they are answered, then
-- processed by the job runner (SPEC §5).
-- The twin of this file for the other engine has the same version number.
CREATE TABLE crm_event (
    event_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The path the delivery came to (three are configured in AmoCRM).
    route          TEXT NOT NULL,
    body           TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    -- 'pending', 'processed', 'ignored' (nothing we act on) or 'rejected' (malformed).
    status         TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'ignored', 'rejected')),
    reason         TEXT,
    processed_at   BIGINT
);
CREATE INDEX crm_event_received_idx ON crm_event (received_at);
