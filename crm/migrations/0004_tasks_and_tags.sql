-- Tasks and deals (FEATURES.md C1-C4) and tags (D1-D2).
CREATE TABLE task_types (
    id       bigserial PRIMARY KEY,
    name     text NOT NULL CHECK (name <> ''),
    is_deal  boolean NOT NULL DEFAULT false,
    archived boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX task_types_name_key ON task_types (lower(name));
INSERT INTO task_types (name, is_deal) VALUES
    ('Task', false), ('Call back', false), ('Meeting', false), ('Scheduled call', false), ('Deal', true);

CREATE TABLE tasks (
    -- The id is the task number users quote.
    id                  bigserial PRIMARY KEY,
    title               text NOT NULL CHECK (title <> ''),
    type_id             bigint NOT NULL REFERENCES task_types (id),
    status              text NOT NULL DEFAULT 'new'
                        CHECK (status IN ('new', 'in_progress', 'done', 'cancelled')),
    responsible_user_id bigint NOT NULL REFERENCES users (id),
    author_user_id      bigint REFERENCES users (id),
    counterparty_id     bigint REFERENCES counterparties (id),
    call_id             bigint REFERENCES calls (id),
    deadline_date       date,
    deadline_time       time,
    remark              text NOT NULL DEFAULT '',
    amount              numeric(16, 2),
    outcome             text CHECK (outcome IN ('won', 'lost')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    deleted_at          timestamptz,
    CHECK (deadline_time IS NULL OR deadline_date IS NOT NULL)
);
CREATE INDEX tasks_responsible_open_idx ON tasks (responsible_user_id, deadline_date)
    WHERE status IN ('new', 'in_progress') AND deleted_at IS NULL;
CREATE INDEX tasks_counterparty_idx ON tasks (counterparty_id, created_at DESC);
CREATE INDEX tasks_title_trgm ON tasks USING gin (lower(title) gin_trgm_ops);

CREATE TABLE task_participants (
    task_id bigint NOT NULL REFERENCES tasks (id),
    user_id bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (task_id, user_id)
);

CREATE TABLE tags (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    -- Roles allowed to put this tag on things; empty means everyone.
    allowed_roles text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tags_name_key ON tags (lower(name));

CREATE TABLE counterparty_tags (
    counterparty_id bigint NOT NULL REFERENCES counterparties (id),
    tag_id          bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (counterparty_id, tag_id)
);
CREATE INDEX counterparty_tags_tag_idx ON counterparty_tags (tag_id);

CREATE TABLE task_tags (
    task_id bigint NOT NULL REFERENCES tasks (id),
    tag_id  bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (task_id, tag_id)
);
CREATE INDEX task_tags_tag_idx ON task_tags (tag_id);
