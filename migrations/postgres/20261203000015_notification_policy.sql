-- The notification policy: a lead's email or SMS may be skipped (a number outside
-- SMS_ALLOWED_NUMBERS, or a recipient already written to within NOTIFY_DEDUP_HOURS).
-- A skipped duplicate names the lead whose message went out.
ALTER TABLE lead ADD COLUMN email_duplicate_of BIGINT;
ALTER TABLE lead ADD COLUMN sms_duplicate_of BIGINT;

-- The cards count skipped messages apart from sent ones.
ALTER TABLE lead_stat_daily ADD COLUMN email_skipped BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lead_stat_daily ADD COLUMN sms_skipped BIGINT NOT NULL DEFAULT 0;

-- Who was last written to on each channel, by which lead and when: a message job claims
-- its recipient here before it sends, so two leads of one person (also in two processes)
-- cannot both be messaged within the window.
CREATE TABLE notification_claim (
    channel     TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    lead_id     BIGINT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    PRIMARY KEY (channel, recipient)
);
CREATE INDEX notification_claim_lead_idx ON notification_claim (lead_id);

-- Messages already sent before this migration hold their recipients' claims.
INSERT INTO notification_claim (channel, recipient, lead_id, claimed_at)
SELECT 'email', email, MAX(lead_id), MAX(COALESCE(email_status_at, created_at))
FROM lead WHERE email_message_id IS NOT NULL GROUP BY email;
INSERT INTO notification_claim (channel, recipient, lead_id, claimed_at)
SELECT 'sms', phone_e164, MAX(lead_id), MAX(COALESCE(sms_status_at, created_at))
FROM lead WHERE sms_message_id IS NOT NULL GROUP BY phone_e164;
