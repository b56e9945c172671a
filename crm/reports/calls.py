"""Call statistics (F5-F6): count, talk time and wait time by operator or call type over a
period, grouped by hour, day, week or month; and operator x type at once.

Wait time is calls.wait_seconds: from the call's start until it was answered, or until it
ended unanswered (how long the caller waited, whether or not anyone came).

A reader who sees every call, without tag filters, is answered from the rollups (crm/reports/call_rollup.py,
issue 25: by the call centre's day, or by the hour); anyone else from the calls they may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from crm.defaults import DEFAULT_TIMEZONE
from crm.reports import call_rollup
from crm.tags import and_call_tags

GROUPS = ("hour", "day", "week", "month")
BY = ("type", "operator")
TYPES = ("incoming", "outgoing", "internal", "missed")

# Missed is a type of its own (F5): an incoming call nobody answered.
_TYPE = "CASE WHEN c.direction = 'incoming' AND c.status <> 'answered' THEN 'missed' ELSE c.direction END"
NOBODY = "nobody"  # the operator of calls nobody took (a key of the JSON too); pages show it in words
_OPERATOR = f"coalesce(u.full_name, '{NOBODY}')"


@dataclass(frozen=True)
class CallStatsQuery:
    start: dt.date
    end: dt.date  # inclusive
    group: str = "day"
    by: str = "type"
    timezone: str = DEFAULT_TIMEZONE
    tag_ids: tuple[int, ...] = ()  # the call's counterparty has all of these tags
    without_tag_ids: tuple[int, ...] = ()  # and none of these


def buckets(query: CallStatsQuery) -> list[dt.datetime]:
    """Every bucket of the period, empty ones too, so a chart's gaps show as zeros."""
    step = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1)}
    current = dt.datetime.combine(query.start, dt.time())
    if query.group == "week":
        current -= dt.timedelta(days=current.weekday())
    if query.group == "month":
        current = current.replace(day=1)
    last = dt.datetime.combine(query.end, dt.time(23, 59))
    out = []
    while current <= last:
        out.append(current)
        if query.group == "month":
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            current += step[query.group]
    return out


async def _rollup(conn: asyncpg.Connection, query: CallStatsQuery, visible: tuple[str, list], tz: str) -> str | None:
    """The FROM item the rollups answer this report with (the period $1 to $2, the zone `tz`), or None."""
    which = await call_rollup.level(conn, visible, query.tag_ids, query.without_tag_ids, query.group, query.start,
                                    query.end, query.timezone)
    return call_rollup.source(which, tz) if which else None


async def call_series(conn: asyncpg.Connection, query: CallStatsQuery,
                      visible: tuple[str, list] = ("true", [])) -> dict:
    """Counted over the calls the reader may see (`visible`: crm/calls/rules_sql.condition from $5)."""
    if query.group not in GROUPS or query.by not in BY:
        raise ValueError("group and by must be whitelisted")
    key = _TYPE if query.by == "type" else _OPERATOR
    source = await _rollup(conn, query, visible, "$4")
    if source:
        rows = await conn.fetch(
            f"""SELECT date_trunc($3, c.started_at AT TIME ZONE $4) AS bucket, {key} AS key,
                       sum(c.calls)::bigint AS calls, sum(c.talk_seconds)::float AS seconds,
                       sum(c.wait_seconds)::float AS wait
                FROM {source} LEFT JOIN users u ON u.id = c.operator_user_id
                GROUP BY 1, 2 ORDER BY 1, 2""",
            query.start, query.end, query.group, query.timezone)
    else:
        where, args = and_call_tags(visible, 5, query.tag_ids, query.without_tag_ids)
        rows = await conn.fetch(
            f"""SELECT date_trunc($3, c.started_at AT TIME ZONE $4) AS bucket, {key} AS key,
                       count(*) AS calls, coalesce(sum(c.talk_seconds), 0)::float AS seconds,
                       coalesce(sum(c.wait_seconds), 0)::float AS wait
                FROM calls c LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
                WHERE c.started_at >= ($1::date::timestamp AT TIME ZONE $4)
                  AND c.started_at < (($2::date + 1)::timestamp AT TIME ZONE $4) AND {where}
                GROUP BY 1, 2 ORDER BY 1, 2""",
            query.start, query.end, query.group, query.timezone, *args)
    labels = buckets(query)
    index = {b: i for i, b in enumerate(labels)}
    keys = list(TYPES) if query.by == "type" else sorted({r["key"] for r in rows})
    series: dict[str, dict[str, list]] = {k: {"calls": [0] * len(labels), "seconds": [0.0] * len(labels),
                                              "wait": [0.0] * len(labels)} for k in keys}
    for r in rows:
        i = index.get(r["bucket"])
        if i is not None:
            series[r["key"]]["calls"][i] = r["calls"]
            series[r["key"]]["seconds"][i] = round(r["seconds"], 1)
            series[r["key"]]["wait"][i] = round(r["wait"], 1)
    return {"buckets": [b.isoformat(sep=" ", timespec="minutes") for b in labels], "series": series}


async def consolidated(conn: asyncpg.Connection, query: CallStatsQuery,
                       visible: tuple[str, list] = ("true", [])) -> list[dict]:
    """Count, total and average talk and wait time by operator and call type at once (F6), over the
    calls the reader may see (`visible` from $4)."""
    source = await _rollup(conn, query, visible, "$3")
    if source:
        rows = await conn.fetch(
            f"""SELECT {_OPERATOR} AS operator, {_TYPE} AS type, sum(c.calls)::bigint AS calls,
                       sum(c.talk_seconds)::float AS total_seconds,
                       coalesce(sum(c.talk_seconds) / nullif(sum(c.talk_calls), 0), 0)::float AS average_seconds,
                       sum(c.wait_seconds)::float AS total_wait_seconds,
                       coalesce(sum(c.wait_seconds) / nullif(sum(c.wait_calls), 0), 0)::float AS average_wait_seconds
                FROM {source} LEFT JOIN users u ON u.id = c.operator_user_id
                GROUP BY 1, 2 HAVING sum(c.calls) <> 0 ORDER BY 1, 2""",
            query.start, query.end, query.timezone)
    else:
        where, args = and_call_tags(visible, 4, query.tag_ids, query.without_tag_ids)
        rows = await conn.fetch(
            f"""SELECT {_OPERATOR} AS operator, {_TYPE} AS type, count(*) AS calls,
                       coalesce(sum(c.talk_seconds), 0)::float AS total_seconds,
                       coalesce(avg(c.talk_seconds), 0)::float AS average_seconds,
                       coalesce(sum(c.wait_seconds), 0)::float AS total_wait_seconds,
                       coalesce(avg(c.wait_seconds), 0)::float AS average_wait_seconds
                FROM calls c LEFT JOIN users u ON u.id = coalesce(c.operator_user_id, c.caller_user_id)
                WHERE c.started_at >= ($1::date::timestamp AT TIME ZONE $3)
                  AND c.started_at < (($2::date + 1)::timestamp AT TIME ZONE $3) AND {where}
                GROUP BY 1, 2 ORDER BY 1, 2""",
            query.start, query.end, query.timezone, *args)
    rounded = ("total_seconds", "average_seconds", "total_wait_seconds", "average_wait_seconds")
    return [{**dict(r), **{k: round(r[k], 1) for k in rounded}} for r in rows]
