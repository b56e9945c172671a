"""The wallboard's picture, read from the database (issue 18): rebuilt on every change, so a reload or a
web worker's restart shows what is going on now.

Counted calls are those the reader may see (`visible(start)`: crm/calls/rules_sql.condition from $start,
as the reports); an agent's state is shown whatever call it is on, but the call's id only when the
reader may see that call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import asyncpg

from crm.agents import queries as agents_q
from crm.agents.state import AgentState
from crm.nodes import queries as nodes_q
from crm.nodes.state import not_up
from crm.queues import queries as queues_q
from crm.queues.model import THRESHOLDS
from crm.reports.queues import queue_rows
from crm.wallboard.board import (
    LiveCall,
    agent_state,
    count_states,
    longest_wait,
    paused_reasons,
    queue_colours,
    state_since,
)

Visible = Callable[[int], tuple[str, list]]
# A call not ended after this long is a leftover (the app gone while it went on), not a live one.
LIVE_HOURS = 12


def everything(start: int) -> tuple[str, list]:
    return "true", []


async def _waiting(conn: asyncpg.Connection, oldest: dt.datetime, visible: Visible) -> list[asyncpg.Record]:
    """The callers waiting in a queue now, longest first."""
    cond, params = visible(2)
    return await conn.fetch(
        f"""SELECT c.id, c.queue_id, c.caller_number, c.caller_name, c.queued_at, cp.display_name
            FROM calls c LEFT JOIN counterparties cp ON cp.id = c.counterparty_id
            WHERE c.ended_at IS NULL AND c.answered_at IS NULL AND c.queued_at IS NOT NULL
              AND c.queue_left_at IS NULL AND c.status = 'ringing' AND c.started_at > $1 AND {cond}
            ORDER BY c.queued_at, c.id""", oldest, *params)


async def _live_calls(conn: asyncpg.Connection, oldest: dt.datetime,
                      visible: Visible) -> tuple[dict[int, LiveCall], dict[int, LiveCall]]:
    """Who talks on a call now (an open leg, or a call placed from the user's phone, answered) and whose
    phone rings for one: two maps user id -> LiveCall."""
    cond, params = visible(2)
    rows = await conn.fetch(
        f"""SELECT l.user_id, c.id AS call_id, l.answered_at AS since, 'talking' AS kind, ({cond}) AS visible
            FROM call_legs l JOIN calls c ON c.id = l.call_id
            WHERE l.ended_at IS NULL AND l.user_id IS NOT NULL AND c.ended_at IS NULL AND c.started_at > $1
            UNION ALL
            SELECT c.caller_user_id, c.id, c.answered_at, 'talking', ({cond})
            FROM calls c WHERE c.ended_at IS NULL AND c.answered_at IS NOT NULL AND c.caller_user_id IS NOT NULL
              AND c.started_at > $1
            UNION ALL
            SELECT r.user_id, c.id, coalesce(c.ringing_at, c.started_at), 'ringing', ({cond})
            FROM calls c CROSS JOIN LATERAL unnest(c.ringing_user_ids) AS r(user_id)
            WHERE c.ended_at IS NULL AND c.ringing_user_ids <> '{{}}' AND c.started_at > $1
            ORDER BY 3""", oldest, *params)
    talking: dict[int, LiveCall] = {}
    ringing: dict[int, LiveCall] = {}
    for r in rows:
        into = talking if r["kind"] == "talking" else ringing
        into.setdefault(r["user_id"], LiveCall(r["user_id"], r["call_id"], r["since"], r["visible"]))
    return talking, ringing


async def _presence_times(conn: asyncpg.Connection, user_ids: list[int],
                          oldest: dt.datetime) -> dict[int, asyncpg.Record]:
    """Per agent: its last presence change or call end (presence_at), and its last wrap-up's start."""
    rows = await conn.fetch(
        """SELECT u.id AS user_id,
                  greatest((SELECT max(e.at) FROM agent_events e WHERE e.user_id = u.id AND e.event <> 'wrapup_start'),
                           (SELECT max(l.ended_at) FROM call_legs l WHERE l.user_id = u.id AND l.ended_at > $2))
                      AS presence_at,
                  (SELECT max(e.at) FROM agent_events e WHERE e.user_id = u.id AND e.event = 'wrapup_start')
                      AS wrapup_at
           FROM unnest($1::bigint[]) AS u(id)""", user_ids, oldest)
    return {r["user_id"]: r for r in rows}


async def _calls_today(conn: asyncpg.Connection, user_ids: list[int], day_start: dt.datetime,
                       visible: Visible) -> dict[int, int]:
    """How many of the calls since `day_start` each agent talked on (the ones the reader may see)."""
    cond, params = visible(3)
    rows = await conn.fetch(
        f"""SELECT l.user_id, count(DISTINCT c.id) AS calls FROM call_legs l JOIN calls c ON c.id = l.call_id
            WHERE l.user_id = ANY($1::bigint[]) AND c.started_at >= $2 AND {cond} GROUP BY 1""",
        user_ids, day_start, *params)
    return {r["user_id"]: r["calls"] for r in rows}


async def listenable(conn: asyncpg.Connection, call_ids: list[int], may_listen: Visible) -> set[int]:
    """Which of these calls the reader may listen to (`may_listen(start)`: the call rules' LISTEN
    condition from $start): the wallboard offers listen-in, whisper and barge on those."""
    if not call_ids:
        return set()
    cond, params = may_listen(2)
    rows = await conn.fetch(f"SELECT c.id FROM calls c WHERE c.id = ANY($1::bigint[]) AND {cond}", call_ids, *params)
    return {r["id"] for r in rows}


def _seconds(now: dt.datetime, since: dt.datetime | None) -> float | None:
    return None if since is None else round(max(0.0, (now - since).total_seconds()), 1)


async def snapshot(conn: asyncpg.Connection, *, timezone: str, visible: Visible = everything,
                   now: dt.datetime | None = None) -> dict:
    """The whole board: {"now", "queues": [...], "agents": [...], "nodes": [...], "nodes_not_up": [...]}
    (see web/views/wallboard.py for its JSON). The PBX nodes (issue 26): every node's state, and those
    down or silent, longest first, for the board's banner; none in a centre with one PBX."""
    now = now or await conn.fetchval("SELECT now()")
    assert now is not None
    zone = zoneinfo.ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    day_start = dt.datetime.combine(today, dt.time(), zone)
    oldest = now - dt.timedelta(hours=LIVE_HOURS)
    queues = await queues_q.list_queues(conn)
    user_ids = sorted({m.user_id for q in queues for m in q.members})
    names = {m.user_id: (m.name, m.extension) for q in queues for m in q.members}
    waiting = await _waiting(conn, oldest, visible)
    talking, ringing = await _live_calls(conn, oldest, visible)
    states = await agents_q.load_states(conn)
    times = await _presence_times(conn, user_ids, oldest)
    reasons = {r["id"]: r["name"] for r in await agents_q.list_reasons(conn)}
    today_rows = {r["queue_id"]: r for r in await queue_rows(conn, today, today, timezone, visible(4))}
    calls_today = await _calls_today(conn, user_ids, day_start, visible)

    def state_of(user_id: int, queue_id: int | None) -> str:
        return agent_state(states.get(user_id) or AgentState(user_id), now, talking=user_id in talking,
                           ringing=user_id in ringing, queue_id=queue_id)

    agents: list[dict[str, Any]] = []
    reason_of: dict[int, str] = {}
    for user_id in user_ids:
        presence = states.get(user_id) or AgentState(user_id)
        state = state_of(user_id, None)
        call = talking.get(user_id) or ringing.get(user_id)
        t = times.get(user_id)
        since = state_since(state, t["presence_at"] if t else None, call, t["wrapup_at"] if t else None)
        name, extension = names[user_id]
        reason_of[user_id] = reasons.get(presence.reason_id, "") if presence.paused and presence.reason_id else ""
        agents.append({
            "user_id": user_id, "name": name, "extension": extension, "state": state,
            "reason": reason_of[user_id] if state == "paused" else "",
            "since": since, "seconds": _seconds(now, since), "calls_today": calls_today.get(user_id, 0),
            "call_id": call.call_id if call is not None and call.visible and state in ("talking", "ringing")
            else None,
            "queue_ids": [q.id for q in queues if any(m.user_id == user_id for m in q.members)]})
    agents.sort(key=lambda a: (a["name"].lower(), a["user_id"]))

    out_queues = []
    for q in queues:
        mine = [w for w in waiting if w["queue_id"] == q.id]
        member_states = [(state_of(m.user_id, q.id), reason_of[m.user_id]) for m in q.members]
        day = today_rows.get(q.id)
        longest = longest_wait((w["queued_at"] for w in mine), now)
        level = day["service_level"] if day else None
        thresholds = {k: getattr(q, k) for k in THRESHOLDS}
        out_queues.append({
            "id": q.id, "name": q.name, "thresholds": thresholds,
            "waiting": [{"call_id": w["id"], "number": w["caller_number"],
                         "name": w["display_name"] or w["caller_name"] or "", "since": w["queued_at"],
                         "seconds": _seconds(now, w["queued_at"])} for w in mine],
            "longest_wait": None if longest is None else round(longest, 1),
            "longest_since": mine[0]["queued_at"] if mine else None,
            "agents": count_states(s for s, _r in member_states),
            "paused_reasons": paused_reasons(member_states),
            "offered": day["offered"] if day else 0, "answered": day["answered"] if day else 0,
            "abandoned": day["abandoned"] if day else 0, "service_level": level,
            "average_wait": day["average_wait"] if day else None,
            "average_talk": day["average_talk"] if day else None,
            "colours": queue_colours(longest, level, thresholds)})
    nodes = await nodes_q.current(conn, now)
    return {"now": now, "day": today, "queues": out_queues, "agents": agents,
            "nodes": [dataclasses.asdict(n) for n in nodes],
            "nodes_not_up": [dataclasses.asdict(n) for n in not_up(nodes)]}
