-- Web chat with site visitors (issue 23, FEATURES I3, B1; seed 002): the sites that carry the widget,
-- their visitors, the conversations with the page, referrer, user agent and address they started from,
-- the pages each visitor saw, and the messages both ways. crm/webchat owns the rules and the SQL.

-- ---- the sites that add the widget's <script> tag ----
CREATE TABLE chat_sites (
    id                    serial PRIMARY KEY,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- What the site's tag names (data-site="..."): public, not a secret.
    public_key            text NOT NULL UNIQUE CHECK (public_key ~ '^[A-Za-z0-9_-]{16,64}$'),
    -- Origins (scheme://host[:port]) whose pages may open the chat; none: nobody's.
    allowed_origins       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(allowed_origins) <= 50),
    -- The HMAC-SHA256 key the site signs a logged-in customer's identity with (crm/webchat/rules.py).
    identity_secret       text NOT NULL CHECK (length(identity_secret) BETWEEN 32 AND 200),
    -- Keep only the network of the visitor's address (IPv4 /24, IPv6 /48).
    anonymize_ip          boolean NOT NULL DEFAULT false,
    -- Who gets the task for a message left while no operator was online: a user, else a queue.
    offline_user_id       bigint REFERENCES users (id),
    offline_queue_id      bigint REFERENCES queues (id),
    enabled               boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now()
);

-- ---- the visitors (one per browser: the widget keeps a random token in localStorage) ----
CREATE TABLE chat_visitors (
    id              bigserial PRIMARY KEY,
    site_id         integer NOT NULL REFERENCES chat_sites (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    -- The identity the site signed (empty: an anonymous visitor), and what the visitor left.
    external_id     text NOT NULL DEFAULT '' CHECK (length(external_id) <= 200),
    name            text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    email           text NOT NULL DEFAULT '' CHECK (length(email) <= 320),
    phone           text NOT NULL DEFAULT '' CHECK (length(phone) <= 64),
    verified        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_visitors_external_idx ON chat_visitors (site_id, external_id) WHERE external_id <> '';

-- ---- conversations ----
CREATE TABLE chat_conversations (
    id               bigserial PRIMARY KEY,
    site_id          integer NOT NULL REFERENCES chat_sites (id),
    visitor_id       bigint NOT NULL REFERENCES chat_visitors (id),
    counterparty_id  bigint REFERENCES counterparties (id),
    -- operator: attached by an operator; auto: the visitor's phone or e-mail is on the card.
    attached_how     text CHECK (attached_how IN ('operator', 'auto')),
    -- waiting -> active (an operator took it) -> closed; offline: a message left with nobody online.
    status           text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'active', 'closed', 'offline')),
    operator_user_id bigint REFERENCES users (id),
    page_url         text NOT NULL DEFAULT '' CHECK (length(page_url) <= 2000),
    page_title       text NOT NULL DEFAULT '' CHECK (length(page_title) <= 500),
    referrer         text NOT NULL DEFAULT '' CHECK (length(referrer) <= 2000),
    user_agent       text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 1000),
    -- The client's address (web/client_address.py), or its network when the site anonymises.
    ip               text NOT NULL DEFAULT '',
    -- The offline message's task.
    task_id          bigint REFERENCES tasks (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    accepted_at      timestamptz,
    closed_at        timestamptz,
    CHECK (status <> 'waiting' OR operator_user_id IS NULL),
    CHECK (status <> 'active' OR operator_user_id IS NOT NULL)
);
CREATE INDEX chat_conversations_status_idx ON chat_conversations (status, created_at DESC);
CREATE INDEX chat_conversations_operator_idx ON chat_conversations (operator_user_id, created_at DESC);
CREATE INDEX chat_conversations_counterparty_idx ON chat_conversations (counterparty_id, created_at DESC);
CREATE INDEX chat_conversations_visitor_idx ON chat_conversations (visitor_id, created_at DESC);

-- ---- the pages a visitor saw (the widget reports each) ----
CREATE TABLE chat_pages (
    id               bigserial PRIMARY KEY,
    visitor_id       bigint NOT NULL REFERENCES chat_visitors (id) ON DELETE CASCADE,
    conversation_id  bigint REFERENCES chat_conversations (id) ON DELETE CASCADE,
    url              text NOT NULL CHECK (length(url) <= 2000),
    title            text NOT NULL DEFAULT '' CHECK (length(title) <= 500),
    referrer         text NOT NULL DEFAULT '' CHECK (length(referrer) <= 2000),
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_pages_visitor_idx ON chat_pages (visitor_id, at);
CREATE INDEX chat_pages_conversation_idx ON chat_pages (conversation_id, at);

-- ---- messages: plain text only, never HTML ----
CREATE TABLE chat_messages (
    id               bigserial PRIMARY KEY,
    conversation_id  bigint NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    sender           text NOT NULL CHECK (sender IN ('visitor', 'operator', 'system')),
    user_id          bigint REFERENCES users (id),
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((sender = 'operator') = (user_id IS NOT NULL))
);
CREATE INDEX chat_messages_conversation_idx ON chat_messages (conversation_id, id);
CREATE INDEX chat_messages_user_idx ON chat_messages (user_id, created_at) WHERE user_id IS NOT NULL;

-- The operators with the chat open (their invitation stream), seen within the last minute: "online".
-- Every web worker writes its own streams; the visitor's worker reads them all.
CREATE TABLE chat_operator_streams (
    stream_id     text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_operator_streams_seen_idx ON chat_operator_streams (seen_at);
