-- Whether each sale's Telegram announcement went out. Telegram cannot deduplicate, so a
-- send is marked `sending` before it starts: a run that finds it so (a crash, an answer
-- that never came) records `uncertain` for an admin to decide, and never sends again by
-- itself. States: none (no announcement planned), pending, sending, sent, uncertain, failed.
ALTER TABLE sale ADD COLUMN notify_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE sale ADD COLUMN notified_at BIGINT;
ALTER TABLE sale ADD COLUMN notify_error TEXT;
UPDATE sale SET notify_state = CASE COALESCE(
        (SELECT job.status FROM job WHERE job.idempotency_key = 'sale-notify-' || CAST(sale.sale_id AS TEXT)), 'none')
    WHEN 'done' THEN 'sent'
    WHEN 'failed' THEN 'failed'
    WHEN 'none' THEN 'none'
    ELSE 'pending' END;
CREATE INDEX sale_notify_state_idx ON sale (notify_state) WHERE notify_state IN ('uncertain', 'failed');
