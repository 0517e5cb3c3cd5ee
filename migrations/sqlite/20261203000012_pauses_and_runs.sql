-- Faults that heal themselves (the twin of this file for the other engine has the same
-- version number and the same statements).
--
-- A job's claims ever, never reset by an admin's retry or a reschedule: a job claimed
-- before may have reached its provider, so a send that cannot be deduplicated looks first.
ALTER TABLE job ADD COLUMN runs BIGINT NOT NULL DEFAULT 0;
UPDATE job SET runs = attempts;
-- The integration that refused a job's call: the job waits while that integration is
-- paused, also when its kind belongs to no integration (processing an AmoCRM delivery that
-- must read the deal, say).
ALTER TABLE job ADD COLUMN waiting_for TEXT;
-- How often the job was refused that way: a job refused again and again after its
-- integration passed its probes is refused for its own sake, and fails.
ALTER TABLE job ADD COLUMN refusals BIGINT NOT NULL DEFAULT 0;

-- An integration that refuses our credentials or permissions is paused: its jobs wait
-- without spending attempts until a probe passes. `probes` counts the failed probes since
-- the integration last worked; the probe backoff grows with it.
ALTER TABLE integration_status ADD COLUMN paused_at BIGINT;
ALTER TABLE integration_status ADD COLUMN pause_reason TEXT;
-- What was refused, when narrower than the integration (a Telegram chat).
ALTER TABLE integration_status ADD COLUMN pause_subject TEXT;
ALTER TABLE integration_status ADD COLUMN next_probe_at BIGINT;
ALTER TABLE integration_status ADD COLUMN probes BIGINT NOT NULL DEFAULT 0;
