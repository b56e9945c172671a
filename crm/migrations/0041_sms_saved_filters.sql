-- The SMS list (issue 21, I1) keeps saved filter sets too. Nothing to convert: the existing saved
-- filters keep their sections.
ALTER TABLE saved_filters DROP CONSTRAINT saved_filters_section_check;
ALTER TABLE saved_filters ADD CONSTRAINT saved_filters_section_check
    CHECK (section IN ('clients', 'companies', 'tasks', 'calls', 'sms'));
