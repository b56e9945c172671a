-- Lines and DIDs (issue 15, FEATURES.md L2, L3): a trunk and the number dialled on it,
-- routed on its own, with business hours and holidays on the call centre's clock.
CREATE TABLE lines (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL CHECK (name <> '' AND length(name) <= 60),
    -- The PJSIP endpoint the line's calls come in on, and the number they dial (DID).
    trunk                 text NOT NULL CHECK (trunk ~ '^[A-Za-z0-9_.-]{1,40}$'),
    did                   text NOT NULL CHECK (did ~ '^\+?[0-9]{1,20}$'),
    -- The prompts callers hear; NULL: the trunk's or the call centre's (ari_app/caller_language.py).
    language              text CHECK (language IS NULL OR language IN ('ru', 'en')),
    -- Where calls go in business hours. Kinds to come (an IVR menu, voicemail) add their own target column.
    route_kind            text NOT NULL DEFAULT 'crm' CHECK (route_kind IN ('crm', 'queue', 'user')),
    route_queue_id        bigint REFERENCES queues (id),
    route_user_id         bigint REFERENCES users (id),
    -- Business hours: off, the line is always open (line_hours and line_holidays are then unused).
    hours_enabled         boolean NOT NULL DEFAULT false,
    -- Where calls go outside them.
    after_hours_kind      text NOT NULL DEFAULT 'hangup' CHECK (after_hours_kind IN ('hangup', 'queue', 'user')),
    after_hours_queue_id  bigint REFERENCES queues (id),
    after_hours_user_id   bigint REFERENCES users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,
    CHECK ((route_kind = 'queue') = (route_queue_id IS NOT NULL)),
    CHECK ((route_kind = 'user') = (route_user_id IS NOT NULL)),
    CHECK ((after_hours_kind = 'queue') = (after_hours_queue_id IS NOT NULL)),
    CHECK ((after_hours_kind = 'user') = (after_hours_user_id IS NOT NULL))
);
-- One live line per number on a trunk; a leading + is the same number.
CREATE UNIQUE INDEX lines_trunk_did_key ON lines (trunk, ltrim(did, '+')) WHERE deleted_at IS NULL;

-- Opening hours: a weekday's intervals (0 = Monday), or a holiday's own. An interval whose
-- closing time is not after its opening time ends on the next day (22:00-02:00; 00:00-00:00 is all day).
CREATE TABLE line_hours (
    line_id  bigint NOT NULL REFERENCES lines (id) ON DELETE CASCADE,
    weekday  smallint CHECK (weekday BETWEEN 0 AND 6),
    holiday  date,
    opens    time NOT NULL,
    closes   time NOT NULL,
    CHECK (num_nonnulls(weekday, holiday) = 1)
);
CREATE INDEX line_hours_line_idx ON line_hours (line_id);

-- Days the weekly hours do not apply: closed, or open only in the day's own line_hours.
CREATE TABLE line_holidays (
    line_id  bigint NOT NULL REFERENCES lines (id) ON DELETE CASCADE,
    day      date NOT NULL,
    name     text NOT NULL DEFAULT '' CHECK (length(name) <= 60),
    PRIMARY KEY (line_id, day)
);
