-- Click-to-call requests (H6): the web asks, the Stasis app (LISTEN pbxcrm_call_requests) dials.
CREATE TABLE call_requests (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    extension    text NOT NULL,
    number       text NOT NULL,
    requested_by bigint REFERENCES users (id),
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'ringing user', 'dialing', 'done', 'failed')),
    error        text,
    channel_id   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_requests_pending_idx ON call_requests (created_at) WHERE status = 'pending';
