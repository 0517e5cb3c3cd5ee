-- Job statuses named for what they are: queued, running, done, failed, cancelled.
-- (They were pending, sending, sent: names of messages, not of work.) Rows keep their state.
-- SQLite cannot change a CHECK constraint: the table is rebuilt with the same columns,
-- ids and indexes.
CREATE TABLE job_renamed (
    job_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    lead_id        BIGINT REFERENCES lead (lead_id),
    -- Unique per unit of work: the same key is never enqueued twice and is sent to providers.
    idempotency_key TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    run_at         BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    BIGINT,
    last_error     TEXT,
    provider_message_id TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT
);
INSERT INTO job_renamed (job_id, kind, payload, lead_id, idempotency_key, status, run_at, attempts, lease_owner,
                         lease_until, last_error, provider_message_id, created_at, updated_at, finished_at)
SELECT job_id, kind, payload, lead_id, idempotency_key,
       CASE status WHEN 'pending' THEN 'queued' WHEN 'sending' THEN 'running' WHEN 'sent' THEN 'done' ELSE status END,
       run_at, attempts, lease_owner, lease_until, last_error, provider_message_id, created_at, updated_at, finished_at
FROM job;
-- Ids are never reused: the new table's sequence continues the old one.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'job_renamed', seq FROM sqlite_sequence
WHERE name = 'job' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'job_renamed');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'job'))
WHERE name = 'job_renamed' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'job');
DROP TABLE job;
ALTER TABLE job_renamed RENAME TO job;
CREATE INDEX job_due_idx ON job (status, kind, run_at);
CREATE INDEX job_lead_idx ON job (lead_id);
CREATE INDEX job_failed_idx ON job (updated_at) WHERE status = 'failed';
