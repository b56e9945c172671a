-- A client's own time zone (issue 21): where the number does not tell it (a Russian mobile spans eleven
-- zones), campaigns still text inside the window of the client's local day. NULL: from the number.
ALTER TABLE counterparties ADD COLUMN timezone text
    CHECK (timezone IS NULL OR (length(timezone) BETWEEN 1 AND 64 AND timezone ~ '^[A-Za-z0-9_+/-]+$'));
