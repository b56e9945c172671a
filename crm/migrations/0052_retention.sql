-- Retention (issue 25): the settings live in app_settings (key 'retention', crm/retention/queries.py), so
-- nothing is converted here. These indexes let the job delete old calls in batches without a sequential scan
-- per deleted call: PostgreSQL checks (or unlinks, or cascades to) every table with a foreign key to
-- calls(id) by its call_id, and these three had no index on it.
CREATE INDEX IF NOT EXISTS tasks_call_idx ON tasks (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS dial_attempts_call_idx ON dial_attempts (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transfer_requests_call_idx ON transfer_requests (call_id);
