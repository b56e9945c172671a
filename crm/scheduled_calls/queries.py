"""SQL for scheduled calls: plan one, read them as a user may, cancel one. The runner is runner.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from crm import audit
from crm.counterparties import permissions as cp_permissions
from crm.counterparties import service as cp_service
from crm.errors import Conflict, Forbidden, NotFound, ValidationError
from crm.i18n import gettext as _
from crm.phones import InvalidPhone, normalize_phone
from crm.roles import is_customer, sees_everything
from crm.scheduled_calls import model
from crm.tasks import service as task_service


@dataclass(frozen=True)
class ScheduledCallInput:
    number: str  # as typed; stored normalised (E.164, or an extension as it is)
    due_at: dt.datetime
    action: str = model.REMIND
    note: str = ""
    counterparty_id: int | None = None
    task_id: int | None = None


_SELECT = """SELECT s.*, u.full_name AS user_name, u.extension AS user_extension,
                    coalesce(cp.display_name, '') AS counterparty_name, t.title AS task_title,
                    r.status AS request_status, c.id AS call_id
             FROM scheduled_calls s
             JOIN users u ON u.id = s.user_id
             LEFT JOIN counterparties cp ON cp.id = s.counterparty_id
             LEFT JOIN tasks t ON t.id = s.task_id
             LEFT JOIN call_requests r ON r.id = s.request_id
             LEFT JOIN calls c ON c.channel_id = r.channel_id"""


def refuse_customers(user) -> None:
    if is_customer(user):
        raise Forbidden(_("scheduled calls are not open to customers"))


async def _checked(conn: asyncpg.Connection, user, inp: ScheduledCallInput, now: dt.datetime,
                   region: str) -> tuple[str, int | None]:
    """The number as stored and the counterparty, or the form's errors (all of them at once)."""
    errors: dict[str, str] = {}
    number = ""
    try:
        number = normalize_phone(inp.number, region)
    except InvalidPhone as e:
        errors["number"] = _("%(number)s is not a phone number: %(why)s") % {"number": inp.number, "why": e}
    if inp.action not in model.ACTIONS:
        errors["action"] = _("choose what happens at that time")
    elif inp.action == model.DIAL and not user["extension"]:
        errors["action"] = _("you have no extension for the PBX to ring: choose a reminder")
    if not model.due_in_time(inp.due_at, now):
        errors["due_date"] = _("that time has passed")
    counterparty_id = inp.counterparty_id
    if inp.task_id is not None:
        task = await task_service.card(conn, user, inp.task_id, now)  # NotFound: not this user's to see
        counterparty_id = counterparty_id or task["counterparty_id"]
    if counterparty_id is not None:
        row = await conn.fetchrow("SELECT id, deleted_at FROM counterparties WHERE id = $1", counterparty_id)
        if row is None or not cp_permissions.can_view(user, row):
            raise await cp_service.not_found(conn, counterparty_id)
    if errors:
        raise ValidationError(errors)
    return number, counterparty_id


async def create(conn: asyncpg.Connection, user, inp: ScheduledCallInput, *, now: dt.datetime, region: str) -> int:
    """Plan a call for `user` (who is reminded, or whose phone the PBX rings first)."""
    refuse_customers(user)
    number, counterparty_id = await _checked(conn, user, inp, now, region)
    async with conn.transaction():
        call_id = await conn.fetchval(
            """INSERT INTO scheduled_calls (user_id, number, counterparty_id, task_id, due_at, action, note, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $1) RETURNING id""",
            user["id"], number, counterparty_id, inp.task_id, inp.due_at, inp.action, inp.note)
        await audit.record(conn, user["id"], "scheduled_call", call_id, "create", {
            "number": number, "due_at": inp.due_at.isoformat(), "action": inp.action, "note": inp.note,
            "counterparty_id": counterparty_id, "task_id": inp.task_id})
    return call_id


async def create_campaign_callback(conn: asyncpg.Connection, user, *, campaign_id: int, number_id: int,
                                   due_at: dt.datetime, note: str = "") -> int:
    """The client asked to be called back (a campaign call, issue 22): at `due_at` the campaign dials it
    again, the client first (the preview mode: offers it to an agent). The number waits until then."""
    async with conn.transaction():
        number = await conn.fetchrow(
            """UPDATE dial_campaign_numbers SET status = 'pending', next_at = $3, offered_to = NULL,
                      lease_until = NULL, updated_at = now()
               WHERE id = $2 AND campaign_id = $1 AND status <> 'skipped'
               RETURNING number, counterparty_id, (SELECT order_id FROM dial_campaigns WHERE id = $1) AS order_id""",
            campaign_id, number_id, due_at)
        if number is None:
            raise NotFound(_("no such number in this campaign"))
        call_id = await conn.fetchval(
            """INSERT INTO scheduled_calls (user_id, number, counterparty_id, order_id, campaign_id, due_at, action,
                                            note, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, 'dial', $7, $1) RETURNING id""",
            user["id"], number["number"], number["counterparty_id"], number["order_id"], campaign_id, due_at, note)
        await audit.record(conn, user["id"], "scheduled_call", call_id, "create", {
            "number": number["number"], "due_at": due_at.isoformat(), "action": "dial", "campaign_id": campaign_id})
    return call_id


async def get(conn: asyncpg.Connection, user, call_id: int) -> asyncpg.Record:
    """The scheduled call as this user may see it; another's (to a non-supervisor) is not found."""
    refuse_customers(user)
    row = await conn.fetchrow(f"{_SELECT} WHERE s.id = $1", call_id)
    if row is None or not model.sees(user, row):
        raise NotFound(_("no scheduled call %(number)d") % {"number": call_id})
    return row


def _scope(user) -> tuple[str, list]:
    if sees_everything(user):
        return "TRUE", []
    return "s.user_id = $1", [user["id"]]


async def count_visible(conn: asyncpg.Connection, user) -> int:
    refuse_customers(user)
    where, args = _scope(user)
    return await conn.fetchval(f"SELECT count(*) FROM scheduled_calls s WHERE {where}", *args)


async def visible(conn: asyncpg.Connection, user, limit: int, offset: int) -> list[asyncpg.Record]:
    """The user's scheduled calls (supervisors: everyone's), the planned ones first by time, then the rest
    newest first."""
    refuse_customers(user)
    where, args = _scope(user)
    n = len(args)
    return await conn.fetch(
        f"""{_SELECT} WHERE {where}
            ORDER BY (s.status = 'pending') DESC,
                     CASE WHEN s.status = 'pending' THEN s.due_at END ASC, s.due_at DESC, s.id DESC
            LIMIT ${n + 1} OFFSET ${n + 2}""", *args, limit, offset)


async def cancel(conn: asyncpg.Connection, user, call_id: int) -> None:
    """Cancel a planned call (one already run is past cancelling)."""
    refuse_customers(user)
    async with conn.transaction():
        row = await conn.fetchrow("SELECT id, user_id, status FROM scheduled_calls WHERE id = $1 FOR UPDATE",
                                  call_id)
        if row is None or not model.sees(user, row):
            raise NotFound(_("no scheduled call %(number)d") % {"number": call_id})
        if not model.may_cancel(user, row):
            raise Conflict(_("this call is %(status)s: only a planned call can be cancelled")
                           % {"status": model.status_text(row["status"])})
        await conn.execute("UPDATE scheduled_calls SET status = 'cancelled', updated_at = now() WHERE id = $1",
                           call_id)
        await audit.record(conn, user["id"], "scheduled_call", call_id, "cancel",
                           {"status": [row["status"], model.CANCELLED]})


async def phones_of(conn: asyncpg.Connection, counterparty_id: int | None) -> list[str]:
    """A counterparty's phone numbers as written, for the form's choices (a task's client)."""
    if counterparty_id is None:
        return []
    rows = await conn.fetch("SELECT value FROM contacts WHERE counterparty_id = $1 AND kind = 'phone' "
                            "AND deleted_at IS NULL ORDER BY id", counterparty_id)
    return [r["value"] for r in rows]
