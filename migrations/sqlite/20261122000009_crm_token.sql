-- AmoCRM's OAuth token pair. Refresh tokens are single-use: the new pair is stored here
-- before it is used, so a crash never loses the only valid refresh token.
-- The twin of this file for the other engine has the same version number.
CREATE TABLE crm_token (
    token_id       BIGINT PRIMARY KEY CHECK (token_id = 1),
    access_token   TEXT NOT NULL,
    refresh_token  TEXT NOT NULL,
    -- UTC milliseconds.
    expires_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
