-- Cards a user collapsed, to reopen from any section (FEATURES.md A6).
CREATE TABLE collapsed_cards (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    counterparty_id bigint NOT NULL REFERENCES counterparties (id),
    collapsed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, counterparty_id)
);
