"""Creating and changing tasks and deals, with permission checks and the audit trail."""

from __future__ import annotations

import datetime as dt

import asyncpg

from crm import audit, notifications
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.roles import sees_everything
from crm.tasks import queries as q
from crm.tasks.model import TaskInput, is_overdue
from crm.users import queries as users_q


def can_edit(user, task: dict) -> bool:
    """The responsible user, the author, participants, supervisors and admins."""
    if sees_everything(user):
        return True
    ids = {task["responsible_user_id"], task["author_user_id"], *(p["id"] for p in task.get("participants", []))}
    return user["id"] in ids


async def _checked(conn: asyncpg.Connection, inp: TaskInput) -> TaskInput:
    kind = await q.task_type(conn, inp.type_id)
    if kind is None:
        raise ValidationError({"type_id": _("no such task type")})
    inp = inp.cleaned(kind["is_deal"])
    for user_id in (inp.responsible_user_id, *inp.participant_ids):
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
        await audit.record(conn, user["id"], "task", task_id, "create",
                           {"title": inp.title, "responsible": inp.responsible_user_id})
    return task_id


async def update(conn: asyncpg.Connection, user, task_id: int, inp: TaskInput, now: dt.datetime) -> None:
    current = await card(conn, user, task_id, now)
    if not can_edit(user, current):
        raise Forbidden(_("only the task's people may change it"))
    inp = await _checked(conn, inp)
    async with conn.transaction():
        await q.update_task(conn, task_id, inp)
        changes = {k: [current[k], getattr(inp, k)] for k in (
            "title", "status", "responsible_user_id", "deadline_date", "deadline_time", "amount", "outcome")
            if current[k] != getattr(inp, k)}
        if changes:
            await audit.record(conn, user["id"], "task", task_id, "update", changes)
        if "responsible_user_id" in changes:
            await notifications.task_assigned(conn, task_id, user["id"])


async def card(conn: asyncpg.Connection, user, task_id: int, now: dt.datetime) -> dict:
    task = await q.get_task(conn, task_id, now)
    if task is None:
        raise NotFound(_("no task %(number)d") % {"number": task_id})
    task["overdue"] = is_overdue(task["status"], task["deadline_date"], task["deadline_time"], now)
    task["can_edit"] = can_edit(user, task)
    return task
