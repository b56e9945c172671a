-- Outbound (issue 22, FEATURES H8, H9, G3): scheduled calls, auto-dial campaigns (preview, progressive,
-- predictive, with answering-machine detection), a do-not-call list, outsourcing customers and their
-- orders; every call and SMS made for an order links to it. crm/outbound/model.py owns the statuses,
-- outcomes and retry rules; crm/orders/ the orders; crm/scheduled_calls/ the planned calls.

-- ---- customers of an outsourcing call centre, and their users ----
CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE UNIQUE INDEX customers_name_key ON customers (lower(name)) WHERE deleted_at IS NULL;

-- A customer user sees only its customer's orders, their calls, recordings, SMS and reports (G3).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('operator', 'manager', 'supervisor', 'admin', 'customer'));
ALTER TABLE users ADD COLUMN customer_id bigint REFERENCES customers (id);
ALTER TABLE users ADD CONSTRAINT users_customer_check CHECK ((role = 'customer') = (customer_id IS NOT NULL));
ALTER TABLE ip_allow_entries DROP CONSTRAINT ip_allow_entries_role_check;
ALTER TABLE ip_allow_entries ADD CONSTRAINT ip_allow_entries_role_check
    CHECK (role IN ('operator', 'manager', 'supervisor', 'admin', 'customer'));

-- ---- orders (H9): a customer's job, a call list and a script, loaded once or on a schedule ----
CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customers (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- What the operator reads to the called person (plain text, shown escaped).
    script          text NOT NULL DEFAULT '' CHECK (length(script) <= 20000),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    -- Where the call list comes from: a file uploaded once, or a URL (CSV/Excel) read every reload_minutes.
    source_url      text NOT NULL DEFAULT '' CHECK (length(source_url) <= 2000),
    reload_minutes  integer CHECK (reload_minutes BETWEEN 5 AND 10080),
    -- The column that names a row across loads (a reload updates the row with the same key); '' = the phone.
    key_column      text NOT NULL DEFAULT '' CHECK (length(key_column) <= 100),
    next_load_at    timestamptz,
    last_loaded_at  timestamptz,
    -- The last load's outcome in words for the page ('' = fine), and its counts.
    last_error      text NOT NULL DEFAULT '',
    last_counts     jsonb NOT NULL DEFAULT '{}',
    -- A digest of the last body read: an unchanged file is not parsed again.
    last_digest     text NOT NULL DEFAULT '',
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id, id DESC);
CREATE INDEX orders_due_idx ON orders (next_load_at) WHERE source_url <> '' AND status = 'open';

-- One row of an order's call list, as the last load left it.
CREATE TABLE order_rows (
    id                bigserial PRIMARY KEY,
    order_id          bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    row_key           text NOT NULL,
    phone             text NOT NULL DEFAULT '',
    -- E.164 when the phone could be read; NULL: invalid (problem says why).
    phone_normalized  text,
    name              text NOT NULL DEFAULT '',
    -- Every column of the row as loaded (shown to the operator beside the script).
    data              jsonb NOT NULL DEFAULT '{}',
    counterparty_id   bigint REFERENCES counterparties (id),
    problem           text NOT NULL DEFAULT '',
    -- A row gone from the source on a reload is kept (its calls link to it) and marked.
    removed_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, row_key)
);
CREATE INDEX order_rows_phone_idx ON order_rows (phone_normalized) WHERE phone_normalized IS NOT NULL;

-- Every call and SMS made for an order links to it (a manual call from the order, a campaign's).
ALTER TABLE calls ADD COLUMN order_id bigint REFERENCES orders (id);
CREATE INDEX calls_order_idx ON calls (order_id, started_at DESC) WHERE order_id IS NOT NULL;
ALTER TABLE sms_messages ADD COLUMN order_id bigint REFERENCES orders (id);
CREATE INDEX sms_messages_order_idx ON sms_messages (order_id, id DESC) WHERE order_id IS NOT NULL;

-- ---- the do-not-call list: global (campaign_id NULL) or one campaign's ----
CREATE TABLE dial_campaigns (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    order_id         bigint REFERENCES orders (id),
    -- preview: the agent sees the card, then dials; progressive: one call per free agent;
    -- predictive: more calls than free agents, paced under drop_limit (crm/outbound/pacing.py).
    mode             text NOT NULL DEFAULT 'progressive' CHECK (mode IN ('preview', 'progressive', 'predictive')),
    -- Who takes the answered calls: the campaign's own agents (dial_campaign_agents), or a queue's.
    queue_id         bigint REFERENCES queues (id),
    status           text NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'running', 'paused', 'done', 'cancelled')),
    -- Local hours of the called person: dialled from window_from:00 up to window_to:00.
    window_from      smallint NOT NULL DEFAULT 9 CHECK (window_from BETWEEN 0 AND 23),
    window_to        smallint NOT NULL DEFAULT 21 CHECK (window_to BETWEEN 1 AND 24),
    -- Per outcome (busy, no_answer, machine, failed): {"attempts": n, "after_minutes": m}.
    retry_rules      jsonb NOT NULL DEFAULT '{}',
    -- Answering-machine detection (Asterisk's AMD()): on/off, its parameters in ms, and what a machine gets.
    amd              boolean NOT NULL DEFAULT false,
    amd_settings     jsonb NOT NULL DEFAULT '{}',
    machine_action   text NOT NULL DEFAULT 'hangup' CHECK (machine_action IN ('hangup', 'agent')),
    -- Answered calls with no free agent within connect_seconds, as a share of answered, kept under this (%).
    drop_limit       numeric(4, 2) NOT NULL DEFAULT 3 CHECK (drop_limit > 0 AND drop_limit <= 50),
    max_ratio        numeric(4, 2) NOT NULL DEFAULT 3 CHECK (max_ratio >= 1 AND max_ratio <= 10),
    ring_seconds     smallint NOT NULL DEFAULT 25 CHECK (ring_seconds BETWEEN 5 AND 120),
    -- The number shown to the called person ('' = the trunk's).
    caller_id        text NOT NULL DEFAULT '' CHECK (length(caller_id) <= 40),
    source           text NOT NULL DEFAULT '',
    author_id        bigint NOT NULL REFERENCES users (id),
    started_at       timestamptz,
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (window_from < window_to)
);
CREATE INDEX dial_campaigns_running_idx ON dial_campaigns (id) WHERE status = 'running';

CREATE TABLE dial_campaign_agents (
    campaign_id bigint NOT NULL REFERENCES dial_campaigns (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (campaign_id, user_id)
);

CREATE TABLE dnc_numbers (
    id          bigserial PRIMARY KEY,
    -- E.164.
    number      text NOT NULL CHECK (number ~ '^\+[0-9]{6,15}$'),
    campaign_id bigint REFERENCES dial_campaigns (id) ON DELETE CASCADE,
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    added_by    bigint REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dnc_numbers_key ON dnc_numbers (number, coalesce(campaign_id, 0));

-- A number to call in a campaign, with its attempts so far and when it may be tried next.
CREATE TABLE dial_campaign_numbers (
    id                bigserial PRIMARY KEY,
    campaign_id       bigint NOT NULL REFERENCES dial_campaigns (id) ON DELETE CASCADE,
    counterparty_id   bigint REFERENCES counterparties (id),
    order_row_id      bigint REFERENCES order_rows (id),
    -- As listed, and E.164 (NULL: invalid, skipped).
    number            text NOT NULL DEFAULT '',
    number_normalized text,
    name              text NOT NULL DEFAULT '',
    tz                text NOT NULL DEFAULT '',
    -- pending (waits for next_at and its window) -> dialing (an attempt is live) -> pending (retry) | done
    -- (answered, or out of attempts: last_outcome says) | skipped (skip_reason).
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dialing', 'done', 'skipped')),
    skip_reason       text NOT NULL DEFAULT ''
                      CHECK (skip_reason IN ('', 'dnc', 'invalid_number', 'duplicate', 'cancelled')),
    attempts          integer NOT NULL DEFAULT 0,
    -- Attempts per outcome so far ({"busy": 2}): the retry rules count them.
    outcome_counts    jsonb NOT NULL DEFAULT '{}',
    last_outcome      text NOT NULL DEFAULT '',
    next_at           timestamptz NOT NULL DEFAULT now(),
    -- preview: the agent it is offered to, until it dials or skips it.
    offered_to        bigint REFERENCES users (id),
    -- A dialing row whose process died is taken back after this.
    lease_until       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'skipped') = (skip_reason <> ''))
);
CREATE INDEX dial_campaign_numbers_due_idx ON dial_campaign_numbers (campaign_id, next_at) WHERE status = 'pending';
CREATE INDEX dial_campaign_numbers_campaign_idx ON dial_campaign_numbers (campaign_id, id);

-- Every attempt with its outcome: the dashboard, the drop rate and the retry rules read them.
CREATE TABLE dial_attempts (
    id            bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES dial_campaigns (id) ON DELETE CASCADE,
    number_id     bigint NOT NULL REFERENCES dial_campaign_numbers (id) ON DELETE CASCADE,
    channel_id    text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    bridged_at    timestamptz,
    ended_at      timestamptz,
    -- '' while live; then answered (bridged to an agent), busy, no_answer, failed, machine,
    -- dropped (answered, no agent in time), cancelled (paused or stopped mid-ring).
    outcome       text NOT NULL DEFAULT ''
                  CHECK (outcome IN ('', 'answered', 'busy', 'no_answer', 'failed', 'machine', 'dropped',
                                     'cancelled')),
    hangup_cause  integer,
    amd_status    text NOT NULL DEFAULT '',
    amd_cause     text NOT NULL DEFAULT '',
    agent_user_id bigint REFERENCES users (id),
    call_id       bigint REFERENCES calls (id)
);
CREATE INDEX dial_attempts_campaign_idx ON dial_attempts (campaign_id, id);
CREATE INDEX dial_attempts_number_idx ON dial_attempts (number_id, id);
CREATE INDEX dial_attempts_live_idx ON dial_attempts (campaign_id) WHERE outcome = '';

-- A click-to-call made for an order (its call links to it), or a preview campaign's attempt (the agent
-- dials the offered number: the attempt's outcome is the call's).
ALTER TABLE call_requests ADD COLUMN order_id bigint REFERENCES orders (id),
                          ADD COLUMN dial_attempt_id bigint REFERENCES dial_attempts (id);

-- ---- scheduled calls (H8): at due_at the user is reminded, or the PBX dials ----
CREATE TABLE scheduled_calls (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    -- As typed (shown), and as dialled (national digits with the dial prefix, as click-to-call).
    number          text NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
    counterparty_id bigint REFERENCES counterparties (id),
    task_id         bigint REFERENCES tasks (id) ON DELETE SET NULL,
    order_id        bigint REFERENCES orders (id),
    -- In a campaign: the client is dialled first at due_at and bridged to a free agent.
    campaign_id     bigint REFERENCES dial_campaigns (id) ON DELETE CASCADE,
    due_at          timestamptz NOT NULL,
    -- remind: a browser notification and an e-mail; dial: the PBX rings the user, then the number.
    action          text NOT NULL DEFAULT 'remind' CHECK (action IN ('remind', 'dial')),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'reminded', 'dialing', 'done', 'failed', 'cancelled')),
    error           text NOT NULL DEFAULT '',
    request_id      bigint REFERENCES call_requests (id),
    emailed_at      timestamptz,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheduled_calls_due_idx ON scheduled_calls (due_at) WHERE status = 'pending';
CREATE INDEX scheduled_calls_user_idx ON scheduled_calls (user_id, due_at);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('task_due', 'task_assigned', 'missed_call', 'queue_task', 'sms_in', 'sms_campaign',
                    'scheduled_call'));

-- The campaign dialer's channels and the scheduler's wake-ups are NOTIFYed on pbxcrm_dial_campaigns.
