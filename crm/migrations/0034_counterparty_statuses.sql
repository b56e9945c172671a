-- Counterparty statuses kept by the admin (issue 20): add, rename, reorder, archive; a status
-- in use cannot be deleted. Until now a status was one of four codes checked by the app
-- (crm/counterparties/model.py); those four become the list's first rows (their name blank:
-- the catalogue's words in the reader's language, crm/labels.py COUNTERPARTY_STATUS), and any
-- other value already on a card joins the list under its own text, so no card loses its status.
CREATE TABLE counterparty_statuses (
    id       bigserial PRIMARY KEY,
    code     text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 200),
    -- Blank: a built-in code's words from the catalogue; otherwise the admin's name, as typed.
    name     text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    position integer NOT NULL DEFAULT 0,
    -- Archived: no longer offered for cards, kept on those that have it, still in the filters.
    archived boolean NOT NULL DEFAULT false
);
INSERT INTO counterparty_statuses (code, position)
VALUES ('active', 1), ('potential', 2), ('inactive', 3), ('archived', 4);
INSERT INTO counterparty_statuses (code, name, position)
SELECT status, status, 4 + row_number() OVER (ORDER BY status)
FROM (SELECT DISTINCT status FROM counterparties
      WHERE status NOT IN ('active', 'potential', 'inactive', 'archived')) s;

ALTER TABLE counterparties ADD CONSTRAINT counterparties_status_fkey
    FOREIGN KEY (status) REFERENCES counterparty_statuses (code);
CREATE INDEX counterparties_status_idx ON counterparties (status);
