-- SMS (issue 21; FEATURES I1, I2, B1, A7): the gateways the admin sets up, our sending numbers (each
-- sent through one gateway), every message in and out with its parts and its status history.
-- Campaigns add their own tables and sms_messages.campaign_id in the next migration.

CREATE TABLE sms_gateways (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    -- smpp: an SMPP 3.4 provider; sip: a GSM gateway speaking SIP MESSAGE through Asterisk;
    -- http: a service with a JSON POST and a signed delivery webhook.
    kind        text NOT NULL CHECK (kind IN ('smpp', 'sip', 'http')),
    -- Per kind (crm/sms/gateways.py checks it): host, port, system_id, password, window, rate ...
    config      jsonb NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sms_numbers (
    -- Our number, E.164 like contacts.normalized; what the recipient sees as the sender.
    number      text PRIMARY KEY CHECK (number <> ''),
    gateway_id  integer NOT NULL REFERENCES sms_gateways (id),
    is_default  boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX sms_numbers_one_default ON sms_numbers (is_default) WHERE is_default;

CREATE TABLE sms_messages (
    id              bigserial PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('out', 'in')),
    -- The other side: E.164 (contacts.normalized), and the card it belongs to once known.
    phone           text NOT NULL CHECK (phone <> ''),
    counterparty_id bigint REFERENCES counterparties (id),
    own_number      text NOT NULL DEFAULT '',
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    encoding        text NOT NULL DEFAULT 'gsm7' CHECK (encoding IN ('gsm7', 'ucs2')),
    parts           smallint NOT NULL DEFAULT 1 CHECK (parts >= 1),
    gateway_id      integer REFERENCES sms_gateways (id),
    -- Who wrote it (NULL: a campaign's, or an incoming one).
    user_id         bigint REFERENCES users (id),
    -- queued -> submitting -> submitted -> delivered | undelivered | expired; failed from any
    -- unfinished state; received for incoming. crm/sms/model.py owns the transitions.
    status          text NOT NULL CHECK (status IN ('queued', 'submitting', 'submitted', 'delivered',
                                                    'undelivered', 'expired', 'failed', 'received')),
    status_at       timestamptz NOT NULL DEFAULT now(),
    error           text NOT NULL DEFAULT '',
    -- The sender's bookkeeping: tries made, when the next may be, and which worker holds it until when.
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    claimed_until   timestamptz,
    -- An incoming one nobody has read yet (the chat's unread mark, the manager's notification).
    read_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_messages_counterparty_idx ON sms_messages (counterparty_id, created_at DESC, id DESC);
CREATE INDEX sms_messages_phone_idx ON sms_messages (phone, created_at DESC);
CREATE INDEX sms_messages_created_idx ON sms_messages (created_at DESC, id DESC);
CREATE INDEX sms_messages_due_idx ON sms_messages (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX sms_messages_in_flight_idx ON sms_messages (claimed_until) WHERE status = 'submitting';

-- One row per part handed to the gateway: delivery receipts name the provider's message id.
CREATE TABLE sms_parts (
    message_id          bigint NOT NULL REFERENCES sms_messages (id) ON DELETE CASCADE,
    seq                 smallint NOT NULL CHECK (seq >= 1),
    gateway_id          integer NOT NULL REFERENCES sms_gateways (id),
    provider_message_id text,
    status              text NOT NULL DEFAULT 'submitted'
                        CHECK (status IN ('submitted', 'delivered', 'undelivered', 'expired', 'failed')),
    status_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, seq)
);
CREATE UNIQUE INDEX sms_parts_provider_idx ON sms_parts (gateway_id, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every status a message took, with its time (the card's chat shows it on hover; reports count it).
CREATE TABLE sms_status_history (
    id          bigserial PRIMARY KEY,
    message_id  bigint NOT NULL REFERENCES sms_messages (id) ON DELETE CASCADE,
    status      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_status_history_message_idx ON sms_status_history (message_id, at);

-- Do not text (I2): the card's flag; a "STOP" reply sets it too (with the time and why).
ALTER TABLE counterparties ADD COLUMN sms_opt_out_at timestamptz;
ALTER TABLE counterparties ADD COLUMN sms_opt_out_reason text NOT NULL DEFAULT '';
-- A number that said STOP but is on no card yet.
CREATE TABLE sms_opt_outs (
    phone       text PRIMARY KEY,
    reason      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);

-- An incoming SMS tells the responsible manager in the browser, and by e-mail if they ask for it.
ALTER TABLE users ADD COLUMN sms_email_notify boolean NOT NULL DEFAULT false;
-- A notification the user asked not to get by e-mail (an incoming SMS, unless sms_email_notify).
ALTER TABLE notifications ADD COLUMN email_wanted boolean NOT NULL DEFAULT true;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('task_due', 'task_assigned', 'missed_call', 'queue_task', 'sms_in'));
