"""SQL for tasks and deals: the Tasks section, a task's card, and writes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.counterparties import queries as cq
from crm.counterparties.listing import escape_like
from crm.defaults import DEFAULT_TIMEZONE
from crm.errors import Conflict, ValidationError
from crm.i18n import _
from crm.search import search_terms
from crm.tags import tag_conditions
from crm.tasks.model import TaskInput

SORTS = {
    "number": "t.id", "title": "lower(t.title)", "type": "tt.name", "status": "t.status",
    "responsible": "u.full_name", "deadline": "t.deadline_date", "counterparty": "cp.display_name",
    "created": "t.created_at", "amount": "t.amount",
}

_SELECT = """
    SELECT t.id, t.title, t.type_id, tt.name AS type_name, tt.is_deal, t.status, t.responsible_user_id,
           u.full_name AS responsible_name, t.author_user_id, a.full_name AS author_name, t.counterparty_id,
           cp.display_name AS counterparty_name, cp.remark AS counterparty_remark,
           t.deadline_date, t.deadline_time, t.remark, t.amount, t.outcome,
           t.created_at, t.closed_at, t.call_id, t.queue_id, q.name AS queue_name, t.callback_number,
           t.callback_normalized, t.callback_events
    FROM tasks t
    JOIN task_types tt ON tt.id = t.type_id
    LEFT JOIN users u ON u.id = t.responsible_user_id
    LEFT JOIN users a ON a.id = t.author_user_id
    LEFT JOIN counterparties cp ON cp.id = t.counterparty_id
    LEFT JOIN queues q ON q.id = t.queue_id
"""
# The queues a user is a member of, for a query that names the user as {me}.
_MY_QUEUES = "(SELECT m.queue_id FROM queue_members m WHERE m.user_id = {me})"


@dataclass(frozen=True)
class TaskQuery:
    q: str = ""
    # Whose tasks the list may show (crm/tasks/model.can_see): None, a supervisor's or admin's, all.
    viewer_id: int | None = None
    responsible_id: int | None = None
    # With responsible_id: also the tasks of that user's queues nobody has taken ("my tasks").
    with_their_queues: bool = False
    # Only queue tasks nobody has taken yet.
    untaken_only: bool = False
    statuses: tuple[str, ...] = ()
    deals_only: bool = False
    overdue_only: bool = False
    counterparty_id: int | None = None
    type_id: int | None = None
    tag_ids: tuple[int, ...] = ()
    without_tag_ids: tuple[int, ...] = ()
    # Periods (F2), inclusive dates in the call centre's time zone; None: open-ended.
    created: tuple[dt.date | None, dt.date | None] = (None, None)
    deadline: tuple[dt.date | None, dt.date | None] = (None, None)
    closed: tuple[dt.date | None, dt.date | None] = (None, None)
    timezone: str = DEFAULT_TIMEZONE
    sort: str = "deadline"
    descending: bool = False
    page: int = 1
    size: int = 50


def overdue_sql(p, now: dt.datetime) -> str:
    """SQL for is_overdue() of crm.tasks.model, with `now` as parameters."""
    today, time = p(now.date()), p(now.time().replace(tzinfo=None))
    return (f"(t.status IN ('new', 'in_progress') AND (t.deadline_date < {today} OR "
            f"(t.deadline_date = {today} AND t.deadline_time IS NOT NULL AND t.deadline_time < {time})))")


def visible_sql(p, viewer_id: int | None) -> str:
    """SQL for crm/tasks/model.can_see: what this viewer may see (None: everything)."""
    if viewer_id is None:
        return "true"
    me = p(viewer_id)
    return (f"(t.queue_id IS NULL OR t.responsible_user_id = {me} OR t.author_user_id = {me} "
            f"OR t.queue_id IN {_MY_QUEUES.format(me=me)} "
            f"OR EXISTS (SELECT 1 FROM task_participants tp WHERE tp.task_id = t.id AND tp.user_id = {me}))")


async def list_tasks(conn: asyncpg.Connection, query: TaskQuery, now: dt.datetime) -> tuple[list[dict], int]:
    args: list = []

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["t.deleted_at IS NULL", visible_sql(p, query.viewer_id)]
    if query.q.strip():
        q = query.q.strip()
        # The same search as the Clients list's: folded (ё as е), every word in any order (crm/search.py).
        matches = []
        for term in search_terms(q):
            likes = [p(f"%{escape_like(a)}%") for a in term]
            matches.append("(" + " OR ".join(f"search_fold(t.title) LIKE {like} OR search_fold(cp.display_name) "
                                             f"LIKE {like} OR search_fold(t.remark) LIKE {like}"
                                             for like in likes) + ")")
        number = q.lstrip("#")
        if number.isascii() and number.isdigit() and int(number) < 2**63:
            matches = ["(" + " AND ".join(matches or ["false"]) + f" OR t.id = {p(int(number))})"]
        where += matches or ["false"]
    if query.responsible_id is not None:
        who = p(query.responsible_id)
        theirs = f"t.responsible_user_id = {who}"
        if query.with_their_queues:
            theirs += f" OR (t.responsible_user_id IS NULL AND t.queue_id IN {_MY_QUEUES.format(me=who)})"
        where.append(f"({theirs})")
    if query.untaken_only:
        where.append("t.responsible_user_id IS NULL")
    if query.statuses:
        where.append(f"t.status = ANY({p(list(query.statuses))}::text[])")
    if query.deals_only:
        where.append("tt.is_deal")
    if query.counterparty_id is not None:
        where.append(f"t.counterparty_id = {p(query.counterparty_id)}")
    if query.type_id is not None:
        where.append(f"t.type_id = {p(query.type_id)}")
    where += tag_conditions(p, "t.id", "task", query.tag_ids, query.without_tag_ids)
    for column, (start, end) in (("created_at", query.created), ("closed_at", query.closed)):
        if not (start or end):
            continue  # no parameter for an unused time zone: PostgreSQL could not type it
        day = f"(t.{column} AT TIME ZONE {p(query.timezone)}::text)::date"
        if start:
            where.append(f"{day} >= {p(start)}")
        if end:
            where.append(f"{day} <= {p(end)}")
    if query.deadline[0]:
        where.append(f"t.deadline_date >= {p(query.deadline[0])}")
    if query.deadline[1]:
        where.append(f"t.deadline_date <= {p(query.deadline[1])}")
    overdue = overdue_sql(p, now)
    if query.overdue_only:
        where.append(overdue)
    direction = "DESC" if query.descending else "ASC"
    order = (f"{SORTS.get(query.sort, SORTS['deadline'])} {direction} NULLS LAST, "
             f"t.deadline_time {direction} NULLS LAST, t.id")
    # The count and (C5) the sum of the amounts of every row the filter finds, whatever the page.
    head = f"SELECT {overdue} AS overdue, count(*) OVER () AS total, sum(t.amount) OVER () AS total_amount, t.id,"
    sql = (f"{_SELECT.replace('SELECT t.id,', head, 1)} "
           f"WHERE {' AND '.join(where)} ORDER BY {order} "
           f"LIMIT {p(query.size)} OFFSET {p((query.page - 1) * query.size)}")
    rows = [dict(r) for r in await conn.fetch(sql, *args)]
    total = rows[0]["total"] if rows else 0
    return rows, total


async def get_task(conn: asyncpg.Connection, task_id: int, now: dt.datetime) -> dict | None:
    row = await conn.fetchrow(_SELECT + " WHERE t.id = $1 AND t.deleted_at IS NULL", task_id)
    if row is None:
        return None
    task = dict(row)
    task["participants"] = [dict(r) for r in await conn.fetch(
        """SELECT u.id, u.full_name FROM task_participants p JOIN users u ON u.id = p.user_id
           WHERE p.task_id = $1 ORDER BY u.full_name""", task_id)]
    task["callback_events"] = [{**e, "at": dt.datetime.fromisoformat(e["at"])} if isinstance(e.get("at"), str) else e
                               for e in json.loads(task["callback_events"])]
    # A stranger's number may be on a card by now (made from the unknown callers list).
    task["number_owner"] = (await cq.number_owner(conn, task["callback_normalized"])
                            if task["callback_normalized"] else None)
    return task


async def tasks_of_call(conn: asyncpg.Connection, call_id: int, viewer_id: int | None) -> list[asyncpg.Record]:
    """The tasks made of a call (a callback), those this viewer may see (None: all)."""
    args: list = [call_id]

    def p(value) -> str:
        args.append(value)
        return f"${len(args)}"

    return await conn.fetch(
        f"""SELECT t.id, t.title, t.status, t.responsible_user_id, u.full_name AS responsible_name,
                   q.name AS queue_name
            FROM tasks t LEFT JOIN users u ON u.id = t.responsible_user_id LEFT JOIN queues q ON q.id = t.queue_id
            WHERE (t.call_id = $1 OR t.callback_events @> jsonb_build_array(jsonb_build_object('call_id', $1::bigint)))
              AND t.deleted_at IS NULL AND {visible_sql(p, viewer_id)}
            ORDER BY t.id""", *args)


async def take_task(conn: asyncpg.Connection, task_id: int, user_id: int) -> bool:
    """Make an open queue task nobody has taken this user's; False when someone was first."""
    return await conn.fetchval(
        """UPDATE tasks SET responsible_user_id = $2, updated_at = now()
           WHERE id = $1 AND responsible_user_id IS NULL AND queue_id IS NOT NULL AND deleted_at IS NULL
             AND status IN ('new', 'in_progress')
           RETURNING true""", task_id, user_id) or False


async def insert_task(conn: asyncpg.Connection, inp: TaskInput, author_id: int) -> int:
    task_id = await conn.fetchval(
        """INSERT INTO tasks (title, type_id, status, responsible_user_id, author_user_id, counterparty_id,
                              deadline_date, deadline_time, remark, amount, outcome,
                              closed_at, callback_number, callback_normalized)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $3 IN ('done', 'cancelled') THEN now() END, $12, $13) RETURNING id""",
        inp.title, inp.type_id, inp.status, inp.responsible_user_id, author_id, inp.counterparty_id,
        inp.deadline_date, inp.deadline_time, inp.remark, inp.amount, inp.outcome,
        *(inp.call_number or (None, None)))
    await _set_participants(conn, task_id, inp.participant_ids)
    return task_id


async def update_task(conn: asyncpg.Connection, task_id: int, inp: TaskInput) -> None:
    await conn.execute(
        """UPDATE tasks SET title = $2, type_id = $3, status = $4, responsible_user_id = $5, counterparty_id = $6,
                  deadline_date = $7, deadline_time = $8, remark = $9, amount = $10, outcome = $11,
                  closed_at = CASE WHEN $4 IN ('done', 'cancelled') THEN coalesce(closed_at, now()) END,
                  updated_at = now()
           WHERE id = $1""",
        task_id, inp.title, inp.type_id, inp.status, inp.responsible_user_id, inp.counterparty_id,
        inp.deadline_date, inp.deadline_time, inp.remark, inp.amount, inp.outcome)
    await _set_participants(conn, task_id, inp.participant_ids)


async def _set_participants(conn: asyncpg.Connection, task_id: int, user_ids: tuple[int, ...]) -> None:
    await conn.execute("DELETE FROM task_participants WHERE task_id = $1", task_id)
    await conn.executemany("INSERT INTO task_participants (task_id, user_id) VALUES ($1, $2)",
                           [(task_id, uid) for uid in user_ids])


async def type_by_code(conn: asyncpg.Connection, code: str) -> int | None:
    """The id of the product's own task type `code` ("callback", "scheduled_call"; migration 0037),
    whatever the admin has renamed it to."""
    return await conn.fetchval("SELECT id FROM task_types WHERE code = $1", code)


async def task_types(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name, code, is_deal FROM task_types WHERE NOT archived ORDER BY is_deal, name")


async def task_type(conn: asyncpg.Connection, type_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, name, is_deal FROM task_types WHERE id = $1 AND NOT archived", type_id)


async def all_task_types(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT tt.id, tt.name, tt.is_deal, tt.archived,
                  (SELECT count(*) FROM tasks t WHERE t.type_id = tt.id) AS uses
           FROM task_types tt ORDER BY tt.archived, tt.is_deal, lower(tt.name)""")


async def save_task_type(conn: asyncpg.Connection, type_id: int | None, name: str, is_deal: bool,
                         archived: bool, user_id: int | None = None) -> int:
    """Types are renamed or archived, never deleted: old tasks keep theirs."""
    name = name.strip()
    if not 0 < len(name) <= 60:
        raise ValidationError({"name": _("a type name is 1 to 60 characters")})
    try:
        async with conn.transaction():
            if type_id is None:
                type_id = await conn.fetchval("INSERT INTO task_types (name, is_deal) VALUES ($1, $2) RETURNING id",
                                              name, is_deal)
                await audit.record(conn, user_id, "task_type", type_id, "create",
                                   audit.created({"name": name, "is_deal": is_deal}))
                return type_id
            before = await conn.fetchrow("SELECT name, archived FROM task_types WHERE id = $1 FOR UPDATE", type_id)
            await conn.execute("UPDATE task_types SET name = $2, archived = $3 WHERE id = $1", type_id, name, archived)
            changes = audit.diff(before, {"name": name, "archived": archived}, ("name", "archived")) if before else {}
            if changes:
                await audit.record(conn, user_id, "task_type", type_id, "update", changes)
        return type_id
    except asyncpg.UniqueViolationError:
        raise Conflict(_("a task type called %(name)s exists already") % {"name": repr(name)}) from None


async def open_tasks_of(conn: asyncpg.Connection, counterparty_id: int, limit: int = 5) -> list[asyncpg.Record]:
    """A counterparty's open tasks, soonest deadline first (the screen pop's list)."""
    return await conn.fetch(
        """SELECT id, title, status, deadline_date FROM tasks WHERE counterparty_id = $1 AND deleted_at IS NULL
           AND status IN ('new', 'in_progress') ORDER BY deadline_date NULLS LAST, id LIMIT $2""",
        counterparty_id, limit)
