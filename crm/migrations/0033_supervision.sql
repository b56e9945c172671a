-- Listen-in, whisper and barge (issue 18): a supervisor asks in the web to join a live call; the
-- Stasis app rings the supervisor's phone and, when it answers, snoops on the operator's channel
-- (listen, whisper) or adds the phone to the call's bridge (barge). The web writes a row and
-- NOTIFYs pbxcrm_supervision (crm/supervision/queries.py); the app takes it up (ari_app/supervision/).
-- The call's own row, legs and recording are not touched: this table is the only trace besides the audit.
CREATE TABLE supervision_requests (
    id            bigserial PRIMARY KEY,
    call_id       bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    channel_id    text NOT NULL,
    supervisor_id bigint NOT NULL REFERENCES users (id),
    extension     text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('listen', 'whisper', 'barge')),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'ringing', 'joined', 'done', 'failed')),
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    joined_at     timestamptz,
    ended_at      timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervision_requests_pending_idx ON supervision_requests (created_at) WHERE status = 'pending';
CREATE INDEX supervision_requests_call_idx ON supervision_requests (call_id);
