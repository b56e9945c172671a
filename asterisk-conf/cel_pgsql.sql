-- The table Asterisk's cel_pgsql writes its Channel Event Logging into
-- (asterisk-conf/cel.conf, cel_pgsql.conf). Asterisk reads the columns when it
-- loads the module and writes the fields it knows by name; `id` gets its default.
-- eventtime is UTC (usegmtime = yes). pbxcrm only reads this table (crm/cel/).
CREATE TABLE IF NOT EXISTS cel (
    id          bigserial PRIMARY KEY,
    eventtype   text NOT NULL,
    eventtime   timestamp NOT NULL,
    userdeftype text NOT NULL DEFAULT '',
    cid_name    text NOT NULL DEFAULT '',
    cid_num     text NOT NULL DEFAULT '',
    cid_ani     text NOT NULL DEFAULT '',
    cid_rdnis   text NOT NULL DEFAULT '',
    cid_dnid    text NOT NULL DEFAULT '',
    exten       text NOT NULL DEFAULT '',
    context     text NOT NULL DEFAULT '',
    channame    text NOT NULL DEFAULT '',
    appname     text NOT NULL DEFAULT '',
    appdata     text NOT NULL DEFAULT '',
    amaflags    integer NOT NULL DEFAULT 0,
    accountcode text NOT NULL DEFAULT '',
    peeraccount text NOT NULL DEFAULT '',
    uniqueid    text NOT NULL DEFAULT '',
    linkedid    text NOT NULL DEFAULT '',
    userfield   text NOT NULL DEFAULT '',
    peer        text NOT NULL DEFAULT '',
    extra       text NOT NULL DEFAULT ''
);
-- A call's events are read by its linkedid; `pbxcrm reconcile --since` starts at a time.
CREATE INDEX IF NOT EXISTS cel_linkedid_idx ON cel (linkedid);
CREATE INDEX IF NOT EXISTS cel_eventtime_idx ON cel (eventtime);
