"""SQL for agent presence (issue 18): states, their changes (agent_events) and the pause reasons.

Every change is stored with its time and NOTIFYed on CHANNEL as JSON ({"user_id", "status",
"reason_id", "queue_id", "event", "at"}, and "until" for a wrap-up ended early): the Stasis app
reloads who it may ring, and a wallboard may subscribe later.
"""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from crm import audit
from crm.agents.state import ACTIONS, AgentState, Change, NotAllowed, apply, moved
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import _
from crm.queues import queries as queues_q

CHANNEL = "pbxcrm_agents"
SOURCES = ("web", "api", "phone", "app")

_STATES = """
    SELECT s.user_id, s.logged_in, s.paused, s.pause_reason_id, s.wrapup_until,
           ARRAY(SELECT o.queue_id FROM agent_queue_logouts o WHERE o.user_id = s.user_id) AS queues_out
    FROM agent_states s
"""


def _state(row) -> AgentState:
    return AgentState(row["user_id"], row["logged_in"], row["paused"], row["pause_reason_id"],
                      frozenset(row["queues_out"]), row["wrapup_until"])


async def load_states(conn: asyncpg.Connection) -> dict[int, AgentState]:
    """Every agent that used presence (the others are logged in: crm/agents/state.py)."""
    return {r["user_id"]: _state(r) for r in await conn.fetch(_STATES)}


async def state_of(conn: asyncpg.Connection, user_id: int) -> AgentState:
    row = await conn.fetchrow(_STATES + " WHERE s.user_id = $1", user_id)
    return _state(row) if row is not None else AgentState(user_id)


async def _notify(conn: asyncpg.Connection, state: AgentState, event: str, queue_id: int | None,
                  at: dt.datetime, until: dt.datetime | None = None) -> None:
    payload = {"user_id": state.user_id, "status": state.status(at), "reason_id": state.reason_id,
               "event": event, "queue_id": queue_id, "at": at.isoformat()}
    if until is not None:
        payload["until"] = until.isoformat()
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(payload))


_MESSAGES = {
    "not_logged_in": lambda: _("log in to your queues first"),
    "not_paused": lambda: _("you are not paused"),
    "no_such_queue": lambda: _("you are not a member of that queue"),
    "not_in_wrapup": lambda: _("you are not in wrap-up"),
}


async def change(conn: asyncpg.Connection, user_id: int, action: str, *, source: str,
                 queue_id: int | None = None, reason_id: int | None = None) -> AgentState:
    """Log in, log out, pause (with a reason), resume or end the wrap-up early: the state stored, each
    event with its time and NOTIFYed (an early wrap-up's end with the time it was to end: "until",
    which the app's own note of it must match to be forgotten). Raises Conflict (in words) when the
    action cannot be done, NotFound for a reason or user that is not there; nothing is changed then."""
    assert source in SOURCES
    if action not in ACTIONS:
        raise ValidationError({"action": _("must be log in, log out, pause, resume or end wrap-up")})
    async with conn.transaction():
        # The row locked: two changes of one agent at once are made one after the other.
        await conn.execute("INSERT INTO agent_states (user_id) SELECT id FROM users WHERE id = $1 "
                           "AND deleted_at IS NULL ON CONFLICT (user_id) DO NOTHING", user_id)
        row = await conn.fetchrow(_STATES + " WHERE s.user_id = $1 FOR UPDATE OF s", user_id)
        if row is None:
            raise NotFound(_("no user %(id)d") % {"id": user_id})
        if reason_id is not None and not await conn.fetchval(
                "SELECT true FROM pause_reasons WHERE id = $1 AND deleted_at IS NULL", reason_id):
            raise NotFound(_("no such pause reason"))
        member_of = await queues_q.queue_ids_of(conn, user_id)
        at = await conn.fetchval("SELECT now()")
        before = _state(row)
        try:
            done: Change = apply(before, action, queue_id=queue_id, reason_id=reason_id, member_of=member_of,
                                 now=at)
        except NotAllowed as e:
            raise Conflict(_MESSAGES[e.why]()) from None
        if not done.events:
            return done.state
        new = done.state
        await conn.execute(
            """UPDATE agent_states SET logged_in = $2, paused = $3, pause_reason_id = $4, wrapup_until = $5,
                                       changed_at = $6
               WHERE user_id = $1""", user_id, new.logged_in, new.paused, new.reason_id, new.wrapup_until, at)
        await conn.execute("DELETE FROM agent_queue_logouts WHERE user_id = $1 AND NOT queue_id = ANY($2::bigint[])",
                           user_id, list(new.queues_out))
        await conn.executemany(
            "INSERT INTO agent_queue_logouts (user_id, queue_id, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(user_id, q, at) for q in new.queues_out])
        await conn.executemany(
            """INSERT INTO agent_events (user_id, queue_id, event, pause_reason_id, source, at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            [(user_id, q, event, reason, source, at) for event, q, reason in done.events])
        event, q, _reason = done.events[-1]
        await _notify(conn, new, event, q, at, until=before.wrapup_until if event == "wrapup_end" else None)
        return new


async def start_wrapup(conn: asyncpg.Connection, user_id: int, queue_id: int | None, until: dt.datetime) -> None:
    """After a queue call: not rung before `until` (the app keeps the same in memory)."""
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO agent_states (user_id, wrapup_until) SELECT id, $2 FROM users WHERE id = $1
               ON CONFLICT (user_id) DO UPDATE SET wrapup_until = EXCLUDED.wrapup_until""", user_id, until)
        at = await conn.fetchval(
            """INSERT INTO agent_events (user_id, queue_id, event, source) VALUES ($1, $2, 'wrapup_start', 'app')
               RETURNING at""", user_id, queue_id)
        await _notify(conn, await state_of(conn, user_id), "wrapup_start", queue_id, at)


async def end_wrapup(conn: asyncpg.Connection, user_id: int, queue_id: int | None, until: dt.datetime) -> bool:
    """The wrap-up that was to end at `until` ended (unless a later call started another): stored."""
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE agent_states SET wrapup_until = NULL WHERE user_id = $1 AND wrapup_until = $2", user_id, until)
        if status == "UPDATE 0":
            return False
        at = await conn.fetchval(
            """INSERT INTO agent_events (user_id, queue_id, event, source) VALUES ($1, $2, 'wrapup_end', 'app')
               RETURNING at""", user_id, queue_id)
        await _notify(conn, await state_of(conn, user_id), "wrapup_end", queue_id, at)
        return True


async def events_of(conn: asyncpg.Connection, user_id: int, limit: int = 100) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT event, queue_id, pause_reason_id, source, at FROM agent_events WHERE user_id = $1
           ORDER BY at, id LIMIT $2""", user_id, limit)


# ---- the web's header control ----

async def presence(conn: asyncpg.Connection, user_id: int) -> dict | None:
    """What the header shows a queue member: its state, its queues (logged in to each or not) and the
    pause reasons; None for a user who is in no queue (no control then)."""
    queues = await conn.fetch(
        """SELECT q.id, q.name FROM queue_members m JOIN queues q ON q.id = m.queue_id AND q.deleted_at IS NULL
           WHERE m.user_id = $1 ORDER BY q.is_default DESC, lower(q.name)""", user_id)
    if not queues:
        return None
    state = await state_of(conn, user_id)
    now = await conn.fetchval("SELECT now()")
    return {"state": state, "status": state.status(now),
            "queues": [{"id": q["id"], "name": q["name"], "logged_in": state.in_queue(q["id"])} for q in queues],
            "reasons": await list_reasons(conn)}


def presence_json(presence_: dict) -> dict:
    state: AgentState = presence_["state"]
    return {"status": presence_["status"], "logged_in": state.logged_in, "paused": state.paused,
            "reason_id": state.reason_id,
            "wrapup_until": state.wrapup_until.isoformat() if state.wrapup_until else None,
            "queues": presence_["queues"],
            "reasons": [{"id": r["id"], "number": r["number"], "name": r["name"]} for r in presence_["reasons"]]}


# ---- pause reasons, kept by the admin ----

async def list_reasons(conn: asyncpg.Connection) -> list[dict]:
    """The live reasons in the admin's order, each with its *74N number and its name in the reader's
    language (a built-in's code translated: crm/labels.py PAUSE_REASON)."""
    from crm.labels import label

    rows = await conn.fetch("""SELECT id, code, name FROM pause_reasons WHERE deleted_at IS NULL
                               ORDER BY position, id""")
    return [{"id": r["id"], "code": r["code"], "number": n,
             "name": r["name"] or label("pause_reason", r["code"])} for n, r in enumerate(rows, 1)]


async def reason_ids(conn: asyncpg.Connection) -> list[int]:
    """The live reasons' ids in the admin's order: *74N names the Nth."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM pause_reasons WHERE deleted_at IS NULL ORDER BY position, id")]


async def save_reason(conn: asyncpg.Connection, user_id: int, reason_id: int | None, name: str) -> int:
    """Add a reason at the end of the list, or rename one (a built-in renamed keeps its code but shows
    the admin's name)."""
    name = name.strip()
    if not 0 < len(name) <= 60:
        raise ValidationError({"name": _("a reason is 1 to 60 characters")})
    try:
        async with conn.transaction():
            before = None
            if reason_id is None:
                reason_id = await conn.fetchval(
                    """INSERT INTO pause_reasons (name, position)
                       VALUES ($1, (SELECT coalesce(max(position), 0) + 1 FROM pause_reasons)) RETURNING id""", name)
            else:
                before = await conn.fetchrow("SELECT name FROM pause_reasons WHERE id = $1 AND deleted_at IS NULL "
                                             "FOR UPDATE", reason_id)
                if before is None:
                    raise NotFound(_("no such pause reason"))
                await conn.execute("UPDATE pause_reasons SET name = $2 WHERE id = $1", reason_id, name)
            changes = audit.diff(before, {"name": name})
            if changes:
                await audit.record(conn, user_id, "pause_reason", reason_id, "create" if before is None else "update",
                                   changes)
    except asyncpg.UniqueViolationError:
        raise Conflict(_("a reason called %(name)s exists already") % {"name": repr(name)}) from None
    assert reason_id is not None
    return reason_id


async def delete_reason(conn: asyncpg.Connection, user_id: int, reason_id: int) -> None:
    """Gone from the list (agents paused with it stay paused; the events keep it)."""
    async with conn.transaction():
        row = await conn.fetchrow("UPDATE pause_reasons SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL "
                                  "RETURNING code, name", reason_id)
        if row is None:
            raise NotFound(_("no such pause reason"))
        await audit.record(conn, user_id, "pause_reason", reason_id, "delete",
                           audit.deleted({"name": row["name"] or row["code"]}))


async def move_reason(conn: asyncpg.Connection, user_id: int, reason_id: int, steps: int) -> None:
    """The reason `steps` places earlier (negative) or later in the list: the live reasons numbered
    1, 2, ... again in their new order (a reason's *74N changes with it); each new place audited."""
    async with conn.transaction():
        rows = await conn.fetch("""SELECT id, position FROM pause_reasons WHERE deleted_at IS NULL
                                   ORDER BY position, id FOR UPDATE""")
        before = {r["id"]: r["position"] for r in rows}
        if reason_id not in before:
            raise NotFound(_("no such pause reason"))
        for position, moved_id in enumerate(moved([r["id"] for r in rows], reason_id, steps), 1):
            if before[moved_id] != position:
                await conn.execute("UPDATE pause_reasons SET position = $2 WHERE id = $1", moved_id, position)
                await audit.record(conn, user_id, "pause_reason", moved_id, "move",
                                   {"position": [before[moved_id], position]})
