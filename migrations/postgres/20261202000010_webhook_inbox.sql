-- Resend and Mobizon deliveries become an inbox, like AmoCRM's: the route stores the
-- verified body and queues a job that applies it. Rows stored before keep no body.
ALTER TABLE webhook_event ADD COLUMN body TEXT;
-- 'applied', 'stale' (nothing moved forward) or 'no_lead', once the job has run.
ALTER TABLE webhook_event ADD COLUMN outcome TEXT;
ALTER TABLE webhook_event ADD COLUMN processed_at BIGINT;
