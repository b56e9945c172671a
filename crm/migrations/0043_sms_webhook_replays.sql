-- An HTTP provider's incoming-text webhook seen once (issue 21): a body replayed inside the signature's
-- time window, or resent by a provider that did not see our answer, is not a second text. Kept a day.
CREATE TABLE sms_webhook_bodies (
    gateway_id  integer NOT NULL REFERENCES sms_gateways (id) ON DELETE CASCADE,
    digest      bytea NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway_id, digest)
);
CREATE INDEX sms_webhook_bodies_at_idx ON sms_webhook_bodies (at);
