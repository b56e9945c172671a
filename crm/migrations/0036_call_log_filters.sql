-- The call log's filters (issue 20, H1/E3): saved filter sets for the Calls list too, an index
-- for its queue filter (period, operator, line and numbers have theirs), and a trigram index for
-- its search (crm/calls/listing.py SEARCH_TEXT: both numbers as dialled and as normalised, the
-- caller's name and the operator's comment, folded). Nothing to convert: the existing saved
-- filters keep their sections.
ALTER TABLE saved_filters DROP CONSTRAINT saved_filters_section_check;
ALTER TABLE saved_filters ADD CONSTRAINT saved_filters_section_check
    CHECK (section IN ('clients', 'companies', 'tasks', 'calls'));
CREATE INDEX calls_queue_idx ON calls (queue_id, started_at DESC) WHERE queue_id IS NOT NULL;
CREATE INDEX calls_search_trgm ON calls USING gin (search_fold(
    caller_number || ' ' || called_number || ' ' || coalesce(caller_normalized, '') || ' '
    || coalesce(called_normalized, '') || ' ' || caller_name || ' ' || comment) gin_trgm_ops);
-- The deleted cards, which the call rules' SQL reads once per list (crm/calls/rules_sql.py card_deleted).
CREATE INDEX counterparties_deleted_idx ON counterparties (id) WHERE deleted_at IS NOT NULL;
