-- The call log's filters (issue 20, H1/E3): saved filter sets for the Calls list too, and an index
-- for its queue filter (period, operator, line and numbers have theirs). Nothing to convert: the
-- existing saved filters keep their sections.
ALTER TABLE saved_filters DROP CONSTRAINT saved_filters_section_check;
ALTER TABLE saved_filters ADD CONSTRAINT saved_filters_section_check
    CHECK (section IN ('clients', 'companies', 'tasks', 'calls'));
CREATE INDEX calls_queue_idx ON calls (queue_id, started_at DESC) WHERE queue_id IS NOT NULL;
