-- The browser a lead came from, for the Conversions API: the landing passes the client's
-- address, user agent and page, or intake reads them from the browser's own request. Kept
-- beside the lead (most leads of a relaying landing have none) rather than widening it.
CREATE TABLE lead_client (
    lead_id           BIGINT PRIMARY KEY REFERENCES lead (lead_id),
    client_ip         TEXT,
    client_user_agent TEXT,
    page_url          TEXT
);

-- Every event sent, or to be sent, to Meta's Conversions API: a `Lead` per accepted lead
-- and a `Purchase` per recorded sale. `event_id` (`lead-17`, `sale-5`) is what Meta
-- de-duplicates on; `lead_id` is the lead whose person data the event carries (for a sale,
-- the person's lead with a Facebook click, else their newest).
CREATE TABLE meta_event (
    event_id     TEXT PRIMARY KEY,
    event_name   TEXT NOT NULL,
    lead_id      BIGINT,
    sale_id      BIGINT,
    -- When it happened, UTC milliseconds.
    event_time   BIGINT NOT NULL,
    -- pending, sent, expired (older than Meta's 7 days), skipped, failed
    status       TEXT NOT NULL,
    detail       TEXT,
    fbtrace_id   TEXT,
    sent_at      BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX meta_event_sale_idx ON meta_event (sale_id);
