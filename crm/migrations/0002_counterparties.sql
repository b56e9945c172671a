-- Clients, companies, their membership, addresses and contacts (FEATURES.md A1-A7, E2).
CREATE TABLE counterparties (
    id                  bigserial PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('client', 'company')),
    last_name           text NOT NULL DEFAULT '',
    first_name          text NOT NULL DEFAULT '',
    patronymic          text NOT NULL DEFAULT '',
    company_name        text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'active',
    responsible_user_id bigint REFERENCES users (id),
    -- One line shown next to the name in every list.
    remark              text NOT NULL DEFAULT '' CHECK (position(E'\n' in remark) = 0),
    comment             text NOT NULL DEFAULT '',
    created_by          bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    display_name        text GENERATED ALWAYS AS (
        CASE WHEN kind = 'company' THEN company_name
             ELSE btrim(regexp_replace(last_name || ' ' || first_name || ' ' || patronymic, '\s+', ' ', 'g'))
        END) STORED,
    -- The fields substring search looks at on the counterparty row itself.
    search_text         text GENERATED ALWAYS AS (
        lower(last_name || ' ' || first_name || ' ' || patronymic || ' ' || company_name
              || ' ' || remark || ' ' || comment)) STORED,
    CHECK ((kind = 'company' AND company_name <> '' AND last_name = '' AND first_name = '' AND patronymic = '')
        OR (kind = 'client' AND company_name = '' AND (last_name <> '' OR first_name <> '')))
);
CREATE INDEX counterparties_search_trgm ON counterparties USING gin (search_text gin_trgm_ops);
CREATE INDEX counterparties_name_trgm ON counterparties USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX counterparties_kind_name_idx ON counterparties (kind, display_name) WHERE deleted_at IS NULL;
CREATE INDEX counterparties_responsible_idx ON counterparties (responsible_user_id);

-- A company holds any number of clients; a client may sit in several groups.
CREATE TABLE company_members (
    company_id bigint NOT NULL REFERENCES counterparties (id),
    client_id  bigint NOT NULL REFERENCES counterparties (id),
    PRIMARY KEY (company_id, client_id)
);
CREATE INDEX company_members_client_idx ON company_members (client_id);

CREATE TABLE addresses (
    id              bigserial PRIMARY KEY,
    counterparty_id bigint NOT NULL REFERENCES counterparties (id),
    kind            text NOT NULL DEFAULT 'postal',
    address         text NOT NULL CHECK (address <> ''),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_counterparty_idx ON addresses (counterparty_id);

CREATE TABLE contacts (
    id              bigserial PRIMARY KEY,
    counterparty_id bigint NOT NULL REFERENCES counterparties (id),
    kind            text NOT NULL CHECK (kind IN ('phone', 'email', 'site', 'skype', 'fax', 'social', 'messenger')),
    -- As the user wrote it.
    value           text NOT NULL CHECK (value <> ''),
    -- E.164 for phones and faxes, lower case for the rest: what uniqueness and lookup use.
    normalized      text NOT NULL CHECK (normalized <> ''),
    note            text NOT NULL DEFAULT '',
    -- Learned from a call rather than typed in (A7).
    auto_added      boolean NOT NULL DEFAULT false,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
-- A contact value belongs to one counterparty in the whole base (A2).
CREATE UNIQUE INDEX contacts_normalized_key ON contacts (normalized) WHERE deleted_at IS NULL;
CREATE INDEX contacts_counterparty_idx ON contacts (counterparty_id);
CREATE INDEX contacts_search_trgm ON contacts USING gin (normalized gin_trgm_ops);
