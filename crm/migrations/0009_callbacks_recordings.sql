-- Callback tasks from missed calls (H10), one per client per day; recordings' Asterisk name (H7).
ALTER TABLE tasks ADD COLUMN callback_for_date date;
CREATE UNIQUE INDEX tasks_one_callback_per_day ON tasks (counterparty_id, callback_for_date)
    WHERE callback_for_date IS NOT NULL;
ALTER TABLE recordings ADD COLUMN asterisk_name text;
ALTER TABLE recordings ADD COLUMN error text;
ALTER TABLE recordings ALTER COLUMN path DROP NOT NULL;
-- The user whose phone placed an outgoing or internal call.
ALTER TABLE calls ADD COLUMN caller_user_id bigint REFERENCES users (id);
