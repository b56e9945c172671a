-- SMS campaigns (issue 21, FEATURES I2): a text with placeholders sent to a list of recipients, approved
-- by a supervisor, started at its time and sent only inside its window in each recipient's time zone.
-- crm/sms/campaigns/model.py owns the statuses and who may move them.

CREATE TABLE sms_campaigns (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The text with {name}, {first_name}, {manager}; rendered per recipient.
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    author_id       bigint NOT NULL REFERENCES users (id),
    -- Our sending number (sms_numbers); NULL: the default number at the time of sending.
    own_number      text,
    -- draft -> awaiting_approval -> approved (scheduled) -> running <-> paused -> done | cancelled
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'awaiting_approval', 'approved', 'running', 'paused', 'done',
                                      'cancelled')),
    approved_by     bigint REFERENCES users (id),
    approved_at     timestamptz,
    starts_at       timestamptz,
    -- Local hours of the recipient: sent from window_from:00 up to window_to:00.
    window_from     smallint NOT NULL DEFAULT 9 CHECK (window_from BETWEEN 0 AND 23),
    window_to       smallint NOT NULL DEFAULT 21 CHECK (window_to BETWEEN 1 AND 24),
    max_parts       smallint NOT NULL DEFAULT 2 CHECK (max_parts BETWEEN 1 AND 10),
    -- Where the recipients came from, in words for the page (a tag filter, a saved filter, a file name).
    source          text NOT NULL DEFAULT '',
    -- The time zones of its recipients (the runner asks which are inside the window, not every row).
    zones           text[] NOT NULL DEFAULT '{}',
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (window_from < window_to)
);
CREATE INDEX sms_campaigns_author_idx ON sms_campaigns (author_id, id DESC);
CREATE INDEX sms_campaigns_active_idx ON sms_campaigns (id) WHERE status IN ('approved', 'running');

CREATE TABLE sms_campaign_recipients (
    id              bigserial PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES sms_campaigns (id) ON DELETE CASCADE,
    counterparty_id bigint REFERENCES counterparties (id),
    -- E.164 when it could be read; what the list or file said otherwise (skipped: invalid_number).
    phone           text NOT NULL DEFAULT '',
    -- The placeholders' values, and the text they made.
    name            text NOT NULL DEFAULT '',
    first_name      text NOT NULL DEFAULT '',
    manager         text NOT NULL DEFAULT '',
    body            text NOT NULL DEFAULT '',
    parts           smallint NOT NULL DEFAULT 0,
    tz              text NOT NULL DEFAULT '',
    -- new (just listed) -> pending (checked, waits for its window) -> queued (a message in sms_messages,
    -- whose status is the result) | skipped (skip_reason).
    status          text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'pending', 'queued', 'skipped')),
    skip_reason     text NOT NULL DEFAULT ''
                    CHECK (skip_reason IN ('', 'opted_out', 'invalid_number', 'too_long', 'duplicate',
                                           'cancelled')),
    message_id      bigint REFERENCES sms_messages (id),
    queued_at       timestamptz,
    CHECK ((status = 'skipped') = (skip_reason <> '')),
    CHECK ((status = 'queued') = (message_id IS NOT NULL))
);
-- The runner's batches: the next pending ones of a campaign in id order (those in a closed zone passed over).
CREATE INDEX sms_campaign_recipients_pending_idx ON sms_campaign_recipients (campaign_id, id)
    WHERE status = 'pending';
CREATE INDEX sms_campaign_recipients_new_idx ON sms_campaign_recipients (campaign_id, id) WHERE status = 'new';
-- The results page, paged in id order, and the counts per status.
CREATE INDEX sms_campaign_recipients_campaign_idx ON sms_campaign_recipients (campaign_id, id);
CREATE UNIQUE INDEX sms_campaign_recipients_message_idx ON sms_campaign_recipients (message_id)
    WHERE message_id IS NOT NULL;

ALTER TABLE sms_messages ADD COLUMN campaign_id bigint REFERENCES sms_campaigns (id);
CREATE INDEX sms_messages_campaign_idx ON sms_messages (campaign_id, status) WHERE campaign_id IS NOT NULL;

-- A campaign waiting for approval tells the supervisors; an approved or returned one tells its author.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('task_due', 'task_assigned', 'missed_call', 'queue_task', 'sms_in', 'sms_campaign'));
