-- Core schema: teams, users and their credentials, leads, and the durable job queue.
-- Timestamps are UTC milliseconds since the Unix epoch (BIGINT); money is whole tenge (BIGINT).
-- The PostgreSQL twin of this file lives in ../postgres with the same version number.

CREATE TABLE team (
    team_id        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    direction      TEXT NOT NULL DEFAULT '',
    color          TEXT NOT NULL DEFAULT '#00FF88',
    emoji          TEXT NOT NULL DEFAULT '📊',
    utm_source     TEXT,
    utm_medium     TEXT,
    -- JSON array of case-insensitive substrings matched against UTM tags (SPEC §6).
    utm_patterns   TEXT NOT NULL DEFAULT '[]',
    telegram_chat_id TEXT,
    sort_order     BIGINT NOT NULL DEFAULT 0,
    archived_at    BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX team_name_key ON team (lower(name));

CREATE TABLE app_user (
    user_id        INTEGER PRIMARY KEY,
    login          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'targetologist')),
    team_id        BIGINT REFERENCES team (team_id),
    created_at     BIGINT NOT NULL,
    disabled_at    BIGINT,
    CHECK (role = 'admin' OR team_id IS NOT NULL)
);
CREATE UNIQUE INDEX app_user_login_key ON app_user (lower(login));

-- Browser sessions; only the SHA-256 of the cookie value is stored.
CREATE TABLE user_session (
    session_id     INTEGER PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    user_id        BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX user_session_user_idx ON user_session (user_id);

-- Bearer tokens for scripts and the JSON API; only the SHA-256 is stored.
CREATE TABLE api_token (
    token_id       INTEGER PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    user_id        BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    revoked_at     BIGINT
);

CREATE TABLE lead (
    -- AUTOINCREMENT: ids are never reused, so job keys derived from them stay unique.
    lead_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at     BIGINT NOT NULL,
    -- The Almaty calendar day of created_at as yyyymmdd, the key of every daily report.
    created_day    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    -- 'proftest' (quiz) or 'express' (checkout); source adds the campaign: 'proftest_<slug>'.
    kind           TEXT NOT NULL CHECK (kind IN ('proftest', 'express')),
    source         TEXT NOT NULL,
    campaign_slug  TEXT,
    -- Optional client-supplied key (Idempotency-Key header): a retried POST returns the same lead.
    submission_key TEXT UNIQUE,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    email_raw      TEXT NOT NULL,
    phone_e164     TEXT NOT NULL,
    phone_raw      TEXT NOT NULL,
    -- Lower-cased name, email and phone digits for the dashboard search.
    search_text    TEXT NOT NULL,
    payment_method TEXT,
    answers        TEXT,
    utm_source     TEXT,
    utm_medium     TEXT,
    utm_campaign   TEXT,
    utm_content    TEXT,
    utm_term       TEXT,
    fbclid         TEXT,
    referrer       TEXT,
    -- Attribution (SPEC §6): team, 'high' | 'medium' | 'low', and the rule that matched.
    team_id        BIGINT REFERENCES team (team_id),
    attribution_confidence TEXT,
    attribution_rule TEXT,
    -- AmoCRM side.
    crm_contact_id BIGINT,
    crm_deal_id    BIGINT,
    crm_pipeline_id BIGINT,
    crm_status_id  BIGINT,
    crm_synced_at  BIGINT,
    -- Delivery state: 'pending', then sent / delivered / opened / clicked / bounced / error.
    email_status   TEXT NOT NULL DEFAULT 'pending',
    email_status_at BIGINT,
    email_error    TEXT,
    sms_status     TEXT NOT NULL DEFAULT 'pending',
    sms_status_at  BIGINT,
    sms_error      TEXT
);
CREATE INDEX lead_day_idx ON lead (created_day, lead_id);
CREATE INDEX lead_source_day_idx ON lead (source, created_day, lead_id);
CREATE INDEX lead_team_day_idx ON lead (team_id, created_day);
CREATE INDEX lead_phone_idx ON lead (phone_e164);
CREATE INDEX lead_email_idx ON lead (email);
CREATE INDEX lead_crm_deal_idx ON lead (crm_deal_id);

-- Lead counters per Almaty day and source, kept in the same transaction as every change
-- to a lead, so the dashboard cards never scan the lead table. Each lead counts in one of
-- 16 buckets (lead_id % 16) so that concurrent intakes do not queue on one row.
CREATE TABLE lead_stat_daily (
    day            BIGINT NOT NULL,
    source         TEXT NOT NULL,
    bucket         BIGINT NOT NULL,
    total          BIGINT NOT NULL DEFAULT 0,
    in_crm         BIGINT NOT NULL DEFAULT 0,
    email_sent     BIGINT NOT NULL DEFAULT 0,
    email_opened   BIGINT NOT NULL DEFAULT 0,
    sms_sent       BIGINT NOT NULL DEFAULT 0,
    sms_delivered  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, source, bucket)
);

-- The distinct lead sources, for the dashboard filter (kept at intake, never scanned from lead).
CREATE TABLE lead_source (
    source         TEXT PRIMARY KEY,
    first_seen_at  BIGINT NOT NULL
);

-- Durable background work: notifications, CRM pushes, syncs (SPEC §4).
CREATE TABLE job (
    job_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    lead_id        BIGINT REFERENCES lead (lead_id),
    -- Unique per unit of work: the same key is never enqueued twice and is sent to providers.
    idempotency_key TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
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
CREATE INDEX job_due_idx ON job (status, run_at);
CREATE INDEX job_lead_idx ON job (lead_id);
