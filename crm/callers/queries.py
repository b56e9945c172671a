"""SQL for the unknown callers list (issue 15): numbers on no card that called lately, their
answered and missed calls, and the open callback tasks that hold them (crm/tasks/callbacks.py).

Who sees a number (viewer_id None: supervisors and admins, everything): the members of a
queue one of its calls went through - waited in (calls.route's queue steps), was answered
in (calls.queue_id), or was handed to the dialplan's default queue - or that holds its
callback task; and whoever answered one of its calls or holds its task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from crm.calls.rules import DEFAULT_RULES, SEE, Rule
from crm.calls.rules_sql import condition
from crm.counterparties.queries import number_owner_sql
from crm.tasks.queries import visible_sql


@dataclass(frozen=True)
class CallersQuery:
    since: dt.datetime
    viewer_id: int | None = None
    page: int = 1
    size: int = 50
    # The call rules and their reader (crm/calls/rules.py): only the calls he may see are listed and counted.
    rules: tuple[Rule, ...] = DEFAULT_RULES
    reader: Mapping | None = None


# A call's (cl) queues, for their member {me}: answered in, waited in, or the default one via the dialplan.
_CALL_IN_MY_QUEUES = """EXISTS (
    SELECT 1 FROM queue_members m WHERE m.user_id = {me} AND (
        m.queue_id = cl.queue_id
        OR cl.route @> jsonb_build_array(jsonb_build_object('queue_id', m.queue_id))
        OR (cl.route @> '[{{"target_code": "dialplan"}}]'
            AND m.queue_id = (SELECT q.id FROM queues q WHERE q.is_default AND q.deleted_at IS NULL))))"""


async def unknown_callers(conn: asyncpg.Connection, query: CallersQuery) -> tuple[list[dict], int]:
    """One row a number, its latest call first; with its open callback tasks the viewer may see."""
    args: list = [query.since]

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    calls_seen = "true"
    if query.reader is not None:
        calls_seen, values = condition(query.rules, query.reader, SEE, alias="cl", start=len(args) + 1)
        args.extend(values)
    visible = "true"
    if query.viewer_id is not None:
        me = p(query.viewer_id)
        visible = (f"bool_or(cl.operator_user_id = {me} OR {_CALL_IN_MY_QUEUES.format(me=me)}) "
                   f"OR EXISTS (SELECT 1 FROM tasks t WHERE t.callback_normalized = cl.caller_normalized "
                   f"AND t.deleted_at IS NULL AND (t.responsible_user_id = {me} OR t.queue_id IN "
                   f"(SELECT m.queue_id FROM queue_members m WHERE m.user_id = {me})))")
    rows = [dict(r) for r in await conn.fetch(
        f"""SELECT cl.caller_normalized AS normalized,
                   (array_agg(cl.caller_number ORDER BY cl.started_at DESC, cl.id DESC))[1] AS number,
                   (array_agg(cl.id ORDER BY cl.started_at DESC, cl.id DESC))[1] AS last_call_id,
                   max(cl.started_at) AS last_call_at, count(*) AS calls,
                   count(*) FILTER (WHERE cl.status = 'answered') AS answered,
                   -- A callback request or a voicemail (issue 15) is no answered call either.
                   count(*) FILTER (WHERE cl.status IN ('missed', 'busy', 'failed', 'callback', 'voicemail'))
                       AS missed,
                   count(*) OVER () AS total
            FROM calls cl
            WHERE cl.direction = 'incoming' AND cl.counterparty_id IS NULL AND cl.caller_normalized IS NOT NULL
              AND cl.started_at >= $1 AND {number_owner_sql('cl.caller_normalized')} IS NULL AND {calls_seen}
            GROUP BY cl.caller_normalized
            HAVING {visible}
            ORDER BY max(cl.started_at) DESC, cl.caller_normalized
            LIMIT {p(query.size)} OFFSET {p((query.page - 1) * query.size)}""", *args)]
    total = rows[0]["total"] if rows else 0
    tasks = await _open_tasks(conn, [r["normalized"] for r in rows], query.viewer_id)
    for r in rows:
        r["tasks"] = tasks.get(r["normalized"], [])
    return rows, total


async def _open_tasks(conn: asyncpg.Connection, numbers: list[str], viewer_id: int | None) -> dict[str, list[dict]]:
    args: list = [numbers]

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    found: dict[str, list[dict]] = {}
    for r in await conn.fetch(
            f"""SELECT t.id, t.title, t.status, t.callback_normalized, t.responsible_user_id,
                       u.full_name AS responsible_name, q.name AS queue_name
                FROM tasks t LEFT JOIN users u ON u.id = t.responsible_user_id
                LEFT JOIN queues q ON q.id = t.queue_id
                WHERE t.callback_normalized = ANY($1::text[]) AND t.deleted_at IS NULL
                  AND t.status IN ('new', 'in_progress') AND {visible_sql(p, viewer_id)}
                ORDER BY t.id""", *args):
        found.setdefault(r["callback_normalized"], []).append(dict(r))
    return found
