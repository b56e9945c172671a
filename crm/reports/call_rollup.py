"""The call statistics' rollups (issue 25, crm/migrations/0050): the finished calls summed by UTC hour
(call_stats_hourly) and by the call centre's day (call_stats_daily, in call_stats_zone's zone) x operator x
queue x direction x status, kept by triggers on calls in the writer's transaction.

The reports read them when they can - the reader sees every call (the call rules' condition is plain TRUE) and
no tag filter - the days when the period is grouped by day or longer in the rollup's zone, else the hours when
that zone is a whole number of hours off UTC over the period; and they add the calls not yet ended (a few,
through calls_live_idx) from calls itself. Otherwise they count calls as before.
Deleted calls stay counted (retention keeps the history); `rebuild` recounts a period from the calls there are.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg

HOURLY, DAILY = "hourly", "daily"
# A call's key and sums, as call_stats_part() in the migration has them; {period} its hour or its day.
_PART = """{period} AS period, coalesce(c.operator_user_id, c.caller_user_id) AS user_id, c.queue_id, c.direction,
           c.status, count(*) AS calls, count(c.talk_seconds) AS talk_calls,
           coalesce(sum(c.talk_seconds), 0) AS talk_seconds, count(c.wait_seconds) AS wait_calls,
           coalesce(sum(c.wait_seconds), 0) AS wait_seconds"""
_HOUR = "date_trunc('hour', c.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_DAY = "(c.started_at AT TIME ZONE {zone})::date"
_COLUMNS = "user_id, queue_id, direction, status, calls, talk_calls, talk_seconds, wait_calls, wait_seconds"


def whole_hours(start: dt.date, end: dt.date, timezone: str) -> bool:
    """Is every local midnight and hour of the period on a UTC hour (the zone's offset a whole number of hours,
    checked at each day's start and noon)?"""
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


async def zone(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT zone FROM call_stats_zone")


async def level(conn: asyncpg.Connection, visible: tuple[str, list], tag_ids: tuple[int, ...],
                without_tag_ids: tuple[int, ...], group: str, start: dt.date, end: dt.date,
                timezone: str) -> str | None:
    """Which rollup answers this report (DAILY, HOURLY), or None: count the calls."""
    if visible[0].strip() != "true" or tag_ids or without_tag_ids:
        return None
    if group != "hour" and timezone == await zone(conn):
        return DAILY
    return HOURLY if whole_hours(start, end, timezone) else None


def source(which: str, tz: str) -> str:
    """A FROM item `c` of the period from $1 to $2 (dates, both included) in the zone `tz` (a $n): the rollup's
    rows and the calls not yet ended, with the columns the reports read - started_at (the hour, or the day's
    start), operator_user_id (the reports' operator already: who took it, else who placed it), direction,
    status, and the sums calls, talk_calls, talk_seconds, wait_calls, wait_seconds."""
    lower, upper = f"($1::date::timestamp AT TIME ZONE {tz})", f"(($2::date + 1)::timestamp AT TIME ZONE {tz})"
    if which == DAILY:
        rows = f"""SELECT s.day::timestamp AT TIME ZONE {tz} AS started_at, s.user_id AS operator_user_id,
                          s.direction, s.status, s.calls, s.talk_calls, s.talk_seconds, s.wait_calls, s.wait_seconds
                   FROM call_stats_daily s WHERE s.day >= $1::date AND s.day <= $2::date"""
    else:
        rows = f"""SELECT s.hour_at AS started_at, s.user_id AS operator_user_id, s.direction, s.status, s.calls,
                          s.talk_calls, s.talk_seconds, s.wait_calls, s.wait_seconds
                   FROM call_stats_hourly s WHERE s.hour_at >= {lower} AND s.hour_at < {upper}"""
    return f"""({rows}
                UNION ALL
                SELECT l.started_at, coalesce(l.operator_user_id, l.caller_user_id), l.direction, l.status, 1,
                       (l.talk_seconds IS NOT NULL)::int, coalesce(l.talk_seconds, 0),
                       (l.wait_seconds IS NOT NULL)::int, coalesce(l.wait_seconds, 0)
                FROM calls l WHERE l.ended_at IS NULL AND l.started_at >= {lower} AND l.started_at < {upper}) c"""


async def _recount(conn: asyncpg.Connection, start: dt.datetime | None, end: dt.datetime | None) -> int:
    """Both levels recounted from calls: the hours in [start, end), the days that touch it (in the zone)."""
    await conn.execute("DELETE FROM call_stats_hourly WHERE ($1::timestamptz IS NULL OR hour_at >= $1) "
                       "AND ($2::timestamptz IS NULL OR hour_at < $2)", start, end)
    status = await conn.execute(
        f"""INSERT INTO call_stats_hourly (hour_at, {_COLUMNS})
            SELECT {_PART.format(period=_HOUR)} FROM calls c
            WHERE c.ended_at IS NOT NULL AND ($1::timestamptz IS NULL OR c.started_at >= $1)
              AND ($2::timestamptz IS NULL OR c.started_at < $2)
            GROUP BY 1, 2, 3, 4, 5""", start, end)
    # The days from start's to the one before end's end, and their whole span of calls.
    days = """(SELECT z.zone, ($1::timestamptz AT TIME ZONE z.zone)::date AS first,
                      (($2::timestamptz - interval '1 microsecond') AT TIME ZONE z.zone)::date AS last
               FROM call_stats_zone z)"""
    await conn.execute(f"DELETE FROM call_stats_daily s USING {days} d WHERE (d.first IS NULL OR s.day >= d.first) "
                       "AND (d.last IS NULL OR s.day <= d.last)", start, end)
    await conn.execute(
        f"""INSERT INTO call_stats_daily (day, {_COLUMNS})
            SELECT {_PART.format(period=_DAY.format(zone="d.zone"))} FROM calls c, {days} d
            WHERE c.ended_at IS NOT NULL
              AND (d.first IS NULL OR c.started_at >= d.first::timestamp AT TIME ZONE d.zone)
              AND (d.last IS NULL OR c.started_at < (d.last + 1)::timestamp AT TIME ZONE d.zone)
            GROUP BY 1, 2, 3, 4, 5""", start, end)
    return int(status.split()[-1])


async def rebuild(conn: asyncpg.Connection, start: dt.datetime | None = None, end: dt.datetime | None = None) -> int:
    """Recount the rollups over [start, end) (whole hours; without bounds, everything) from the calls there are:
    after a bulk load made with the triggers off, or to drop the counts of deleted calls. Writers wait meanwhile
    (calls is locked against writes). The number of hourly rows written."""
    async with conn.transaction():
        await conn.execute("LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE")
        return await _recount(conn, start, end)


async def set_zone(conn: asyncpg.Connection, timezone: str) -> bool:
    """The call centre's days in `timezone` (PBXCRM_TIMEZONE, at `pbxcrm migrate`): when it changes, the days
    are recounted from the calls there are (the days of deleted calls are lost). Whether it changed."""
    zoneinfo.ZoneInfo(timezone)  # a zone the database knows too (both read the IANA names)
    async with conn.transaction():
        await conn.execute("LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE")
        if await zone(conn) == timezone:
            return False
        await conn.execute("UPDATE call_stats_zone SET zone = $1", timezone)
        await conn.execute("DELETE FROM call_stats_daily")
        await conn.execute(
            f"""INSERT INTO call_stats_daily (day, {_COLUMNS})
                SELECT {_PART.format(period=_DAY.format(zone="$1::text"))} FROM calls c WHERE c.ended_at IS NOT NULL
                GROUP BY 1, 2, 3, 4, 5""", timezone)
    return True


async def differences(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The rollups' rows that differ from a count over the finished calls (none, while no call was deleted)."""
    rows = []
    for table, period, key in (("call_stats_hourly", _HOUR, "hour_at"),
                               ("call_stats_daily", _DAY.format(zone="(SELECT zone FROM call_stats_zone)"), "day")):
        rows += await conn.fetch(
            f"""WITH counted AS (SELECT {_PART.format(period=period)} FROM calls c WHERE c.ended_at IS NOT NULL
                                 GROUP BY 1, 2, 3, 4, 5),
                     kept AS (SELECT {key}, {_COLUMNS} FROM {table}
                              WHERE calls <> 0 OR talk_calls <> 0 OR wait_calls <> 0)
                SELECT '{table}' AS level, * FROM (
                    (SELECT 'counted' AS side, * FROM counted EXCEPT SELECT 'counted', * FROM kept)
                    UNION ALL
                    (SELECT 'kept', * FROM kept EXCEPT SELECT 'kept', * FROM counted)) d
                ORDER BY period, side""")
    return rows
