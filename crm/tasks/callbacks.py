"""A missed call from a known client becomes a callback task for its manager (H10).

One task per client per day, however often the client rings: the unique
index tasks_one_callback_per_day decides, so two app processes cannot double it.
The task's title and remark are the manager's to read: written in their language.
"""

from __future__ import annotations

import asyncpg

from crm import formatting, i18n, notifications
from crm.i18n import gettext as _


async def create_for_missed_call(conn: asyncpg.Connection, channel_id: str, timezone: str) -> int | None:
    """The new task's id, or None (answered, unknown caller, no manager, or today's task exists)."""
    async with conn.transaction():
        call = await _missed_call(conn, channel_id, timezone)
        if call is None:
            return None
        manager = call["responsible_user_id"]
        with i18n.using(await notifications.recipient_language(conn, manager)):
            title = _("Call back %(name)s") % {"name": call["display_name"]}
            remark = _("Missed call from %(number)s at %(time)s") % {
                "number": call["caller_number"], "time": formatting.time_of_day(call["local_start"])}
        task_id = await conn.fetchval(
            # due_notified_at: the missed-call notice is the reminder; no second one for "due today".
            """INSERT INTO tasks (title, type_id, responsible_user_id, counterparty_id, call_id, deadline_date,
                                  remark, callback_for_date, due_notified_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $6, now())
               ON CONFLICT (counterparty_id, callback_for_date) WHERE callback_for_date IS NOT NULL DO NOTHING
               RETURNING id""",
            title, call["type_id"], manager, call["counterparty_id"], call["call_id"], call["local_start"].date(),
            remark)
        if task_id is not None:
            await notifications.queue(conn, manager, "missed_call", title, remark, f"/tasks/{task_id}")
    return task_id


async def _missed_call(conn: asyncpg.Connection, channel_id: str, timezone: str) -> asyncpg.Record | None:
    """The missed incoming call from a client with an active manager, with what its task needs."""
    return await conn.fetchrow(
        """SELECT c.id AS call_id, c.caller_number, c.started_at AT TIME ZONE $2 AS local_start,
                  cp.id AS counterparty_id, cp.display_name, cp.responsible_user_id, t.id AS type_id
           FROM calls c
           JOIN counterparties cp ON cp.id = c.counterparty_id AND cp.deleted_at IS NULL
           JOIN users u ON u.id = cp.responsible_user_id AND u.deleted_at IS NULL
           JOIN task_types t ON lower(t.name) = 'call back'
           WHERE c.channel_id = $1 AND c.direction = 'incoming' AND c.status = 'missed'
           LIMIT 1""",
        channel_id, timezone)
