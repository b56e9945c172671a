"""The call statistics' rollup (issue 25, crm/migrations/0050): the finished calls summed by UTC hour x operator
x queue x direction x status in call_stats_hourly, kept by triggers on calls in the writer's transaction.

The reports read it when they can - the reader sees every call (the call rules' condition is plain TRUE), no
tag filter, and the call centre's zone is a whole number of hours off UTC over the period - and add the calls
not yet ended (a few, through calls_live_idx) from calls itself. Otherwise they count calls as before.
Deleted calls stay counted here (retention keeps the history); `rebuild` recounts a period from calls.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg

# A call's part, as the rows' columns: the same expressions as call_stats_part() in the migration.
_PART = """date_trunc('hour', c.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_at,
           coalesce(c.operator_user_id, c.caller_user_id) AS user_id, c.queue_id, c.direction, c.status,
           count(*) AS calls, count(c.talk_seconds) AS talk_calls, coalesce(sum(c.talk_seconds), 0) AS talk_seconds,
           count(c.wait_seconds) AS wait_calls, coalesce(sum(c.wait_seconds), 0) AS wait_seconds"""


def readable(visible: tuple[str, list], tag_ids: tuple[int, ...], without_tag_ids: tuple[int, ...],
             start: dt.date, end: dt.date, timezone: str) -> bool:
    """Can the rollup answer: every call visible, no tag filter, and every local midnight and hour of the
    period on a UTC hour (the zone's offset a whole number of hours, checked at each day's ends)?"""
    if visible[0].strip() != "true" or tag_ids or without_tag_ids:
        return False
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    day = start
    while day <= end + dt.timedelta(days=1):
        for moment in (dt.time(0), dt.time(12)):
            offset = dt.datetime.combine(day, moment, zone).utcoffset()
            if offset is None or offset.total_seconds() % 3600:
                return False
        day += dt.timedelta(days=1)
    return True


def source(lower: str, upper: str) -> str:
    """A FROM item `c` with the columns the reports read of a call - operator_user_id (the reports' operator
    already: who took it, else who placed it), direction, status, started_at (its hour), and the sums calls,
    talk_calls, talk_seconds, wait_calls, wait_seconds - from the rollup's hours in [lower, upper) (SQL
    timestamptz expressions on whole hours) and the calls there not yet ended."""
    return f"""(SELECT s.hour_at AS started_at, s.user_id AS operator_user_id, s.direction, s.status, s.calls,
                       s.talk_calls, s.talk_seconds, s.wait_calls, s.wait_seconds
                FROM call_stats_hourly s WHERE s.hour_at >= {lower} AND s.hour_at < {upper}
                UNION ALL
                SELECT l.started_at, coalesce(l.operator_user_id, l.caller_user_id), l.direction, l.status, 1,
                       (l.talk_seconds IS NOT NULL)::int, coalesce(l.talk_seconds, 0),
                       (l.wait_seconds IS NOT NULL)::int, coalesce(l.wait_seconds, 0)
                FROM calls l WHERE l.ended_at IS NULL AND l.started_at >= {lower} AND l.started_at < {upper}) c"""


async def rebuild(conn: asyncpg.Connection, start: dt.datetime | None = None, end: dt.datetime | None = None) -> int:
    """Recount the rollup's hours in [start, end) (all of them without bounds) from the calls there are: for a
    bulk load made with the triggers off, or to drop the counts of deleted calls. Rows written meanwhile wait
    (the calls table is locked against writes). The number of rollup rows written."""
    async with conn.transaction():
        await conn.execute("LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE")
        await conn.execute("DELETE FROM call_stats_hourly WHERE ($1::timestamptz IS NULL OR hour_at >= $1) "
                           "AND ($2::timestamptz IS NULL OR hour_at < $2)", start, end)
        status = await conn.execute(
            f"""INSERT INTO call_stats_hourly (hour_at, user_id, queue_id, direction, status, calls, talk_calls,
                                               talk_seconds, wait_calls, wait_seconds)
                SELECT {_PART} FROM calls c
                WHERE c.ended_at IS NOT NULL
                  AND ($1::timestamptz IS NULL OR c.started_at >= date_trunc('hour', $1 AT TIME ZONE 'UTC')
                                                                  AT TIME ZONE 'UTC')
                  AND ($2::timestamptz IS NULL OR c.started_at < date_trunc('hour', $2 AT TIME ZONE 'UTC')
                                                                 AT TIME ZONE 'UTC')
                GROUP BY 1, 2, 3, 4, 5""", start, end)
    return int(status.split()[-1])


async def differences(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The rollup's rows that differ from a count over the finished calls (none, while no call was deleted)."""
    return await conn.fetch(
        f"""WITH counted AS (SELECT {_PART} FROM calls c WHERE c.ended_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5),
                 kept AS (SELECT * FROM call_stats_hourly WHERE calls <> 0 OR talk_calls <> 0 OR wait_calls <> 0)
            SELECT * FROM ((SELECT 'counted' AS side, * FROM counted EXCEPT SELECT 'counted', * FROM kept)
                           UNION ALL
                           (SELECT 'kept', * FROM kept EXCEPT SELECT 'kept', * FROM counted)) d
            ORDER BY hour_at, side""")
