-- The filters of /target: the first page (newest 50 by lead_id) of one team, one email or
-- SMS status, or the leads AmoCRM does not have, read in lead_id order from an index
-- instead of sorting the matches. A team with a status reads the team's index.
CREATE INDEX lead_team_id_idx ON lead (team_id, lead_id);
CREATE INDEX lead_email_status_id_idx ON lead (email_status, lead_id);
CREATE INDEX lead_sms_status_id_idx ON lead (sms_status, lead_id);
CREATE INDEX lead_unlinked_idx ON lead (lead_id) WHERE crm_deal_id IS NULL;

-- "UTM campaign contains": the distinct campaigns, few, are searched for the text and the
-- leads read by the campaigns found (an index range each), so a text that matches no
-- campaign or a rare one does not scan every lead.
CREATE TABLE lead_campaign (
    utm_campaign   TEXT PRIMARY KEY,
    first_seen_at  BIGINT NOT NULL
);
INSERT INTO lead_campaign (utm_campaign, first_seen_at)
    SELECT utm_campaign, MIN(created_at) FROM lead WHERE utm_campaign IS NOT NULL GROUP BY utm_campaign;
CREATE INDEX lead_campaign_id_idx ON lead (utm_campaign, lead_id);
