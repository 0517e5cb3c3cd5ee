-- The last success and the last error of each outbound integration, written by the job
-- runner with the outcomes it records, for the health API and the admin page.
-- The twin of this file for the other engine has the same version number.
CREATE TABLE integration_status (
    integration     TEXT PRIMARY KEY,
    last_success_at BIGINT,
    last_error      TEXT,
    last_error_at   BIGINT
);
