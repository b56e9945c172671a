-- Rules for calls and recordings (issue 17, G2): who may see a call, listen to its recording and
-- edit its comment and counterparty. Kept by the admin (/admin/call-rules) and decided by
-- crm/calls/rules.py: for an action, the first rule (by position, then id) whose conditions all
-- hold decides; none holding is deny. An empty array or a NULL condition holds for every call.
-- `kind` is the kind of document (calls now; SMS, chats and e-mails later).
CREATE TABLE call_rules (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL DEFAULT 'call' CHECK (kind IN ('call')),
    position     integer NOT NULL CHECK (position BETWEEN 1 AND 9999),
    action       text NOT NULL CHECK (action IN ('see', 'listen', 'edit')),
    effect       text NOT NULL CHECK (effect IN ('allow', 'deny')),
    roles        text[] NOT NULL DEFAULT '{}'
                 CHECK (roles <@ ARRAY['operator', 'manager', 'supervisor', 'admin']::text[]),
    -- The user took part: answered it, placed it, or talked on it after a transfer.
    took_part    boolean,
    directions   text[] NOT NULL DEFAULT '{}'
                 CHECK (directions <@ ARRAY['incoming', 'outgoing', 'internal']::text[]),
    finished     boolean,
    line_ids     bigint[] NOT NULL DEFAULT '{}',
    queue_ids    bigint[] NOT NULL DEFAULT '{}',
    -- The user is the responsible manager of the counterparty the call is on now.
    responsible  boolean,
    -- The user is the call's owner: the responsible manager of its client when it happened.
    owner        boolean,
    -- The counterparty the call is on has been deleted.
    card_deleted boolean,
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_rules_order_idx ON call_rules (kind, position, id);

-- The behaviour before this table, as rules (crm/calls/rules.py DEFAULT_RULES says the same).
INSERT INTO call_rules (position, action, effect, roles, took_part, owner, responsible, card_deleted, note) VALUES
    (10, 'see', 'allow', '{supervisor,admin}', NULL, NULL, NULL, NULL, ''),
    (20, 'see', 'allow', '{}', true, NULL, NULL, NULL, ''),
    (30, 'see', 'allow', '{}', NULL, NULL, NULL, false, ''),
    (40, 'listen', 'allow', '{supervisor,admin}', NULL, NULL, NULL, NULL, ''),
    (50, 'listen', 'allow', '{}', true, NULL, NULL, NULL, ''),
    (60, 'listen', 'allow', '{manager}', NULL, true, NULL, NULL, ''),
    (70, 'edit', 'allow', '{supervisor,admin}', NULL, NULL, NULL, NULL, ''),
    (80, 'edit', 'allow', '{}', true, NULL, NULL, NULL, ''),
    (90, 'edit', 'allow', '{}', NULL, NULL, true, NULL, '');
