-- Dial rules, channel technology, forward to a personal number (issue 15).
--
-- Where a user's phone is dialled: NULL is PJSIP/<extension>; otherwise a dial string of
-- a known technology and a safe charset (crm/dialing/technology.py says the same), so that
-- nothing typed here can add a channel (&) or Dial() options (,) where the dialplan uses it.
-- Extensions stay 2 to 6 digits (0001 already checks so).
ALTER TABLE users ADD COLUMN dial text CHECK (dial IS NULL OR dial ~
    '^(PJSIP|SIP|IAX2)/[A-Za-z0-9_.+-]{1,64}(@[A-Za-z0-9_.+-]{1,64})?$|^Local/[A-Za-z0-9_.+-]{1,64}@[A-Za-z0-9_.+-]{1,64}(/n)?$');
-- Follow me: the user's mobile (E.164), rung through the trunk when the desk phone has not
-- taken a call after follow_me_seconds (NULL: the desk only).
ALTER TABLE users ADD COLUMN mobile text CHECK (mobile IS NULL OR mobile ~ '^\+[0-9]{7,15}$');
ALTER TABLE users ADD COLUMN follow_me_seconds integer
    CHECK (follow_me_seconds IS NULL OR (follow_me_seconds BETWEEN 5 AND 120 AND mobile IS NOT NULL));

-- Outbound dial rules, tried in position order (then id): the first whose pattern matches the
-- number strips and prepends digits and names the trunk (NULL: the default, PBXCRM_TRUNK).
CREATE TABLE dial_rules (
    id         bigserial PRIMARY KEY,
    position   integer NOT NULL DEFAULT 100 CHECK (position BETWEEN 1 AND 9999),
    -- X any digit, Z 1-9, N 2-9, other characters as they are; a trailing '.' matches one or
    -- more further characters (a prefix). A pattern starting with + matches the international form.
    pattern    text NOT NULL CHECK (pattern ~ '^(\+?[0-9XZN*#]+\.?|\+?\.)$'),
    strip      integer NOT NULL DEFAULT 0 CHECK (strip BETWEEN 0 AND 20),
    prepend    text NOT NULL DEFAULT '' CHECK (prepend ~ '^\+?[0-9*#]{0,20}$'),
    trunk      text CHECK (trunk IS NULL OR trunk ~ '^[A-Za-z0-9_.-]{1,40}$'),
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dial_rules_order_idx ON dial_rules (position, id);
