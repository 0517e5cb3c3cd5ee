-- Sessions end after SESSION_IDLE_HOURS without use: the last use, kept to the minute.
ALTER TABLE user_session ADD COLUMN last_seen_at BIGINT;
CREATE INDEX api_token_user_idx ON api_token (user_id);
