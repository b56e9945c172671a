-- Failed logins, counted per login and per client address (issue 12). Every web
-- worker process reads and writes the same rows, so a throttle holds however many
-- workers serve the logins. The key of a login is the name as typed, lower-cased,
-- whether or not such a user exists: a lock says nothing about who exists.
CREATE TABLE login_failures (
    scope           text NOT NULL CHECK (scope IN ('login', 'address')),
    key             text NOT NULL,
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz,
    PRIMARY KEY (scope, key)
);
-- Old rows are forgotten by age.
CREATE INDEX login_failures_last_idx ON login_failures (last_failure_at);
