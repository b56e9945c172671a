-- One search column per counterparty with everything FEATURES.md E2 searches:
-- names, remark, comment, the client's company names and every contact value.
-- Kept current by triggers, so one trigram index answers a search, and a broad
-- term can be served by walking the name index until a page is full.
ALTER TABLE counterparties DROP COLUMN search_text;
ALTER TABLE counterparties ADD COLUMN search_text text NOT NULL DEFAULT '';

CREATE FUNCTION counterparty_search_text(cp counterparties) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT lower(concat_ws(' ', cp.last_name, cp.first_name, cp.patronymic, cp.company_name, cp.remark, cp.comment,
        (SELECT string_agg(co.company_name, ' ' ORDER BY co.id) FROM company_members m
           JOIN counterparties co ON co.id = m.company_id
          WHERE m.client_id = cp.id AND co.deleted_at IS NULL),
        (SELECT string_agg(k.normalized, ' ' ORDER BY k.id) FROM contacts k
          WHERE k.counterparty_id = cp.id AND k.deleted_at IS NULL)))
$$;

-- Bulk loaders (pbxcrm demo-data) set pbxcrm.bulk_load = on and write search_text themselves.
CREATE FUNCTION counterparties_set_search_text() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('pbxcrm.bulk_load', true), '') <> 'on' THEN
        NEW.search_text := counterparty_search_text(NEW);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER counterparties_search_text BEFORE INSERT OR UPDATE ON counterparties
    FOR EACH ROW EXECUTE FUNCTION counterparties_set_search_text();

-- A renamed or deleted company changes its clients' search text.
CREATE FUNCTION company_changed_refresh_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.company_name IS DISTINCT FROM OLD.company_name OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN
        UPDATE counterparties SET search_text = ''
         WHERE id IN (SELECT client_id FROM company_members WHERE company_id = NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER company_changed AFTER UPDATE ON counterparties
    FOR EACH ROW WHEN (NEW.kind = 'company') EXECUTE FUNCTION company_changed_refresh_members();

-- Contacts and membership: one refresh per statement, for the owners it touched.
CREATE FUNCTION contacts_changed_refresh_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('pbxcrm.bulk_load', true), '') <> 'on' THEN
        UPDATE counterparties SET search_text = '' WHERE id IN (SELECT counterparty_id FROM changed);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_inserted AFTER INSERT ON contacts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changed_refresh_owner();
CREATE TRIGGER contacts_updated AFTER UPDATE ON contacts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changed_refresh_owner();
CREATE TRIGGER contacts_deleted AFTER DELETE ON contacts REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changed_refresh_owner();

CREATE FUNCTION members_changed_refresh_client() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('pbxcrm.bulk_load', true), '') <> 'on' THEN
        UPDATE counterparties SET search_text = '' WHERE id IN (SELECT client_id FROM changed);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER members_inserted AFTER INSERT ON company_members REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION members_changed_refresh_client();
CREATE TRIGGER members_deleted AFTER DELETE ON company_members REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION members_changed_refresh_client();

UPDATE counterparties SET search_text = '';

DROP INDEX counterparties_name_trgm;
CREATE INDEX counterparties_search_trgm ON counterparties USING gin (search_text gin_trgm_ops);
CREATE INDEX counterparties_kind_created_idx ON counterparties (kind, created_at) WHERE deleted_at IS NULL;
