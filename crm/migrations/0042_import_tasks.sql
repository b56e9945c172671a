-- Tasks and deals imported from Excel (issue 20, A8/K2): two more kinds of import job.
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_kind_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_kind_check
    CHECK (kind IN ('counterparties', 'call_list', 'tasks', 'deals'));
