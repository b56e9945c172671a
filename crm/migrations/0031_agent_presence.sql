-- Agent presence in queues (issue 18): an agent logs in to and out of queues, pauses with a
-- reason and resumes; after a queue call it is in wrap-up for the queue's seconds. The app
-- rings only logged-in, unpaused agents out of wrap-up (crm/agents/state.py).
--
-- Default for installs that never use presence: a user with no agent_states row is logged in
-- to all of its queues and not paused, so every queue member is rung as before. Nothing to
-- convert: existing members simply have no row yet.

-- Why an agent pauses: the admin keeps the list. Built-in reasons have a code (their name is
-- translated, crm/labels.py PAUSE_REASON); the admin's own have a name as typed. The desk
-- phone pauses with *74N, N the reason's place in the list (position, then id) from 1.
CREATE TABLE pause_reasons (
    id         bigserial PRIMARY KEY,
    code       text UNIQUE CHECK (code ~ '^[a-z_]{1,40}$'),
    name       text NOT NULL DEFAULT '' CHECK (length(name) <= 60),
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK (code IS NOT NULL OR name <> '')
);
CREATE UNIQUE INDEX pause_reasons_name_key ON pause_reasons (lower(name)) WHERE deleted_at IS NULL AND name <> '';
INSERT INTO pause_reasons (code, position) VALUES ('lunch', 1), ('training', 2), ('after_call_work', 3);

-- An agent's state now, one row per user once it used presence (no row: logged in, not paused).
CREATE TABLE agent_states (
    user_id         bigint PRIMARY KEY REFERENCES users (id),
    logged_in       boolean NOT NULL DEFAULT true,
    paused          boolean NOT NULL DEFAULT false,
    pause_reason_id bigint REFERENCES pause_reasons (id),
    -- Not rung before this (after a queue call: the queue's wrap-up seconds); written by the app.
    wrapup_until    timestamptz,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (logged_in OR NOT paused)
);

-- The queues a logged-in agent logged out of one by one (a row: not rung by that queue).
CREATE TABLE agent_queue_logouts (
    user_id  bigint NOT NULL REFERENCES users (id),
    queue_id bigint NOT NULL REFERENCES queues (id),
    since    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, queue_id)
);

-- Every change, with its time: the agent reports (logged-in time, paused time by reason) read it.
-- queue_id: a change for one queue only (NULL: all the agent's queues); source: where it was made.
CREATE TABLE agent_events (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    queue_id        bigint REFERENCES queues (id),
    event           text NOT NULL CHECK (event IN ('login', 'logout', 'pause', 'resume', 'wrapup_start',
                                                   'wrapup_end')),
    pause_reason_id bigint REFERENCES pause_reasons (id),
    source          text NOT NULL CHECK (source IN ('web', 'api', 'phone', 'app')),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_events_user_at_idx ON agent_events (user_id, at);
CREATE INDEX agent_events_at_idx ON agent_events (at);

-- After a call from this queue an agent is not rung for this long (0: rung again at once).
ALTER TABLE queues ADD COLUMN wrapup_seconds integer NOT NULL DEFAULT 0 CHECK (wrapup_seconds BETWEEN 0 AND 3600);
