-- Secrets the server makes for itself, shared by every process through the database.
-- 'lead_status' keys the HMAC behind each lead's statusToken (the intake answer's
-- capability to read that lead's delivery status).
CREATE TABLE app_secret (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO app_secret (name, value) VALUES ('lead_status', lower(hex(randomblob(32))));
