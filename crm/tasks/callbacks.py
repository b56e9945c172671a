"""A missed call from a known client becomes a callback task for its manager (H10).

One task per client per day, however often the client rings: the unique
index tasks_one_callback_per_day decides, so two app processes cannot double it.
"""

from __future__ import annotations

import asyncpg

from crm import notifications


async def create_for_missed_call(conn: asyncpg.Connection, channel_id: str, timezone: str) -> int | None:
    """The new task's id, or None (answered, unknown caller, no manager, or today's task exists)."""
    async with conn.transaction():
        task_id = await _insert(conn, channel_id, timezone)
        if task_id is not None:
            task = await conn.fetchrow("SELECT title, remark, responsible_user_id FROM tasks WHERE id = $1", task_id)
            await notifications.queue(conn, task["responsible_user_id"], "missed_call", task["title"],
                                      task["remark"], f"/tasks/{task_id}")
    return task_id


async def _insert(conn: asyncpg.Connection, channel_id: str, timezone: str) -> int | None:
    return await conn.fetchval(
        # due_notified_at: the missed-call notice is the reminder; no second one for "due today".
        """INSERT INTO tasks (title, type_id, responsible_user_id, counterparty_id, call_id, deadline_date,
                              remark, callback_for_date, due_notified_at)
           SELECT 'Call back ' || cp.display_name, t.id, cp.responsible_user_id, cp.id, c.id,
                  (c.started_at AT TIME ZONE $2)::date,
                  'Missed call from ' || c.caller_number || ' at ' || to_char(c.started_at AT TIME ZONE $2, 'HH24:MI'),
                  (c.started_at AT TIME ZONE $2)::date, now()
           FROM calls c
           JOIN counterparties cp ON cp.id = c.counterparty_id AND cp.deleted_at IS NULL
           JOIN users u ON u.id = cp.responsible_user_id AND u.deleted_at IS NULL
           JOIN task_types t ON lower(t.name) = 'call back'
           WHERE c.channel_id = $1 AND c.direction = 'incoming' AND c.status = 'missed'
           ON CONFLICT (counterparty_id, callback_for_date) WHERE callback_for_date IS NOT NULL DO NOTHING
           RETURNING id""",
        channel_id, timezone)
