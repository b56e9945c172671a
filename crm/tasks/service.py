"""Creating and changing tasks and deals, with permission checks and the audit trail."""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm import audit, notifications
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.queues import queries as queues_q
from crm.roles import sees_everything
from crm.tasks import queries as q
from crm.tasks.model import OPEN, TaskInput, can_see, can_take, is_overdue, task_people
from crm.users import queries as users_q

_TASK_FIELDS = ("title", "type_id", "status", "remark", "responsible_user_id", "counterparty_id", "deadline_date",
                "deadline_time", "amount", "outcome", "participant_ids")


def _audited(inp: TaskInput) -> dict:
    return {**{k: getattr(inp, k) for k in _TASK_FIELDS if k != "participant_ids"},
            "participant_ids": sorted(inp.participant_ids)}


def can_edit(user, task: dict) -> bool:
    """The responsible user, the author, participants, supervisors and admins."""
    return sees_everything(user) or user["id"] in task_people(task)


async def _checked(conn: asyncpg.Connection, inp: TaskInput, *, queue_task: bool = False) -> TaskInput:
    kind = await q.task_type(conn, inp.type_id)
    if kind is None:
        raise ValidationError({"type_id": _("no such task type")})
    if inp.responsible_user_id is None and not queue_task:
        raise ValidationError({"responsible_user_id": _("choose who is responsible")})
    inp = inp.cleaned(kind["is_deal"])
    for user_id in (inp.responsible_user_id, *inp.participant_ids):
        if user_id is None:
            continue  # a queue's task nobody has taken
        user = await users_q.user_by_id(conn, user_id)
        if user is None or user["deleted_at"] is not None or user["is_blocked"]:
            raise ValidationError({"responsible_user_id": _("no such active user")})
    if inp.counterparty_id is not None and not await conn.fetchval(
            "SELECT true FROM counterparties WHERE id = $1 AND deleted_at IS NULL", inp.counterparty_id):
        raise ValidationError({"counterparty_id": _("no such counterparty")})
    return inp


async def create(conn: asyncpg.Connection, user, inp: TaskInput) -> int:
    inp = await _checked(conn, inp)
    async with conn.transaction():
        task_id = await q.insert_task(conn, inp, user["id"])
        await notifications.task_assigned(conn, task_id, user["id"])
        await audit.record(conn, user["id"], "task", task_id, "create", audit.created(_audited(inp)))
    return task_id


async def update(conn: asyncpg.Connection, user, task_id: int, inp: TaskInput, now: dt.datetime) -> None:
    current = await card(conn, user, task_id, now)
    if not can_edit(user, current):
        raise Forbidden(_("only the task's people may change it"))
    # A queue's task may be given back to its queue: nobody responsible.
    inp = await _checked(conn, inp, queue_task=current["queue_id"] is not None)
    async with conn.transaction():
        await q.update_task(conn, task_id, inp)
        before = {**current, "participant_ids": sorted(p["id"] for p in current["participants"])}
        changes = audit.diff(before, _audited(inp), _TASK_FIELDS)
        if changes:
            await audit.record(conn, user["id"], "task", task_id, "update", changes)
        if "responsible_user_id" in changes:
            await notifications.task_assigned(conn, task_id, user["id"])


async def take(conn: asyncpg.Connection, user, task_id: int, now: dt.datetime) -> None:
    """A queue member takes the queue's task: it becomes theirs. The first of two wins."""
    task = await card(conn, user, task_id, now)
    if not task["can_take"]:
        if task["responsible_name"]:
            raise Conflict(_("%(name)s has taken this task already") % {"name": task["responsible_name"]})
        if task["queue_id"] is None or task["responsible_user_id"] is not None:
            raise Conflict(_("this task is not a queue's to take"))
        if task["status"] not in OPEN:
            raise Conflict(_("the task is closed"))
        raise Forbidden(_("only the members of its queue take a queue's task"))
    async with conn.transaction():
        if not await q.take_task(conn, task_id, user["id"]):
            raise Conflict(_("someone else has just taken this task"))
        await audit.record(conn, user["id"], "task", task_id, "take", {"responsible_user_id": [None, user["id"]]})


async def card(conn: asyncpg.Connection, user, task_id: int, now: dt.datetime) -> dict:
    """The task as this user may see it; a queue's task they may not see is not found."""
    task = await q.get_task(conn, task_id, now)
    my_queues = await queues_q.queue_ids_of(conn, user["id"]) if task and task["queue_id"] else set()
    if task is None or not can_see(user, task, my_queues):
        raise NotFound(_("no task %(number)d") % {"number": task_id})
    task["overdue"] = is_overdue(task["status"], task["deadline_date"], task["deadline_time"], now)
    task["can_edit"] = can_edit(user, task)
    task["can_take"] = can_take(user, task, my_queues)
    return task
