-- Transfers (issue 15): every operator who talked on a call, in order, with talk seconds each.
--
-- A leg is one person on our side of the conversation: the operator or manager who answered,
-- each one a transfer put through, or a number outside the call was transferred to (user_id
-- NULL, number set). The call row keeps its operator_user_id as it was: the first who answered
-- (the reports' "answered by" and the call's listening rights start from it); the legs add the
-- others, and whoever talked on a call may listen to it and change it (crm/calls/permissions.py).
CREATE TABLE call_legs (
    id             bigserial PRIMARY KEY,
    call_id        bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    position       integer NOT NULL CHECK (position >= 1),
    user_id        bigint REFERENCES users (id),
    -- The user's name when the leg began, or the number talked to.
    name           text NOT NULL DEFAULT '',
    number         text NOT NULL DEFAULT '',
    -- How the leg began: answered (the call's first), a blind or attended transfer from a phone,
    -- or a transfer from the web.
    how            text NOT NULL DEFAULT 'answered' CHECK (how IN ('answered', 'blind', 'attended', 'web')),
    transferred_by bigint REFERENCES users (id),
    answered_at    timestamptz NOT NULL,
    ended_at       timestamptz,
    talk_seconds   numeric GENERATED ALWAYS AS (round(extract(epoch FROM ended_at - answered_at), 3)) STORED,
    UNIQUE (call_id, position)
);
CREATE INDEX call_legs_user_idx ON call_legs (user_id) WHERE user_id IS NOT NULL;

-- The calls answered before this table existed had one leg each: their operator's.
INSERT INTO call_legs (call_id, position, user_id, name, how, answered_at, ended_at)
SELECT c.id, 1, c.operator_user_id, coalesce(u.full_name, ''), 'answered', c.answered_at, c.ended_at
FROM calls c LEFT JOIN users u ON u.id = c.operator_user_id
WHERE c.answered_at IS NOT NULL;

-- Transfers asked for in the web UI: the Stasis app (LISTEN pbxcrm_transfers) puts them through.
CREATE TABLE transfer_requests (
    id              bigserial PRIMARY KEY,
    call_id         bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    channel_id      text NOT NULL,
    requested_by    bigint NOT NULL REFERENCES users (id),
    target_kind     text NOT NULL CHECK (target_kind IN ('user', 'queue', 'number')),
    target_user_id  bigint REFERENCES users (id),
    target_queue_id bigint REFERENCES queues (id),
    target_number   text CHECK (target_number IS NULL OR target_number ~ '^\+?[0-9]{2,20}$'),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'taken', 'done', 'failed')),
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((target_kind = 'user') = (target_user_id IS NOT NULL)),
    CHECK ((target_kind = 'queue') = (target_queue_id IS NOT NULL)),
    CHECK ((target_kind = 'number') = (target_number IS NOT NULL))
);
CREATE INDEX transfer_requests_pending_idx ON transfer_requests (created_at) WHERE status = 'pending';
