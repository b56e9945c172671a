-- Call records from Asterisk's own CEL (issue 16): crm/cel/ builds call log rows for the calls
-- the Stasis app did not log, from the CEL table Asterisk writes (asterisk-conf/cel_pgsql.sql).
-- How far it has read each CEL table, in the same transaction as the rows it wrote: a
-- reconciler killed mid-batch redoes the batch, never half of it. `source` names the table
-- (server/database/table, no credentials), so a CEL table moved elsewhere starts afresh.
CREATE TABLE cel_checkpoints (
    source          text PRIMARY KEY,
    last_id         bigint NOT NULL DEFAULT 0,
    -- What it did, for `pbxcrm reconcile` and the doctor: rows skipped as garbage, calls skipped
    -- (events that contradict each other), rows added, the app's rows completed.
    garbage_rows    bigint NOT NULL DEFAULT 0,
    skipped_calls   bigint NOT NULL DEFAULT 0,
    calls_added     bigint NOT NULL DEFAULT 0,
    calls_completed bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- A call is the app's when any row has its linkedid: looked up for every call read from CEL.
CREATE INDEX calls_linked_id_idx ON calls (linked_id) WHERE linked_id IS NOT NULL;
