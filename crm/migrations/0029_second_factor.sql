-- The second factor (issue 17, FEATURES.md G4): a TOTP app per user, recovery codes, and the
-- half-way state of a login whose password was right but whose code is still to come.
-- Nobody has a second factor yet: existing users log in as before until they set one up or an
-- admin requires it for their role (app_settings 'second_factor.roles', a JSON list; none by default).

CREATE TABLE user_totp (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The shared secret (base32), set when the user confirmed a first code. Stored as is (there is
    -- no key to encrypt it with that the database's readers would not have), and never shown
    -- again: no page, API or export reads it back; a lost phone is an admin's reset.
    secret          text CHECK (secret ~ '^[A-Z2-7]{16,128}$'),
    enrolled_at     timestamptz,
    -- The secret offered while setting up (the QR code and its text), until a code from it confirms it.
    pending_secret  text CHECK (pending_secret ~ '^[A-Z2-7]{16,128}$'),
    -- The time step (unix time / 30) of the last code accepted: a code of that step or an earlier
    -- one is refused, so a code seen over someone's shoulder cannot be used again.
    last_step       bigint,
    -- Wrong codes, throttled like passwords (crm/users/throttle.py's rule).
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz,
    CHECK ((secret IS NULL) = (enrolled_at IS NULL))
);

-- Ten single-use codes for a lost phone: sha256 of the code (they are random, 50 bits each,
-- and throttled like codes, so a slow salted hash adds nothing).
CREATE TABLE recovery_codes (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    UNIQUE (user_id, code_hash)
);

-- A login waiting for its second factor: the password was right, no session is open yet.
-- Like web_sessions, only the sha256 of the cookie's token is kept.
CREATE TABLE second_factor_pending (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    remote_addr text,
    -- Where the login was going (a path of this site, checked when it was stored).
    next_path   text NOT NULL DEFAULT '/'
);
CREATE INDEX second_factor_pending_user_idx ON second_factor_pending (user_id);
