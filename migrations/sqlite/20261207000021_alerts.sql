-- Incidents the watcher found: one open row per key (`quiet:proftest`, `integration:amocrm`,
-- `failed_jobs`, `queue_lag`, `no_lead:<team>`) until what it saw is over. Each incident is
-- announced once in the admins' Telegram chat when raised and once («решено») when cleared;
-- the notices go through the job queue and keep their state here, as sale announcements do.
CREATE TABLE alert (
    alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_key     TEXT NOT NULL,
    title         TEXT NOT NULL,
    detail        TEXT NOT NULL,
    raised_at     BIGINT NOT NULL,
    cleared_at    BIGINT,
    -- none (no alert chat), pending, sending, sent, uncertain, failed
    raise_notice  TEXT NOT NULL,
    clear_notice  TEXT NOT NULL DEFAULT 'none',
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX alert_open_idx ON alert (alert_key) WHERE cleared_at IS NULL;
CREATE INDEX alert_raised_idx ON alert (raised_at);
