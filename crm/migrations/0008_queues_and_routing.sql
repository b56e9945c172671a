-- Queues defined in the CRM, and what routes a caller to one (FEATURES.md H4).
CREATE TABLE queues (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL CHECK (name <> '' AND length(name) <= 60),
    strategy         text NOT NULL DEFAULT 'ringall' CHECK (strategy IN ('ringall', 'roundrobin')),
    -- How long one attempt rings a member's phone.
    ring_seconds     integer NOT NULL DEFAULT 15 CHECK (ring_seconds BETWEEN 2 AND 120),
    -- How long a caller waits in this queue before the call counts as missed here.
    max_wait_seconds integer NOT NULL DEFAULT 120 CHECK (max_wait_seconds BETWEEN 5 AND 3600),
    moh_class        text NOT NULL DEFAULT 'default' CHECK (moh_class ~ '^[A-Za-z0-9_-]{1,40}$'),
    is_default       boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
CREATE UNIQUE INDEX queues_name_key ON queues (lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX queues_one_default ON queues (is_default) WHERE is_default AND deleted_at IS NULL;
INSERT INTO queues (name, is_default) VALUES ('Default', true);

CREATE TABLE queue_members (
    queue_id bigint NOT NULL REFERENCES queues (id),
    user_id  bigint NOT NULL REFERENCES users (id),
    position integer NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, user_id)
);
CREATE INDEX queue_members_user_idx ON queue_members (user_id);

-- A client, a company (for its clients) or a tag may send callers to a queue
-- instead of the responsible manager: suppliers straight to purchasing.
ALTER TABLE counterparties ADD COLUMN queue_id bigint REFERENCES queues (id);
ALTER TABLE tags ADD COLUMN queue_id bigint REFERENCES queues (id);
ALTER TABLE calls ADD COLUMN queue_id bigint REFERENCES queues (id);
