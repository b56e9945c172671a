-- Users, roles, web sessions and CRM-wide settings (FEATURES.md G1, G5).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL CHECK (login ~ '^[A-Za-z0-9._@-]{2,64}$'),
    full_name     text NOT NULL CHECK (full_name <> ''),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('operator', 'manager', 'supervisor', 'admin')),
    -- The user's PJSIP endpoint: where calls for this user ring.
    extension     text CHECK (extension ~ '^[0-9]{2,6}$'),
    email         text,
    is_blocked    boolean NOT NULL DEFAULT false,
    -- Deleted users stay, so their name stays on the calls and tasks they touched.
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_login_key ON users (lower(login));
CREATE UNIQUE INDEX users_extension_key ON users (extension) WHERE deleted_at IS NULL;

CREATE TABLE web_sessions (
    -- sha256 of the cookie's token: a copy of this table opens no session.
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    remote_addr  text
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

CREATE TABLE app_settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES users (id)
);

-- Every change, attributed to a user and kept (G5).
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    bigint REFERENCES users (id),
    entity     text NOT NULL,
    entity_id  bigint,
    action     text NOT NULL,
    changes    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, at DESC);
