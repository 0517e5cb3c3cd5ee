-- Job statuses named for what they are: queued, running, done, failed, cancelled.
-- (They were pending, sending, sent: names of messages, not of work.) Rows keep their state.
ALTER TABLE job DROP CONSTRAINT job_status_check;
UPDATE job SET status = CASE status
    WHEN 'pending' THEN 'queued'
    WHEN 'sending' THEN 'running'
    WHEN 'sent' THEN 'done'
    ELSE status END;
ALTER TABLE job ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE job ADD CONSTRAINT job_status_check
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled'));
