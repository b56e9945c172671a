-- A year of calls (issue 25): the call statistics read rollups of the finished calls instead of every call row.
-- Two levels, each one row per period x operator (the reports' operator: who took the call, else whose phone
-- placed it) x queue x direction x status, with the sums the reports show:
--   call_stats_hourly by UTC hour: hourly charts, and days, weeks and months in any whole-hour time zone;
--   call_stats_daily by the call centre's day (in call_stats_zone's zone; `pbxcrm migrate` sets it to
--   PBXCRM_TIMEZONE and recounts the days when it changes): a month or a year in a few hundred thousand rows.
-- Kept by triggers on calls, in the writing transaction, whoever writes (the Stasis app's call log, the CEL
-- reconciler, an edit): a call counts once it has ended, so a ringing call never touches them and the live calls
-- are read from calls (crm/reports/call_rollup.py adds them). Deleting calls leaves their counts: retention
-- keeps the history.
CREATE TABLE call_stats_zone (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    zone     text NOT NULL
);
INSERT INTO call_stats_zone (zone) VALUES ('Europe/Moscow');  -- crm/defaults.py DEFAULT_TIMEZONE

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

CREATE TABLE call_stats_daily (
    day          date NOT NULL,
    user_id      bigint,
    queue_id     bigint,
    direction    text NOT NULL,
    status       text NOT NULL,
    calls        bigint NOT NULL DEFAULT 0,
    talk_calls   bigint NOT NULL DEFAULT 0,
    talk_seconds numeric NOT NULL DEFAULT 0,
    wait_calls   bigint NOT NULL DEFAULT 0,
    wait_seconds numeric NOT NULL DEFAULT 0,
    CONSTRAINT call_stats_daily_key UNIQUE NULLS NOT DISTINCT (day, user_id, queue_id, direction, status)
);

-- One call's part of the rollups, signed, with its UTC hour and its day in `zone`: none while it has not ended.
CREATE FUNCTION call_stats_part(c calls, sign integer, zone text)
RETURNS TABLE (hour_at timestamptz, day date, user_id bigint, queue_id bigint, direction text, status text,
               calls bigint, talk_calls bigint, talk_seconds numeric, wait_calls bigint, wait_seconds numeric)
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('hour', c.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', (c.started_at AT TIME ZONE zone)::date,
           coalesce(c.operator_user_id, c.caller_user_id), c.queue_id, c.direction, c.status, sign::bigint,
           CASE WHEN c.talk_seconds IS NULL THEN 0 ELSE sign END::bigint, sign * coalesce(c.talk_seconds, 0),
           CASE WHEN c.wait_seconds IS NULL THEN 0 ELSE sign END::bigint, sign * coalesce(c.wait_seconds, 0)
    WHERE c.ended_at IS NOT NULL
$$;

-- The change of one row in both rollups: the old row's part out, the new one's in; an upsert per level in the
-- key's order, hourly first (two writers moving calls between the same rows lock them in the same order).
CREATE FUNCTION call_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := (SELECT z.zone FROM call_stats_zone z);
BEGIN
    INSERT INTO call_stats_hourly AS s (hour_at, user_id, queue_id, direction, status, calls, talk_calls,
                                        talk_seconds, wait_calls, wait_seconds)
    SELECT p.hour_at, p.user_id, p.queue_id, p.direction, p.status, sum(p.calls), sum(p.talk_calls),
           sum(p.talk_seconds), sum(p.wait_calls), sum(p.wait_seconds)
    FROM (SELECT * FROM call_stats_part(NEW, 1, zone)
          UNION ALL
          SELECT * FROM call_stats_part(OLD, -1, zone) WHERE TG_OP = 'UPDATE') p
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT call_stats_hourly_key DO UPDATE SET
        calls = s.calls + EXCLUDED.calls, talk_calls = s.talk_calls + EXCLUDED.talk_calls,
        talk_seconds = s.talk_seconds + EXCLUDED.talk_seconds, wait_calls = s.wait_calls + EXCLUDED.wait_calls,
        wait_seconds = s.wait_seconds + EXCLUDED.wait_seconds;
    INSERT INTO call_stats_daily AS s (day, user_id, queue_id, direction, status, calls, talk_calls,
                                       talk_seconds, wait_calls, wait_seconds)
    SELECT p.day, p.user_id, p.queue_id, p.direction, p.status, sum(p.calls), sum(p.talk_calls),
           sum(p.talk_seconds), sum(p.wait_calls), sum(p.wait_seconds)
    FROM (SELECT * FROM call_stats_part(NEW, 1, zone)
          UNION ALL
          SELECT * FROM call_stats_part(OLD, -1, zone) WHERE TG_OP = 'UPDATE') p
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT call_stats_daily_key DO UPDATE SET
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

-- The calls there are (no row of calls changes): writers wait for this transaction, so none is counted twice
-- or missed. The live calls and unfinished rows are indexed already: calls_live_idx (0032).
LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO call_stats_hourly (hour_at, user_id, queue_id, direction, status, calls, talk_calls, talk_seconds,
                               wait_calls, wait_seconds)
SELECT p.hour_at, p.user_id, p.queue_id, p.direction, p.status, sum(p.calls), sum(p.talk_calls),
       sum(p.talk_seconds), sum(p.wait_calls), sum(p.wait_seconds)
FROM calls c CROSS JOIN LATERAL call_stats_part(c, 1, 'UTC') p
GROUP BY 1, 2, 3, 4, 5;
-- Moscow's days are whole UTC hours: the days are sums of the hours.
INSERT INTO call_stats_daily (day, user_id, queue_id, direction, status, calls, talk_calls, talk_seconds,
                              wait_calls, wait_seconds)
SELECT (hour_at AT TIME ZONE 'Europe/Moscow')::date, user_id, queue_id, direction, status, sum(calls),
       sum(talk_calls), sum(talk_seconds), sum(wait_calls), sum(wait_seconds)
FROM call_stats_hourly GROUP BY 1, 2, 3, 4, 5;
