-- Sales (won AmoCRM deals) and ad spend, the money ends of the funnel (SPEC §6–§8).
-- Sale and spend days are Almaty `yyyymmdd` like `lead.created_day`.
-- The twin of this file for the other engine has the same version number.

-- One sale per deal and product, whatever the retries and duplicates of AmoCRM's webhooks;
-- a deal that leaves the won stage is marked cancelled, never deleted.
CREATE TABLE sale (
    sale_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    crm_deal_id    BIGINT NOT NULL,
    -- 'express' (Express course), 'flagship' (the flagship programme) or 'other' (a won
    -- deal of another pipeline: counts in all sales, not in the funnel).
    product        TEXT NOT NULL CHECK (product IN ('express', 'flagship', 'other')),
    -- Whole tenge.
    amount         BIGINT NOT NULL,
    sold_at        BIGINT NOT NULL,
    sold_day       BIGINT NOT NULL,
    lead_id        BIGINT REFERENCES lead (lead_id),
    contact_name   TEXT,
    crm_pipeline_id BIGINT,
    utm_source     TEXT,
    utm_medium     TEXT,
    utm_campaign   TEXT,
    utm_content    TEXT,
    utm_term       TEXT,
    team_id        BIGINT REFERENCES team (team_id),
    attribution_confidence TEXT,
    attribution_rule TEXT,
    cancelled_at   BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX sale_deal_product_key ON sale (crm_deal_id, product);
CREATE INDEX sale_day_idx ON sale (sold_day, team_id);

-- Facebook ad accounts (discovered from the token's Business Managers) and the pseudo
-- account 'manual' that holds spend typed in by an admin.
CREATE TABLE ad_account (
    account_id     TEXT PRIMARY KEY,
    business_id    TEXT,
    business_name  TEXT,
    name           TEXT NOT NULL,
    currency       TEXT NOT NULL,
    timezone       TEXT,
    -- 'active', 'disabled', 'unsettled', 'closed', … or 'manual'.
    status         TEXT NOT NULL,
    team_id        BIGINT REFERENCES team (team_id),
    sync_enabled   BIGINT NOT NULL DEFAULT 0,
    last_synced_at BIGINT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
INSERT INTO ad_account (account_id, name, currency, status, created_at, updated_at)
VALUES ('manual', 'Ручной ввод', 'KZT', 'manual', 0, 0);

-- Daily spend per ad (the account's own days). Amounts are hundredths: of the account's
-- currency, and converted to tenge (tiyn). Re-syncing a day replaces its rows.
CREATE TABLE ad_spend (
    account_id     TEXT NOT NULL REFERENCES ad_account (account_id),
    day            BIGINT NOT NULL,
    ad_id          TEXT NOT NULL,
    ad_name        TEXT,
    adset_id       TEXT,
    adset_name     TEXT,
    campaign_id    TEXT,
    campaign_name  TEXT,
    impressions    BIGINT NOT NULL DEFAULT 0,
    clicks         BIGINT NOT NULL DEFAULT 0,
    currency       TEXT NOT NULL,
    spend_minor    BIGINT NOT NULL,
    spend_kzt_minor BIGINT NOT NULL,
    team_id        BIGINT REFERENCES team (team_id),
    attribution_rule TEXT,
    synced_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, ad_id)
);
CREATE INDEX ad_spend_day_idx ON ad_spend (day, team_id, spend_kzt_minor, clicks, impressions);

-- The funnel counts quiz leads per day and team from the index alone.
CREATE INDEX lead_kind_day_team_idx ON lead (kind, created_day, team_id);
