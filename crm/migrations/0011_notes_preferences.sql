-- Notes on counterparties and tasks (B1, B3), and per-user preferences (timeline toggles, E1 filters).
CREATE TABLE notes (
    id              bigserial PRIMARY KEY,
    counterparty_id bigint REFERENCES counterparties (id),
    task_id         bigint REFERENCES tasks (id),
    author_user_id  bigint REFERENCES users (id),
    body            text NOT NULL CHECK (body <> ''),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    CHECK (counterparty_id IS NOT NULL OR task_id IS NOT NULL)
);
CREATE INDEX notes_counterparty_idx ON notes (counterparty_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX notes_task_idx ON notes (task_id, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE user_preferences (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key     text NOT NULL,
    value   jsonb NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE saved_filters (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    section    text NOT NULL CHECK (section IN ('clients', 'companies', 'tasks')),
    name       text NOT NULL CHECK (name <> '' AND length(name) <= 80),
    query      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, section, name)
);

CREATE INDEX calls_called_idx ON calls (called_normalized);
