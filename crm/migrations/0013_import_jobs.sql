-- Excel imports (A8, K2, H8): a job per uploaded file, its progress and its report.
CREATE TABLE import_jobs (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    kind        text NOT NULL CHECK (kind IN ('counterparties', 'call_list')),
    mode        text NOT NULL CHECK (mode IN ('valid', 'all_or_nothing')),
    filename    text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'checking'
                CHECK (status IN ('checking', 'applying', 'done', 'refused', 'failed')),
    total       integer NOT NULL DEFAULT 0,
    checked     integer NOT NULL DEFAULT 0,
    applied     integer NOT NULL DEFAULT 0,
    rejected    jsonb NOT NULL DEFAULT '[]',
    message     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
