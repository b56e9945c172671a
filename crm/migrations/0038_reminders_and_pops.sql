-- Reliable reminders (J1, issue 20): a notification is "pushed" when the notifier handed it to the
-- web workers, and "delivered" (browser_sent_at) only when a tab of its user received it. Until then the
-- next page the user opens shows it. Rows pushed before keep their time as both.
ALTER TABLE notifications ADD COLUMN pushed_at timestamptz;
UPDATE notifications SET pushed_at = browser_sent_at WHERE browser_sent_at IS NOT NULL;
CREATE INDEX notifications_undelivered_idx ON notifications (user_id, id) WHERE browser_sent_at IS NULL;
CREATE INDEX notifications_unpushed_idx ON notifications (id) WHERE pushed_at IS NULL;

-- A deadline without a time reminds at this hour of its day, on the user's clock (not at midnight).
ALTER TABLE users ADD COLUMN day_start_hour smallint NOT NULL DEFAULT 9 CHECK (day_start_hour BETWEEN 0 AND 23);

-- Screen pop (H5): a script for calls through a queue, or from a counterparty with a tag.
ALTER TABLE queues ADD COLUMN call_script text NOT NULL DEFAULT '' CHECK (length(call_script) <= 4000);
ALTER TABLE tags ADD COLUMN call_script text NOT NULL DEFAULT '' CHECK (length(call_script) <= 4000);
