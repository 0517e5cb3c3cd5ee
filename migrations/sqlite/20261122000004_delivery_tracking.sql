-- Delivery tracking (SPEC §4): the provider's message id on the lead, so webhooks and
-- status polls find it; provider webhook events seen, so replays change nothing; and the
-- development outbox, where messages go when no provider is configured.
-- The twin of this file for the other engine has the same version number.

-- Partial indexes: a lead is inserted without message ids, so intake pays nothing for them.
ALTER TABLE lead ADD COLUMN email_message_id TEXT;
ALTER TABLE lead ADD COLUMN sms_message_id TEXT;
CREATE INDEX lead_email_message_idx ON lead (email_message_id) WHERE email_message_id IS NOT NULL;
CREATE INDEX lead_sms_message_idx ON lead (sms_message_id) WHERE sms_message_id IS NOT NULL;

-- One row per provider event processed; the provider's event id is its key.
CREATE TABLE webhook_event (
    provider       TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- What the development senders would have sent; unique per job, like a provider's
-- idempotency key.
CREATE TABLE dev_outbox (
    message_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    channel        TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    idempotency_key TEXT NOT NULL UNIQUE,
    recipient      TEXT NOT NULL,
    subject        TEXT,
    body           TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- Failed jobs are listed newest first on the dashboard; partial, so queue writes skip it.
CREATE INDEX job_failed_idx ON job (updated_at) WHERE status = 'failed';

-- The runner claims due jobs one kind at a time, oldest first: with the kind in the key
-- it never walks past jobs of kinds it does not run (CRM pushes wait for their runner).
DROP INDEX job_due_idx;
CREATE INDEX job_due_idx ON job (status, kind, run_at);
