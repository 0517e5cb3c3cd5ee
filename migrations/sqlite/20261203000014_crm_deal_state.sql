-- The newest state of each AmoCRM deal we heard of (a webhook or a sync), by AmoCRM's own
-- modification time: a change older than the one applied is stale and changes nothing, so
-- a late "won" after "left won" cannot revive a sale, whatever order deliveries arrive in.
CREATE TABLE crm_deal_state (
    crm_deal_id  BIGINT PRIMARY KEY,
    pipeline_id  BIGINT,
    status_id    BIGINT,
    -- AmoCRM's modification time of the state, unix seconds.
    changed_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
