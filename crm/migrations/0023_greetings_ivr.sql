-- Greetings and IVR menus (issue 15, FEATURES.md L2, L3).

-- An uploaded greeting, converted to what Asterisk plays (8 kHz mono 16-bit WAV): the file
-- `<file>.wav` in the greetings directory (PBXCRM_GREETINGS_DIR), which Asterisk sees too.
CREATE TABLE greetings (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL CHECK (name <> '' AND length(name) <= 60),
    file           text NOT NULL UNIQUE CHECK (file ~ '^[A-Za-z0-9_-]{1,80}$'),
    original_name  text NOT NULL DEFAULT '' CHECK (length(original_name) <= 200),
    seconds        numeric(8, 2) NOT NULL CHECK (seconds > 0),
    created_by     bigint REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX greetings_name_key ON greetings (lower(name));

-- A menu: its prompt (an uploaded greeting or a built-in Asterisk prompt), the keys' routes,
-- and where a caller who presses nothing (or only wrong keys) goes. Route kinds are codes
-- (crm/ivr/model.py); kinds to come (voicemail) join the CHECKs with a target of their own.
CREATE TABLE ivr_menus (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL CHECK (name <> '' AND length(name) <= 60),
    greeting_id       bigint REFERENCES greetings (id),
    sound             text CHECK (sound ~ '^[a-z0-9-]{1,60}$'),
    timeout_seconds   smallint NOT NULL DEFAULT 5 CHECK (timeout_seconds BETWEEN 1 AND 60),
    -- How many times the menu plays again after a wrong key before the timeout route.
    replays           smallint NOT NULL DEFAULT 2 CHECK (replays BETWEEN 0 AND 5),
    timeout_kind      text NOT NULL DEFAULT 'crm'
                      CHECK (timeout_kind IN ('crm', 'queue', 'user', 'ivr', 'hangup')),
    timeout_queue_id  bigint REFERENCES queues (id),
    timeout_user_id   bigint REFERENCES users (id),
    timeout_menu_id   bigint REFERENCES ivr_menus (id),
    -- A known client (a card with a responsible manager) goes straight to the manager.
    skip_known        boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    -- A deleted menu may lose its greeting (deleted once nothing live plays it).
    CONSTRAINT ivr_menus_prompt_check CHECK (num_nonnulls(greeting_id, sound) = 1 OR deleted_at IS NOT NULL),
    CONSTRAINT ivr_menus_timeout_queue_check CHECK ((timeout_kind = 'queue') = (timeout_queue_id IS NOT NULL)),
    CONSTRAINT ivr_menus_timeout_user_check CHECK ((timeout_kind = 'user') = (timeout_user_id IS NOT NULL)),
    CONSTRAINT ivr_menus_timeout_menu_check CHECK ((timeout_kind = 'ivr') = (timeout_menu_id IS NOT NULL))
);
CREATE UNIQUE INDEX ivr_menus_name_key ON ivr_menus (lower(name)) WHERE deleted_at IS NULL;

-- A key of a menu and where it sends the caller.
CREATE TABLE ivr_options (
    menu_id     bigint NOT NULL REFERENCES ivr_menus (id) ON DELETE CASCADE,
    digit       text NOT NULL CHECK (digit ~ '^[0-9*#]$'),
    kind        text NOT NULL CHECK (kind IN ('crm', 'queue', 'user', 'ivr', 'hangup')),
    queue_id    bigint REFERENCES queues (id),
    user_id     bigint REFERENCES users (id),
    submenu_id  bigint REFERENCES ivr_menus (id),
    PRIMARY KEY (menu_id, digit),
    CONSTRAINT ivr_options_queue_check CHECK ((kind = 'queue') = (queue_id IS NOT NULL)),
    CONSTRAINT ivr_options_user_check CHECK ((kind = 'user') = (user_id IS NOT NULL)),
    CONSTRAINT ivr_options_menu_check CHECK ((kind = 'ivr') = (submenu_id IS NOT NULL))
);
CREATE INDEX ivr_options_submenu_idx ON ivr_options (submenu_id) WHERE submenu_id IS NOT NULL;

-- A line may route to a menu (in hours and after them), play a greeting before its route,
-- and let known clients skip its menu. Existing lines keep their routes as they were.
ALTER TABLE lines DROP CONSTRAINT lines_route_kind_check;
ALTER TABLE lines ADD CONSTRAINT lines_route_kind_check CHECK (route_kind IN ('crm', 'queue', 'user', 'ivr'));
ALTER TABLE lines DROP CONSTRAINT lines_after_hours_kind_check;
ALTER TABLE lines ADD CONSTRAINT lines_after_hours_kind_check
    CHECK (after_hours_kind IN ('hangup', 'queue', 'user', 'ivr'));
ALTER TABLE lines
    ADD COLUMN route_menu_id bigint REFERENCES ivr_menus (id),
    ADD COLUMN after_hours_menu_id bigint REFERENCES ivr_menus (id),
    ADD COLUMN greeting_id bigint REFERENCES greetings (id),
    ADD COLUMN greeting_sound text CHECK (greeting_sound ~ '^[a-z0-9-]{1,60}$'),
    ADD COLUMN skip_menu_for_known boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT lines_route_menu_check CHECK ((route_kind = 'ivr') = (route_menu_id IS NOT NULL)),
    ADD CONSTRAINT lines_after_hours_menu_check CHECK ((after_hours_kind = 'ivr') = (after_hours_menu_id IS NOT NULL)),
    ADD CONSTRAINT lines_greeting_check CHECK (num_nonnulls(greeting_id, greeting_sound) <= 1);
CREATE INDEX lines_route_menu_idx ON lines (route_menu_id) WHERE route_menu_id IS NOT NULL;
