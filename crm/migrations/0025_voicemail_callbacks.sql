-- Voicemail and callback requests instead of a hang-up (issue 15): a queue whose longest wait
-- passes offers its callers a callback ("press 1") and/or voicemail; a line or an IVR menu's key
-- may route to voicemail.

-- What a queue offers when its longest wait passes. Existing queues offer both.
ALTER TABLE queues ADD COLUMN offer text NOT NULL DEFAULT 'both'
    CHECK (offer IN ('callback', 'voicemail', 'both'));

-- A line's route, in or after business hours, may be voicemail.
ALTER TABLE lines DROP CONSTRAINT lines_route_kind_check,
    ADD CONSTRAINT lines_route_kind_check CHECK (route_kind IN ('crm', 'queue', 'user', 'ivr', 'voicemail'));
ALTER TABLE lines DROP CONSTRAINT lines_after_hours_kind_check,
    ADD CONSTRAINT lines_after_hours_kind_check
        CHECK (after_hours_kind IN ('hangup', 'queue', 'user', 'ivr', 'voicemail'));

-- And an IVR menu's key, or its timeout, may send the caller to voicemail.
ALTER TABLE ivr_menus DROP CONSTRAINT ivr_menus_timeout_kind_check,
    ADD CONSTRAINT ivr_menus_timeout_kind_check
        CHECK (timeout_kind IN ('crm', 'queue', 'user', 'ivr', 'hangup', 'voicemail'));
ALTER TABLE ivr_options DROP CONSTRAINT ivr_options_kind_check,
    ADD CONSTRAINT ivr_options_kind_check CHECK (kind IN ('crm', 'queue', 'user', 'ivr', 'hangup', 'voicemail'));

-- A call nobody talked on that ended with the caller asking to be called back, or leaving a
-- voicemail: still not answered (reports count it with the missed ones), but with its reason.
ALTER TABLE calls DROP CONSTRAINT calls_status_check,
    ADD CONSTRAINT calls_status_check
        CHECK (status IN ('ringing', 'answered', 'missed', 'busy', 'failed', 'callback', 'voicemail'));

CREATE TABLE voicemails (
    id               bigserial PRIMARY KEY,
    call_id          bigint NOT NULL REFERENCES calls (id),
    -- The client the caller's number belongs to; NULL: an unknown caller.
    counterparty_id  bigint REFERENCES counterparties (id),
    number           text NOT NULL DEFAULT '',
    -- Whose members call an unknown caller back (and may play the message).
    queue_id         bigint REFERENCES queues (id),
    -- The callback task the message came with.
    task_id          bigint REFERENCES tasks (id),
    path             text NOT NULL,
    format           text NOT NULL CHECK (format IN ('mp3', 'wav')),
    seconds          numeric NOT NULL CHECK (seconds >= 0),
    size_bytes       bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    listened_at      timestamptz,
    listened_by      bigint REFERENCES users (id)
);
CREATE UNIQUE INDEX voicemails_call_key ON voicemails (call_id);
CREATE INDEX voicemails_counterparty_idx ON voicemails (counterparty_id, created_at DESC);
CREATE INDEX voicemails_task_idx ON voicemails (task_id) WHERE task_id IS NOT NULL;
