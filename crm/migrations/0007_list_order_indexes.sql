-- List order indexes ending in id, the tiebreak of every list's ORDER BY, so a
-- walk in sort order needs no sort and stops as soon as the page is full.
DROP INDEX counterparties_kind_name_idx;
DROP INDEX counterparties_kind_created_idx;
CREATE INDEX counterparties_kind_name_idx ON counterparties (kind, display_name, id) WHERE deleted_at IS NULL;
CREATE INDEX counterparties_kind_created_idx ON counterparties (kind, created_at, id) WHERE deleted_at IS NULL;
