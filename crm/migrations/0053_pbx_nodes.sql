-- More than one PBX (issue 26): several Asterisk nodes behind a SIP proxy, one `pbxcrm ari` per node
-- (PBXCRM_NODE names it), all on this database. Nothing existing is converted: a single-node centre has
-- no rows here and calls.node stays NULL.

-- Each node's app says here, every few seconds, that it lives and whether its Asterisk answers (its ARI
-- websocket is up). A node is down when it says so or has not said anything for a while
-- (crm/nodes/state.py decides); the web shows it (Nodes page, wallboard).
CREATE TABLE pbx_nodes (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    ari_url     text NOT NULL DEFAULT '',
    connected   boolean NOT NULL DEFAULT false,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    -- When its Asterisk was last connected, and last lost.
    up_since    timestamptz,
    down_since  timestamptz,
    -- Calls in the app on that node at its last word.
    calls_now   integer NOT NULL DEFAULT 0 CHECK (calls_now >= 0)
);

-- Which node a call came in on (or was placed from). Each app's connections set pbxcrm.node
-- (crm/db.py), so every INSERT of its call log says it without a parameter of its own.
ALTER TABLE calls ADD COLUMN node text DEFAULT NULLIF(current_setting('pbxcrm.node', true), '');

-- The phones of every node, as their own node's Asterisk reports them, and which node's call holds
-- (rings or talks to) each: a phone busy for a call on node A is busy for node B (ari_app/cluster/).
CREATE TABLE phone_presence (
    device      text PRIMARY KEY,          -- PJSIP/7201, as Asterisk names the device
    node        text NOT NULL,             -- the node whose Asterisk has the endpoint
    state       text NOT NULL DEFAULT 'UNKNOWN',
    held_by     text,                      -- the node whose call holds it, NULL when none
    held_at     timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_presence_node_idx ON phone_presence (node);

-- A round robin queue's turn, shared by the nodes: each takes the next member after the last one rung
-- by any of them.
CREATE TABLE queue_turns (
    queue_key   bigint PRIMARY KEY,
    turn        bigint NOT NULL DEFAULT 0
);
