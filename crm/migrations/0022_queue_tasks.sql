-- Queue tasks (issue 15): a missed call from an unknown number, or a stranger's voicemail or
-- callback request, becomes a callback task held by a queue. Nobody is responsible for it
-- until one of the queue's members takes it (crm/tasks/callbacks.py create_for_stranger).
ALTER TABLE tasks ALTER COLUMN responsible_user_id DROP NOT NULL;
ALTER TABLE tasks ADD COLUMN queue_id bigint REFERENCES queues (id);
-- The number to call back, as the caller's phone sent it, and its match key (E.164, or the
-- digits as sent when it has none): one such task per number per day.
ALTER TABLE tasks ADD COLUMN callback_number text;
ALTER TABLE tasks ADD COLUMN callback_normalized text;
-- What happened, as codes the page words in the reader's language (crm/tasks/callbacks.py):
-- [{"reason": "missed" | "callback_requested" | "voicemail", "number": ..., "at": ..., "call_id": ...}].
ALTER TABLE tasks ADD COLUMN callback_events jsonb NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD CONSTRAINT tasks_held_by_someone CHECK (responsible_user_id IS NOT NULL OR queue_id IS NOT NULL);
ALTER TABLE tasks ADD CONSTRAINT tasks_callback_number_keyed
    CHECK ((callback_number IS NULL) = (callback_normalized IS NULL));
CREATE UNIQUE INDEX tasks_one_stranger_callback_per_day ON tasks (callback_normalized, callback_for_date)
    WHERE callback_normalized IS NOT NULL AND callback_for_date IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX tasks_queue_open_idx ON tasks (queue_id, deadline_date)
    WHERE queue_id IS NOT NULL AND status IN ('new', 'in_progress') AND deleted_at IS NULL;
CREATE INDEX tasks_callback_normalized_idx ON tasks (callback_normalized) WHERE callback_normalized IS NOT NULL;

-- The queue's members are told of a new queue task.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('task_due', 'task_assigned', 'missed_call', 'queue_task'));

-- The unknown callers list: recent incoming calls not on any card (by number: calls_caller_idx).
CREATE INDEX calls_unknown_caller_idx ON calls (started_at DESC)
    WHERE counterparty_id IS NULL AND direction = 'incoming';
