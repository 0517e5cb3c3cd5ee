-- Every status each lead's email and SMS reached, with its time: sent, delivered, opened,
-- clicked, bounced, error, skipped, and `pending` when an admin's resend starts a new
-- attempt. A report that arrives after a later status (delivered after opened) is kept
-- here although the lead's current status does not go back. Leads stored before this
-- migration start with the status they had.
CREATE TABLE delivery_event (
    event_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id   BIGINT NOT NULL REFERENCES lead (lead_id),
    channel   TEXT NOT NULL,
    status    TEXT NOT NULL,
    at        BIGINT NOT NULL,
    -- The provider's error, or why a message was skipped.
    detail    TEXT
);
CREATE INDEX delivery_event_lead_idx ON delivery_event (lead_id, channel, event_id);
INSERT INTO delivery_event (lead_id, channel, status, at, detail)
    SELECT lead_id, 'email', email_status, email_status_at, email_error FROM lead
    WHERE email_status <> 'pending' AND email_status_at IS NOT NULL;
INSERT INTO delivery_event (lead_id, channel, status, at, detail)
    SELECT lead_id, 'sms', sms_status, sms_status_at, sms_error FROM lead
    WHERE sms_status <> 'pending' AND sms_status_at IS NOT NULL;
