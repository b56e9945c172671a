"""SQL for greetings: the list with who uses each, one greeting, adding and deleting."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import gettext as _

_USERS = """
    SELECT 'line' AS kind, l.name FROM lines l WHERE l.greeting_id = $1 AND l.deleted_at IS NULL
    UNION ALL
    SELECT 'menu', m.name FROM ivr_menus m WHERE m.greeting_id = $1 AND m.deleted_at IS NULL
    ORDER BY 1, 2
"""


async def list_greetings(conn: asyncpg.Connection) -> list[dict]:
    """Every greeting, newest first, each with the lines and menus that play it (`used_by`)."""
    rows = [dict(r) for r in await conn.fetch("""
        SELECT g.*, u.full_name AS created_by_name,
               coalesce((SELECT array_agg(l.name ORDER BY lower(l.name)) FROM lines l
                         WHERE l.greeting_id = g.id AND l.deleted_at IS NULL), '{}') AS lines,
               coalesce((SELECT array_agg(m.name ORDER BY lower(m.name)) FROM ivr_menus m
                         WHERE m.greeting_id = g.id AND m.deleted_at IS NULL), '{}') AS menus
        FROM greetings g LEFT JOIN users u ON u.id = g.created_by
        ORDER BY g.created_at DESC, g.id DESC""")]
    for r in rows:
        r["used"] = bool(r["lines"] or r["menus"])
    return rows


async def choices(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """(id, name) of every greeting, for a prompt's select."""
    return await conn.fetch("SELECT id, name FROM greetings ORDER BY lower(name), id")


async def get_greeting(conn: asyncpg.Connection, greeting_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM greetings WHERE id = $1", greeting_id)


async def name_taken(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM greetings WHERE lower(name) = lower($1)", name))


async def insert_greeting(conn: asyncpg.Connection, admin_id: int, *, name: str, file: str, original_name: str,
                          seconds: float) -> int:
    try:
        async with conn.transaction():
            greeting_id = await conn.fetchval(
                """INSERT INTO greetings (name, file, original_name, seconds, created_by)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id""", name, file, original_name, round(seconds, 2), admin_id)
            await audit.record(conn, admin_id, "greeting", greeting_id, "create",
                               {"name": name, "file": original_name, "seconds": round(seconds, 1)})
    except asyncpg.UniqueViolationError:
        raise ValidationError({"name": _("a greeting named %(name)s exists already") % {"name": name}}) from None
    return greeting_id


async def used_by(conn: asyncpg.Connection, greeting_id: int) -> list[tuple[str, str]]:
    """(kind, name) of the live lines and menus that play this greeting."""
    return [(r["kind"], r["name"]) for r in await conn.fetch(_USERS, greeting_id)]


async def delete_greeting(conn: asyncpg.Connection, admin_id: int, greeting_id: int) -> str:
    """Delete a greeting nobody plays; its file's name, for the caller to remove the file."""
    async with conn.transaction():
        row = await conn.fetchrow("SELECT name, file FROM greetings WHERE id = $1 FOR UPDATE", greeting_id)
        if row is None:
            raise NotFound(_("no greeting %(id)s") % {"id": greeting_id})
        users = await used_by(conn, greeting_id)
        if users:
            names = ", ".join((_("line %(name)s") if kind == "line" else _("menu %(name)s")) % {"name": name}
                              for kind, name in users)
            raise Conflict(_("greeting %(name)s is played by %(users)s: choose another prompt there first") % {
                "name": row["name"], "users": names})
        # A deleted line or menu may still name it: they keep their history, not the greeting.
        await conn.execute("UPDATE lines SET greeting_id = NULL WHERE greeting_id = $1", greeting_id)
        await conn.execute("UPDATE ivr_menus SET greeting_id = NULL WHERE greeting_id = $1", greeting_id)
        await conn.execute("DELETE FROM greetings WHERE id = $1", greeting_id)
        await audit.record(conn, admin_id, "greeting", greeting_id, "delete", {"name": row["name"]})
    return row["file"]
