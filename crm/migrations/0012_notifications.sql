-- Notifications (J1-J2): an outbox each user's browser and mailbox are served from.
CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('task_due', 'task_assigned', 'missed_call')),
    title           text NOT NULL,
    body            text NOT NULL DEFAULT '',
    url             text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    browser_sent_at timestamptz,
    email_sent_at   timestamptz,
    email_error     text
);
CREATE INDEX notifications_unsent_idx ON notifications (id) WHERE browser_sent_at IS NULL OR email_sent_at IS NULL;
ALTER TABLE tasks ADD COLUMN due_notified_at timestamptz;
