-- IP allow-lists (issue 17, FEATURES.md G4): the networks a role's users, or one user, may work from.
-- A user's own entries, when they have any, are their list; otherwise their role's; no entry for
-- either: from anywhere (crm/allowlist/rules.py decides). Existing installations get no entry,
-- so nobody is locked out by the upgrade.
CREATE TABLE ip_allow_entries (
    id         bigserial PRIMARY KEY,
    role       text CHECK (role IN ('operator', 'manager', 'supervisor', 'admin')),
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    network    cidr NOT NULL,
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Each entry is a role's or a user's, never both.
    CHECK ((role IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX ip_allow_entries_key ON ip_allow_entries (coalesce(role, ''), coalesce(user_id, 0), network);
CREATE INDEX ip_allow_entries_user_idx ON ip_allow_entries (user_id) WHERE user_id IS NOT NULL;

-- An admin's reset may require a new password at the next login (issue 17, locks). Existing
-- users: false, they keep working as before.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
