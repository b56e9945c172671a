-- Shop orders (issue 24, FEATURES K1, seed 002): orders placed in a client's web shop, loaded from the shop
-- (a 1C CommerceML exchange, a signed WooCommerce-shaped webhook, a file pulled from a URL), each on the
-- card of the counterparty it was matched to by phone or e-mail. Not the outsourcing customers' orders of
-- issue 22 (tables orders, order_rows): those are call lists. crm/shop_orders/ owns these.

-- ---- where shop orders come from: one row per shop and protocol, set up by an admin ----
CREATE TABLE shop_sources (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- commerceml: the shop's 1C exchange calls us (or we pull its XML from url); webhook: a signed JSON
    -- POST per order (WooCommerce's shape); feed: a CSV, Excel or JSON list pulled from url.
    kind            text NOT NULL CHECK (kind IN ('commerceml', 'webhook', 'feed')),
    -- The source's part of its machine URL (/shop-orders/1c/<key>/exchange, /shop-orders/webhook/<key>).
    key             text NOT NULL UNIQUE CHECK (key ~ '^[A-Za-z0-9_-]{16,64}$'),
    -- The 1C exchange's Basic auth login; its password and the webhook's HMAC secret are `secret`.
    login           text NOT NULL DEFAULT '' CHECK (length(login) <= 100),
    secret          text NOT NULL DEFAULT '' CHECK (length(secret) <= 200),
    url             text NOT NULL DEFAULT '' CHECK (length(url) <= 2000),
    reload_minutes  integer CHECK (reload_minutes BETWEEN 5 AND 10080),
    active          boolean NOT NULL DEFAULT true,
    -- New cards made from this shop's orders get this manager; tasks and notices go to the card's
    -- manager, else this one.
    manager_user_id bigint REFERENCES users (id),
    -- The rule for a new order: tell the manager; make a task (of this type, due in N minutes).
    notify_manager  boolean NOT NULL DEFAULT false,
    make_task       boolean NOT NULL DEFAULT false,
    task_type_id    bigint REFERENCES task_types (id),
    task_due_minutes integer NOT NULL DEFAULT 30 CHECK (task_due_minutes BETWEEN 0 AND 100000),
    next_load_at    timestamptz,
    last_loaded_at  timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_counts     jsonb NOT NULL DEFAULT '{}',
    last_digest     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_sources_due_idx ON shop_sources (next_load_at) WHERE url <> '' AND active;

-- ---- one order, keyed by its source and the shop's own id: a re-sent order updates it ----
CREATE TABLE shop_orders (
    id               bigserial PRIMARY KEY,
    source_id        bigint NOT NULL REFERENCES shop_sources (id),
    external_id      text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    number           text NOT NULL DEFAULT '',
    -- As the shop words it ("processing", "[N] Принят"); is_open: not finished, cancelled or refunded.
    status           text NOT NULL DEFAULT '',
    is_open          boolean NOT NULL DEFAULT true,
    total            numeric(16, 2),
    currency         text NOT NULL DEFAULT '',
    paid             boolean NOT NULL DEFAULT false,
    paid_at          timestamptz,
    cancelled        boolean NOT NULL DEFAULT false,
    ordered_at       timestamptz,
    -- The shop's own time of its last change (WooCommerce's date_modified_gmt; NULL: the source gives
    -- none): a delivery older than the stored one (a retried webhook arriving late) changes nothing.
    modified_at      timestamptz,
    customer_name    text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    -- E.164 when the phone could be read; NULL with `problem` saying why.
    phone_normalized text,
    email            text NOT NULL DEFAULT '',
    address          text NOT NULL DEFAULT '',
    problem          text NOT NULL DEFAULT '',
    counterparty_id  bigint REFERENCES counterparties (id),
    -- A digest of the order as last received: an unchanged re-send changes nothing.
    digest           text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, external_id)
);
CREATE INDEX shop_orders_counterparty_idx ON shop_orders (counterparty_id, created_at DESC);
CREATE INDEX shop_orders_created_idx ON shop_orders (created_at DESC, id DESC);
-- A call from or to an open order's number links to it (crm/calls/queries.insert_call).
CREATE INDEX shop_orders_open_phone_idx ON shop_orders (phone_normalized) WHERE is_open AND phone_normalized IS NOT NULL;

CREATE TABLE shop_order_lines (
    id             bigserial PRIMARY KEY,
    shop_order_id  bigint NOT NULL REFERENCES shop_orders (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    name           text NOT NULL DEFAULT '',
    sku            text NOT NULL DEFAULT '',
    quantity       numeric(16, 3),
    price          numeric(16, 2),
    total          numeric(16, 2)
);
CREATE INDEX shop_order_lines_order_idx ON shop_order_lines (shop_order_id, position);

-- A row when the order arrives and whenever its status, payment or cancellation changes.
CREATE TABLE shop_order_status_history (
    id             bigserial PRIMARY KEY,
    shop_order_id  bigint NOT NULL REFERENCES shop_orders (id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT '',
    paid           boolean NOT NULL DEFAULT false,
    cancelled      boolean NOT NULL DEFAULT false,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shop_order_status_history_order_idx ON shop_order_status_history (shop_order_id, id);

-- ---- the 1C exchange's sessions and the files uploaded in them (mode=file, then mode=import) ----
CREATE TABLE shop_exchange_sessions (
    cookie      text PRIMARY KEY,
    source_id   bigint NOT NULL REFERENCES shop_sources (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop_exchange_files (
    cookie      text NOT NULL REFERENCES shop_exchange_sessions (cookie) ON DELETE CASCADE,
    filename    text NOT NULL,
    body        bytea NOT NULL DEFAULT '',
    PRIMARY KEY (cookie, filename)
);

-- ---- calls linked to a shop order: a click-to-call from it, or its number's call while it is open ----
ALTER TABLE calls ADD COLUMN shop_order_id bigint REFERENCES shop_orders (id);
CREATE INDEX calls_shop_order_idx ON calls (shop_order_id, started_at DESC) WHERE shop_order_id IS NOT NULL;
ALTER TABLE call_requests ADD COLUMN shop_order_id bigint REFERENCES shop_orders (id);

-- A new order's notice to its manager (crm/shop_orders/rules.py).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('task_due', 'task_assigned', 'missed_call', 'queue_task', 'sms_in', 'sms_campaign',
                    'scheduled_call', 'shop_order'));

-- The task a new order's rule makes ("confirm the order by phone") links to it.
ALTER TABLE tasks ADD COLUMN shop_order_id bigint REFERENCES shop_orders (id);
