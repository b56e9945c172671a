-- The audit trail (issue 17, G5): from which address each change came, and which rows keep the
-- one diff shape {field: [old, new]} (crm/audit). Existing rows are kept as they are: they get no
-- address (it was never recorded) and are marked `canonical = false`, so the viewer reads their
-- older shapes ({field: value}, lists of changes) as such and never as an old → new pair.
ALTER TABLE audit_log ADD COLUMN address inet;
ALTER TABLE audit_log ADD COLUMN canonical boolean NOT NULL DEFAULT false;
ALTER TABLE audit_log ALTER COLUMN canonical SET DEFAULT true;

-- The viewer's filters: newest first over everything, by user, by entity (the card's history
-- keeps audit_log_entity_idx), by action, by address.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at DESC);
CREATE INDEX audit_log_entity_at_idx ON audit_log (entity, at DESC);
CREATE INDEX audit_log_address_idx ON audit_log USING gist (address inet_ops) WHERE address IS NOT NULL;
