"""Notes on clients, companies and tasks (B1, B3)."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.errors import Forbidden, NotFound, ValidationError
from crm.i18n import _
from crm.roles import sees_everything

MAX_NOTE = 10_000


async def add_note(conn: asyncpg.Connection, user, *, body: str, counterparty_id: int | None = None,
                   task_id: int | None = None) -> int:
    body = _checked_body(body)
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
        """SELECT n.id, n.body, n.created_at, n.author_user_id, u.full_name AS author FROM notes n
           LEFT JOIN users u ON u.id = n.author_user_id
           WHERE n.task_id = $1 AND n.deleted_at IS NULL ORDER BY n.created_at DESC""", task_id)


def can_change(user, note) -> bool:
    """A note is changed or deleted by its author, or by a supervisor or admin (B3)."""
    return sees_everything(user) or (note["author_user_id"] is not None and note["author_user_id"] == user["id"])


async def get_note(conn: asyncpg.Connection, note_id: int) -> asyncpg.Record | None:
    """A live note with its author's name, and the card or task it is on (whose rights decide who reads it)."""
    return await conn.fetchrow(
        """SELECT n.id, n.body, n.created_at, n.updated_at, n.author_user_id, u.full_name AS author,
                  n.counterparty_id, cp.display_name AS counterparty_name, n.task_id, t.title AS task_title
           FROM notes n LEFT JOIN users u ON u.id = n.author_user_id
           LEFT JOIN counterparties cp ON cp.id = n.counterparty_id
           LEFT JOIN tasks t ON t.id = n.task_id
           WHERE n.id = $1 AND n.deleted_at IS NULL""", note_id)


def _checked_body(body: str) -> str:
    body = body.strip()
    if not 0 < len(body) <= MAX_NOTE:
        raise ValidationError({"body": _("a note is 1 to %(num)d characters") % {"num": MAX_NOTE}})
    return body


async def change_note(conn: asyncpg.Connection, user, note_id: int, body: str) -> None:
    """A new text for the note, audited {body: [old, new]} (and on its card's history)."""
    body = _checked_body(body)
    async with conn.transaction():
        note = await conn.fetchrow("SELECT body, author_user_id, counterparty_id FROM notes "
                                   "WHERE id = $1 AND deleted_at IS NULL FOR UPDATE", note_id)
        if note is None:
            raise NotFound(_("no note %(number)d") % {"number": note_id})
        if not can_change(user, note):
            raise Forbidden(_("only the note's author, a supervisor or an admin may change it"))
        if note["body"] == body:
            return
        await conn.execute("UPDATE notes SET body = $2, updated_at = now() WHERE id = $1", note_id, body)
        await audit.record(conn, user["id"], "note", note_id, "update", {"body": [note["body"], body]})
        if note["counterparty_id"] is not None:
            await audit.record(conn, user["id"], "counterparty", note["counterparty_id"], "change note",
                               {"note": [note["body"], body]})


async def delete_note(conn: asyncpg.Connection, user, note_id: int) -> None:
    """The note gone from the card and the task (kept, marked deleted), audited {body: [text, None]}."""
    async with conn.transaction():
        note = await conn.fetchrow("SELECT body, author_user_id, counterparty_id FROM notes "
                                   "WHERE id = $1 AND deleted_at IS NULL FOR UPDATE", note_id)
        if note is None:
            raise NotFound(_("no note %(number)d") % {"number": note_id})
        if not can_change(user, note):
            raise Forbidden(_("only the note's author, a supervisor or an admin may delete it"))
        await conn.execute("UPDATE notes SET deleted_at = now(), updated_at = now() WHERE id = $1", note_id)
        await audit.record(conn, user["id"], "note", note_id, "delete", {"body": [note["body"], None]})
        if note["counterparty_id"] is not None:
            await audit.record(conn, user["id"], "counterparty", note["counterparty_id"], "delete note",
                               {"note": [note["body"], None]})
