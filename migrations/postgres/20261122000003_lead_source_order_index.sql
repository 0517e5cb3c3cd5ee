-- The leads table filtered by source is read newest first: (source, lead_id) lets both
-- engines walk the index in that order instead of sorting every lead of the source.
DROP INDEX lead_source_day_idx;
CREATE INDEX lead_source_id_idx ON lead (source, lead_id);
