-- The live wallboard (issue 18): the admin's thresholds per queue, and what the wallboard rebuilds
-- its picture from after a reload or a web worker's restart (crm/wallboard/).

-- Service level: the share of a queue's calls answered within service_level_seconds (the reports
-- and the wallboard; 20 s was the one threshold before). A tile is amber, then red, when the
-- longest wait reaches wait_amber_seconds / wait_red_seconds, or when today's service level falls
-- below level_amber_percent / level_red_percent.
ALTER TABLE queues
    ADD COLUMN service_level_seconds integer NOT NULL DEFAULT 20 CHECK (service_level_seconds BETWEEN 1 AND 3600),
    ADD COLUMN wait_amber_seconds integer NOT NULL DEFAULT 30 CHECK (wait_amber_seconds BETWEEN 1 AND 86400),
    ADD COLUMN wait_red_seconds integer NOT NULL DEFAULT 60 CHECK (wait_red_seconds BETWEEN 1 AND 86400),
    ADD COLUMN level_amber_percent integer NOT NULL DEFAULT 80 CHECK (level_amber_percent BETWEEN 0 AND 100),
    ADD COLUMN level_red_percent integer NOT NULL DEFAULT 60 CHECK (level_red_percent BETWEEN 0 AND 100),
    ADD CONSTRAINT queues_wait_thresholds_check CHECK (wait_amber_seconds <= wait_red_seconds),
    ADD CONSTRAINT queues_level_thresholds_check CHECK (level_red_percent <= level_amber_percent);

-- A caller waits in calls.queue_id from queued_at until it is answered, hangs up (ended_at), or
-- leaves the queue unanswered for what comes next (queue_left_at: another target, a callback
-- offer, voicemail). Calls from before have neither: they ended long ago, nothing to convert.
ALTER TABLE calls
    ADD COLUMN queued_at timestamptz,
    ADD COLUMN queue_left_at timestamptz,
    -- The users whose phones ring for this call now, since ringing_at (empty: none rings).
    ADD COLUMN ringing_user_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN ringing_at timestamptz;

-- The calls going on now: what the wallboard reads on every change.
CREATE INDEX calls_live_idx ON calls (started_at) WHERE ended_at IS NULL;
