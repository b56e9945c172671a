-- E-mail filed on the card (issue 23, FEATURES I4, B1): IMAP mailboxes the `pbxcrm mail` process
-- reads, each message filed once on the card(s) of its addresses, threads by Message-ID/References,
-- attachments kept in the database (the web process serves them; the processes share nothing else),
-- replies written on the card and sent through SMTP.

-- ---- the mailboxes read ----
CREATE TABLE mailboxes (
    id              serial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The mailbox's own address: replies leave from it, and it is nobody's card address.
    address         text NOT NULL CHECK (length(address) BETWEEN 3 AND 320),
    imap_host       text NOT NULL CHECK (length(imap_host) BETWEEN 1 AND 255),
    imap_port       integer NOT NULL DEFAULT 993 CHECK (imap_port BETWEEN 1 AND 65535),
    -- 'ssl': TLS from the first byte (993); 'starttls': upgraded (143); 'none': loopback and tests only.
    imap_security   text NOT NULL DEFAULT 'ssl' CHECK (imap_security IN ('ssl', 'starttls', 'none')),
    imap_user       text NOT NULL CHECK (length(imap_user) BETWEEN 1 AND 320),
    imap_password   text NOT NULL DEFAULT '',
    -- The folders read, each with its own cursor (mail_cursors): INBOX, and Sent for mail written
    -- outside the CRM.
    folders         text[] NOT NULL DEFAULT '{INBOX}' CHECK (cardinality(folders) BETWEEN 1 AND 20),
    enabled         boolean NOT NULL DEFAULT true,
    -- The poller's last word on it, for the admin page ('' = fine).
    last_error      text NOT NULL DEFAULT '',
    last_polled_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX mailboxes_address_key ON mailboxes (lower(address)) WHERE deleted_at IS NULL;

-- Where the poller is in each folder. Never the \Seen flag: a message is filed and the cursor moved in
-- one transaction, so a crash mid-batch files nothing twice and loses nothing. A new UIDVALIDITY
-- (the folder was recreated) starts the folder again from UID 1; Message-ID keeps that from filing twice.
CREATE TABLE mail_cursors (
    mailbox_id   integer NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder       text NOT NULL,
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox_id, folder)
);

-- ---- messages, in and out ----
CREATE TABLE mail_messages (
    id              bigserial PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('in', 'out')),
    mailbox_id      integer REFERENCES mailboxes (id),
    -- Where an incoming one was read (NULL for one written in the CRM until it is seen in a folder).
    folder          text,
    uidvalidity     bigint,
    uid             bigint,
    -- The Message-ID header without <>; one the sender left out is made up from the message's digest,
    -- so the same message read twice is still one.
    message_id      text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 1000),
    in_reply_to     text NOT NULL DEFAULT '',
    references_ids  text[] NOT NULL DEFAULT '{}',
    -- The first message of its thread (its own id for a new thread).
    thread_id       bigint REFERENCES mail_messages (id),
    from_address    text NOT NULL DEFAULT '',
    from_name       text NOT NULL DEFAULT '',
    to_addresses    text[] NOT NULL DEFAULT '{}',
    cc_addresses    text[] NOT NULL DEFAULT '{}',
    subject         text NOT NULL DEFAULT '',
    -- The Date header (NULL when missing or unreadable); received_at: when the CRM filed or wrote it.
    sent_at         timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    body_text       text NOT NULL DEFAULT '',
    -- As sent: made safe when shown (crm/mail sanitising), never stored as trusted.
    body_html       text NOT NULL DEFAULT '',
    size_bytes      integer NOT NULL DEFAULT 0,
    -- in: filed (on at least one card) | unfiled (no card has its addresses: the inbox list);
    -- out: queued -> sending -> sent | failed.
    status          text NOT NULL CHECK (status IN ('filed', 'unfiled', 'queued', 'sending', 'sent', 'failed')),
    -- What was wrong with it and what was done about it (a part not readable, an attachment too big).
    problem         text NOT NULL DEFAULT '',
    -- Who wrote an outgoing one; the sender's bookkeeping.
    user_id         bigint REFERENCES users (id),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    error           text NOT NULL DEFAULT '',
    CHECK ((direction = 'in') = (status IN ('filed', 'unfiled')))
);
CREATE UNIQUE INDEX mail_messages_message_id_key ON mail_messages (message_id);
CREATE UNIQUE INDEX mail_messages_uid_key ON mail_messages (mailbox_id, folder, uidvalidity, uid)
    WHERE uid IS NOT NULL;
CREATE INDEX mail_messages_thread_idx ON mail_messages (thread_id, received_at);
CREATE INDEX mail_messages_unfiled_idx ON mail_messages (received_at DESC) WHERE status = 'unfiled';
CREATE INDEX mail_messages_outbox_idx ON mail_messages (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX mail_messages_from_idx ON mail_messages (lower(from_address));

-- The cards a message is filed on, and by which of its addresses.
CREATE TABLE mail_message_cards (
    message_id       bigint NOT NULL REFERENCES mail_messages (id) ON DELETE CASCADE,
    counterparty_id  bigint NOT NULL REFERENCES counterparties (id),
    address          text NOT NULL,
    -- Filed by the poller ('auto') or by a user from the inbox list ('user').
    filed_by         text NOT NULL DEFAULT 'auto' CHECK (filed_by IN ('auto', 'user')),
    filed_by_user_id bigint REFERENCES users (id),
    filed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, counterparty_id)
);
CREATE INDEX mail_message_cards_card_idx ON mail_message_cards (counterparty_id, message_id DESC);

-- Attachments: kept in the database (bytea) up to the size limit; a bigger one is listed with its size
-- and content NULL, and the message's problem says so.
CREATE TABLE mail_attachments (
    id            bigserial PRIMARY KEY,
    message_id    bigint NOT NULL REFERENCES mail_messages (id) ON DELETE CASCADE,
    filename      text NOT NULL DEFAULT '',
    content_type  text NOT NULL DEFAULT 'application/octet-stream',
    -- An inline part referenced from the HTML (cid:...), without <>.
    content_id    text NOT NULL DEFAULT '',
    size_bytes    bigint NOT NULL DEFAULT 0,
    sha256        text NOT NULL DEFAULT '',
    content       bytea
);
CREATE INDEX mail_attachments_message_idx ON mail_attachments (message_id);
