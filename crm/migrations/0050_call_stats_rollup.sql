-- A year of calls (issue 25): the call statistics read a rollup of the finished calls by hour instead of
-- every call row. One row per UTC hour x operator (the reports' operator: who took the call, else whose
-- phone placed it) x queue x direction x status, with the sums the reports show. Kept by triggers on calls,
-- in the writing transaction, whoever writes (the Stasis app's call log, the CEL reconciler, a test): a call
-- counts once it has ended, so a ringing call never touches it and the live calls are read from calls
-- (crm/reports/call_rollup.py adds them). Deleting calls leaves their counts here: retention keeps the history.
-- The UTC hour makes any whole-hour time zone's days, weeks and months sums of rows.
CREATE TABLE call_stats_hourly (
    hour_at      timestamptz NOT NULL,
    user_id      bigint,
    queue_id     bigint,
    direction    text NOT NULL,
    status       text NOT NULL,
    calls        bigint NOT NULL DEFAULT 0,
    talk_calls   bigint NOT NULL DEFAULT 0,  -- the calls with a talk time (answered)
    talk_seconds numeric NOT NULL DEFAULT 0,
    wait_calls   bigint NOT NULL DEFAULT 0,
    wait_seconds numeric NOT NULL DEFAULT 0,
    CONSTRAINT call_stats_hourly_key UNIQUE NULLS NOT DISTINCT (hour_at, user_id, queue_id, direction, status)
);

-- One call's part of the rollup, signed: none while it has not ended.
CREATE FUNCTION call_stats_part(c calls, sign integer)
RETURNS TABLE (hour_at timestamptz, user_id bigint, queue_id bigint, direction text, status text, calls bigint,
               talk_calls bigint, talk_seconds numeric, wait_calls bigint, wait_seconds numeric)
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('hour', c.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           coalesce(c.operator_user_id, c.caller_user_id), c.queue_id, c.direction, c.status, sign::bigint,
           CASE WHEN c.talk_seconds IS NULL THEN 0 ELSE sign END::bigint, sign * coalesce(c.talk_seconds, 0),
           CASE WHEN c.wait_seconds IS NULL THEN 0 ELSE sign END::bigint, sign * coalesce(c.wait_seconds, 0)
    WHERE c.ended_at IS NOT NULL
$$;

-- The change of one row in the rollup: the old row's part out, the new one's in, one upsert in the key's
-- order (two writers moving calls between the same two rows lock them in the same order).
CREATE FUNCTION call_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_stats_hourly AS s (hour_at, user_id, queue_id, direction, status, calls, talk_calls,
                                        talk_seconds, wait_calls, wait_seconds)
    SELECT p.hour_at, p.user_id, p.queue_id, p.direction, p.status, sum(p.calls), sum(p.talk_calls),
           sum(p.talk_seconds), sum(p.wait_calls), sum(p.wait_seconds)
    FROM (SELECT * FROM call_stats_part(NEW, 1)
          UNION ALL
          SELECT * FROM call_stats_part(OLD, -1) WHERE TG_OP = 'UPDATE') p
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT call_stats_hourly_key DO UPDATE SET
        calls = s.calls + EXCLUDED.calls, talk_calls = s.talk_calls + EXCLUDED.talk_calls,
        talk_seconds = s.talk_seconds + EXCLUDED.talk_seconds, wait_calls = s.wait_calls + EXCLUDED.wait_calls,
        wait_seconds = s.wait_seconds + EXCLUDED.wait_seconds;
    RETURN NULL;
END
$$;

-- Writes that leave the counted columns as they were (the route, the ringing phones, a comment, the card)
-- do not even call the function.
CREATE TRIGGER calls_stats_insert AFTER INSERT ON calls FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL)
    EXECUTE FUNCTION call_stats_count();
CREATE TRIGGER calls_stats_update
    AFTER UPDATE OF started_at, answered_at, ended_at, status, direction, operator_user_id, caller_user_id,
                    queue_id ON calls FOR EACH ROW
    WHEN ((OLD.ended_at IS NOT NULL OR NEW.ended_at IS NOT NULL)
          AND (OLD.started_at, OLD.answered_at, OLD.ended_at, OLD.status, OLD.direction, OLD.operator_user_id,
               OLD.caller_user_id, OLD.queue_id)
              IS DISTINCT FROM (NEW.started_at, NEW.answered_at, NEW.ended_at, NEW.status, NEW.direction,
                                NEW.operator_user_id, NEW.caller_user_id, NEW.queue_id))
    EXECUTE FUNCTION call_stats_count();

-- The calls there are: writers wait for this transaction, so none is counted twice or missed.
LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO call_stats_hourly (hour_at, user_id, queue_id, direction, status, calls, talk_calls, talk_seconds,
                               wait_calls, wait_seconds)
SELECT p.hour_at, p.user_id, p.queue_id, p.direction, p.status, sum(p.calls), sum(p.talk_calls),
       sum(p.talk_seconds), sum(p.wait_calls), sum(p.wait_seconds)
FROM calls c CROSS JOIN LATERAL call_stats_part(c, 1) p
GROUP BY 1, 2, 3, 4, 5;

-- The call log's live calls (the statistics add them to the rollup) and unfinished rows: already indexed by
-- calls_live_idx (started_at) WHERE ended_at IS NULL (0032).
