"""Notes on clients, companies and tasks (B1, B3)."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.errors import ValidationError
from crm.i18n import _

MAX_NOTE = 10_000


async def add_note(conn: asyncpg.Connection, user, *, body: str, counterparty_id: int | None = None,
                   task_id: int | None = None) -> int:
    body = body.strip()
    if not 0 < len(body) <= MAX_NOTE:
        raise ValidationError({"body": _("a note is 1 to %(num)d characters") % {"num": MAX_NOTE}})
    async with conn.transaction():
        note_id = await conn.fetchval(
            "INSERT INTO notes (counterparty_id, task_id, author_user_id, body) VALUES ($1, $2, $3, $4) RETURNING id",
            counterparty_id, task_id, user["id"], body)
        await audit.record(conn, user["id"], "note", note_id, "create", audit.created(
            {"counterparty_id": counterparty_id, "task_id": task_id, "body": body}))
        if counterparty_id is not None:  # on the card's own history too
            await audit.record(conn, user["id"], "counterparty", counterparty_id, "add note", {"note": [None, body]})
    return note_id


async def notes_of_task(conn: asyncpg.Connection, task_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT n.id, n.body, n.created_at, u.full_name AS author FROM notes n
           LEFT JOIN users u ON u.id = n.author_user_id
           WHERE n.task_id = $1 AND n.deleted_at IS NULL ORDER BY n.created_at DESC""", task_id)
