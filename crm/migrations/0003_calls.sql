-- The call log and recordings (FEATURES.md H1, H2, H7).
CREATE TABLE calls (
    id                bigserial PRIMARY KEY,
    -- Asterisk's unique id of the channel the call entered on.
    channel_id        text NOT NULL UNIQUE,
    linked_id         text,
    direction         text NOT NULL CHECK (direction IN ('incoming', 'outgoing', 'internal')),
    caller_number     text NOT NULL DEFAULT '',
    caller_normalized text,
    caller_name       text NOT NULL DEFAULT '',
    called_number     text NOT NULL DEFAULT '',
    called_normalized text,
    -- The trunk or endpoint the call came in on.
    line              text NOT NULL DEFAULT '',
    started_at        timestamptz NOT NULL,
    answered_at       timestamptz,
    ended_at          timestamptz,
    wait_seconds      numeric GENERATED ALWAYS AS (
        round(extract(epoch FROM coalesce(answered_at, ended_at) - started_at), 3)) STORED,
    talk_seconds      numeric GENERATED ALWAYS AS (
        round(extract(epoch FROM ended_at - answered_at), 3)) STORED,
    status            text NOT NULL DEFAULT 'ringing'
                      CHECK (status IN ('ringing', 'answered', 'missed', 'busy', 'failed')),
    hangup_cause      integer,
    counterparty_id   bigint REFERENCES counterparties (id),
    operator_user_id  bigint REFERENCES users (id),
    -- The route taken, step by step, with reasons.
    route             jsonb NOT NULL DEFAULT '[]',
    comment           text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_started_idx ON calls (started_at DESC);
CREATE INDEX calls_counterparty_idx ON calls (counterparty_id, started_at DESC);
CREATE INDEX calls_operator_idx ON calls (operator_user_id, started_at DESC);
CREATE INDEX calls_caller_idx ON calls (caller_normalized);

CREATE TABLE recordings (
    id               bigserial PRIMARY KEY,
    call_id          bigint NOT NULL REFERENCES calls (id),
    path             text NOT NULL,
    format           text NOT NULL CHECK (format IN ('mp3', 'wav')),
    duration_seconds numeric,
    size_bytes       bigint,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_call_idx ON recordings (call_id);
