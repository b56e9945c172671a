-- Search folds ё into е (issue 12): "Петр" finds "Пётр", "Пётр" finds "Петр".
-- search_fold() is what the stored search text and every searched term go through
-- (crm/search.py's fold() does the same to what the user typed).
CREATE FUNCTION search_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT translate(lower($1), 'Ёё', 'ее')
$$;

-- As in 0006, folded.
CREATE OR REPLACE FUNCTION counterparty_search_text(cp counterparties) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT search_fold(concat_ws(' ', cp.last_name, cp.first_name, cp.patronymic, cp.company_name, cp.remark, cp.comment,
        (SELECT string_agg(co.company_name, ' ' ORDER BY co.id) FROM company_members m
           JOIN counterparties co ON co.id = m.company_id
          WHERE m.client_id = cp.id AND co.deleted_at IS NULL),
        (SELECT string_agg(k.normalized, ' ' ORDER BY k.id) FROM contacts k
          WHERE k.counterparty_id = cp.id AND k.deleted_at IS NULL)))
$$;

-- Only rows whose text holds an ё change: each is recomputed from its own fields, contacts and companies
-- (nothing else of the row is written). Rows without ё are left alone, so a large base is not rewritten.
UPDATE counterparties c SET search_text = counterparty_search_text(c) WHERE search_text ~ '[ёЁ]';

-- Task titles are searched folded too; the index follows the expression the search uses.
DROP INDEX tasks_title_trgm;
CREATE INDEX tasks_title_trgm ON tasks USING gin (search_fold(title) gin_trgm_ops);
