-- The line a call came in on (issue 15): its name on the call log and card, and the
-- per-line report. calls.line keeps the channel's endpoint as before.
ALTER TABLE calls ADD COLUMN line_id bigint REFERENCES lines (id);
CREATE INDEX calls_line_idx ON calls (line_id, started_at) WHERE line_id IS NOT NULL;
