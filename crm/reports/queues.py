"""Queue and agent reports (issue 18): SQL aggregates over the calls the reader may see.

Offered: incoming calls that entered a queue (calls.queue_id) and ended. Answered: picked up.
Abandoned: the caller hung up in the queue before an answer (status missed, busy or failed: not
sent to voicemail or a callback); its wait is the wait before abandon. Waits count in the queue:
from calls.queued_at, not from the call's start (a greeting or an IVR menu is not waiting in a queue).
Service level: the share of offered calls answered within their queue's threshold
(queues.service_level_seconds, the admin's; a total over several queues counts each call against its
own queue's).
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm.reports.agent_sessions import Event, sessions

# A new queue's service level threshold (issue 18: "default 20 s"; the column's default in 0032).
SERVICE_LEVEL_SECONDS = 20
GROUPS = ("hour", "day", "week", "month")

_PERIOD = """c.started_at >= ($1::date::timestamp AT TIME ZONE $3::text)
             AND c.started_at < (($2::date + 1)::timestamp AT TIME ZONE $3::text)"""
_ABANDONED = "c.status IN ('missed', 'busy', 'failed')"
# The wait in the queue (0032): from entering it to the answer, to leaving it, or to the hang-up. Calls
# logged before 0032 have no queued_at: their wait counts from the call's start, as it did then (the
# greeting and IVR time is in it).
_QUEUE_WAIT = """extract(epoch FROM coalesce(c.answered_at, c.queue_left_at, c.ended_at)
                                   - coalesce(c.queued_at, c.started_at))"""
_COUNTS = f"""count(*) AS offered,
    count(*) FILTER (WHERE c.status = 'answered') AS answered,
    count(*) FILTER (WHERE {_ABANDONED}) AS abandoned,
    count(*) FILTER (WHERE c.status = 'answered' AND {_QUEUE_WAIT} <= q.service_level_seconds) AS in_time,
    avg({_QUEUE_WAIT}) FILTER (WHERE c.status = 'answered')::float AS average_wait,
    avg(c.talk_seconds) FILTER (WHERE c.status = 'answered')::float AS average_talk,
    avg({_QUEUE_WAIT}) FILTER (WHERE {_ABANDONED})::float AS average_abandon_wait,
    max({_QUEUE_WAIT}) FILTER (WHERE {_ABANDONED})::float AS max_abandon_wait"""
_OFFERED = "c.queue_id IS NOT NULL AND c.direction = 'incoming' AND c.status <> 'ringing'"


def _finish(row) -> dict:
    r = dict(row)
    for k in ("average_wait", "average_talk", "average_abandon_wait", "max_abandon_wait"):
        r[k] = round(r[k], 1) if r[k] is not None else None
    r["service_level"] = r.pop("in_time") / r["offered"] if r["offered"] else None
    return r


async def queue_rows(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str,
                     visible: tuple[str, list] = ("true", [])) -> list[dict]:
    """One row per queue with calls in the period (days on the call centre's clock, both included);
    the calls the reader may see (`visible` from $4)."""
    rows = await conn.fetch(
        f"""SELECT q.id AS queue_id, q.name, q.service_level_seconds, {_COUNTS}
            FROM calls c JOIN queues q ON q.id = c.queue_id
            WHERE {_OFFERED} AND {_PERIOD} AND {visible[0]}
            GROUP BY q.id ORDER BY lower(q.name), q.id""", start, end, timezone, *visible[1])
    return [_finish(r) for r in rows]


async def queue_totals(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str,
                       visible: tuple[str, list] = ("true", [])) -> dict:
    row = await conn.fetchrow(f"""SELECT {_COUNTS} FROM calls c JOIN queues q ON q.id = c.queue_id
                                  WHERE {_OFFERED} AND {_PERIOD} AND {visible[0]}""",
                              start, end, timezone, *visible[1])
    return _finish(row)


async def queue_series(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str, group: str,
                       visible: tuple[str, list] = ("true", [])) -> list[dict]:
    """The totals by hour, day, week or month (`visible` from $5); empty periods left out."""
    if group not in GROUPS:
        raise ValueError("group must be whitelisted")
    rows = await conn.fetch(
        f"""SELECT date_trunc($4, c.started_at AT TIME ZONE $3::text) AS bucket, {_COUNTS}
            FROM calls c JOIN queues q ON q.id = c.queue_id WHERE {_OFFERED} AND {_PERIOD} AND {visible[0]}
            GROUP BY 1 ORDER BY 1""", start, end, timezone, group, *visible[1])
    return [_finish(r) for r in rows]


async def agent_rows(conn: asyncpg.Connection, start: dt.date, end: dt.date, timezone: str, now: dt.datetime,
                     visible: tuple[str, list] = ("true", [])) -> list[dict]:
    """Per agent (a user with presence events or answered calls in the period): seconds logged in, paused
    by reason (reason id -> seconds), talk seconds, calls handled and average handle (talk) time over
    the calls the reader may see (`visible` from $4)."""
    bounds = await conn.fetchrow("""SELECT $1::date::timestamp AT TIME ZONE $3::text AS start,
                                           ($2::date + 1)::timestamp AT TIME ZONE $3::text AS end""",
                                 start, end, timezone)
    calls = {r["user_id"]: r for r in await conn.fetch(
        f"""SELECT c.operator_user_id AS user_id, count(*) AS handled,
                   coalesce(sum(c.talk_seconds), 0)::float AS talk
            FROM calls c WHERE c.status = 'answered' AND c.operator_user_id IS NOT NULL
              AND {_PERIOD} AND {visible[0]} GROUP BY 1""", start, end, timezone, *visible[1])}
    events: dict[int, list[Event]] = {}
    for r in await conn.fetch(
            """SELECT user_id, event, pause_reason_id, at FROM agent_events
               WHERE queue_id IS NULL AND event IN ('login', 'logout', 'pause', 'resume') AND at < $1
               ORDER BY user_id, at""", bounds["end"]):
        events.setdefault(r["user_id"], []).append(Event(r["at"], r["event"], r["pause_reason_id"]))
    ids = sorted(set(calls) | set(events))
    names = {r["id"]: r["full_name"] for r in await conn.fetch(
        "SELECT id, full_name FROM users WHERE id = ANY($1::bigint[])", ids)}
    out = []
    for user_id in ids:
        s = sessions(events.get(user_id, []), bounds["start"], bounds["end"], now)
        c = calls.get(user_id)
        handled, talk = (c["handled"], round(c["talk"], 1)) if c else (0, 0.0)
        if not (handled or s.logged_in):
            continue
        out.append({"user_id": user_id, "name": names.get(user_id, ""), "logged_in": s.logged_in,
                    "paused": s.paused_total, "paused_by_reason": s.paused, "talk": talk, "handled": handled,
                    "average_handle": round(talk / handled, 1) if handled else None})
    return sorted(out, key=lambda r: (r["name"].lower(), r["user_id"]))


async def reason_names(conn: asyncpg.Connection) -> dict[int, tuple[str | None, str]]:
    """Every pause reason, deleted ones too (their pauses stay in the reports): id -> (code, name)."""
    return {r["id"]: (r["code"], r["name"]) for r in await conn.fetch("SELECT id, code, name FROM pause_reasons")}
