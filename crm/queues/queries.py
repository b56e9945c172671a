"""SQL for queues and their members."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.errors import Conflict, NotFound
from crm.i18n import _
from crm.queues.model import THRESHOLDS, QueueInput, QueueMember, QueueSettings

_THRESHOLDS = ", ".join(THRESHOLDS)

_MEMBERS = """
    SELECT m.queue_id, u.id, u.full_name, u.extension FROM queue_members m
    JOIN users u ON u.id = m.user_id
    WHERE m.queue_id = ANY($1::bigint[]) AND u.deleted_at IS NULL AND NOT u.is_blocked AND u.extension IS NOT NULL
    ORDER BY m.queue_id, m.position, u.id
"""


async def list_queues(conn: asyncpg.Connection) -> list[QueueSettings]:
    rows = await conn.fetch("""SELECT id, name, strategy, ring_seconds, max_wait_seconds, moh_class, is_default, offer,
                                      wrapup_seconds, """ + _THRESHOLDS + """
                               FROM queues WHERE deleted_at IS NULL ORDER BY is_default DESC, lower(name)""")
    members: dict[int, list[QueueMember]] = {}
    for m in await conn.fetch(_MEMBERS, [r["id"] for r in rows]):
        members.setdefault(m["queue_id"], []).append(QueueMember(m["id"], m["full_name"], m["extension"]))
    return [QueueSettings(**dict(r), members=tuple(members.get(r["id"], ()))) for r in rows]


async def member_ids(conn: asyncpg.Connection, queue_id: int) -> list[int]:
    return [r["user_id"] for r in await conn.fetch(
        "SELECT user_id FROM queue_members WHERE queue_id = $1 ORDER BY position, user_id", queue_id)]


async def queue_ids_of(conn: asyncpg.Connection, user_id: int) -> set[int]:
    """The live queues this user is a member of."""
    return {r["queue_id"] for r in await conn.fetch(
        """SELECT m.queue_id FROM queue_members m JOIN queues q ON q.id = m.queue_id AND q.deleted_at IS NULL
           WHERE m.user_id = $1""", user_id)}


async def save_queue(conn: asyncpg.Connection, user_id: int, queue_id: int | None, inp: QueueInput) -> int:
    inp = inp.cleaned()
    after = {"name": inp.name, "strategy": inp.strategy, "ring_seconds": inp.ring_seconds,
             "max_wait_seconds": inp.max_wait_seconds, "moh_class": inp.moh_class, "offer": inp.offer,
             "wrapup_seconds": inp.wrapup_seconds, **{k: getattr(inp, k) for k in THRESHOLDS},
             "members": list(inp.member_ids)}
    thresholds = [getattr(inp, k) for k in THRESHOLDS]
    try:
        async with conn.transaction():
            before = await _audited(conn, queue_id) if queue_id is not None else None
            if queue_id is None:
                queue_id = await conn.fetchval(
                    """INSERT INTO queues (name, strategy, ring_seconds, max_wait_seconds, moh_class, offer,
                                          wrapup_seconds, """ + _THRESHOLDS + """)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id""",
                    inp.name, inp.strategy, inp.ring_seconds, inp.max_wait_seconds, inp.moh_class, inp.offer,
                    inp.wrapup_seconds, *thresholds)
            else:
                status = await conn.execute(
                    """UPDATE queues SET name = $2, strategy = $3, ring_seconds = $4, max_wait_seconds = $5,
                              moh_class = $6, offer = $7, wrapup_seconds = $8, service_level_seconds = $9,
                              wait_amber_seconds = $10, wait_red_seconds = $11, level_amber_percent = $12,
                              level_red_percent = $13 WHERE id = $1 AND deleted_at IS NULL""",
                    queue_id, inp.name, inp.strategy, inp.ring_seconds, inp.max_wait_seconds, inp.moh_class,
                    inp.offer, inp.wrapup_seconds, *thresholds)
                if status == "UPDATE 0":
                    raise NotFound(_("no queue %(id)d") % {"id": queue_id})
            await conn.execute("DELETE FROM queue_members WHERE queue_id = $1", queue_id)
            await conn.executemany(
                "INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, $3)",
                [(queue_id, uid, pos) for pos, uid in enumerate(inp.member_ids)])
            changes = audit.diff(before, after)
            if changes:
                await audit.record(conn, user_id, "queue", queue_id, "create" if before is None else "update",
                                   changes)
    except asyncpg.UniqueViolationError:
        raise Conflict(_("a queue called %(name)s exists already") % {"name": repr(inp.name)}) from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(_("a member is not a user")) from None
    return queue_id


async def _audited(conn: asyncpg.Connection, queue_id: int) -> dict | None:
    row = await conn.fetchrow("SELECT name, strategy, ring_seconds, max_wait_seconds, moh_class, offer, "
                              "wrapup_seconds, " + _THRESHOLDS + " FROM queues WHERE id = $1 AND deleted_at IS NULL",
                              queue_id)
    return {**dict(row), "members": await member_ids(conn, queue_id)} if row else None


async def delete_queue(conn: asyncpg.Connection, user_id: int, queue_id: int) -> None:
    async with conn.transaction():
        row = await conn.fetchrow("SELECT is_default, name FROM queues WHERE id = $1 AND deleted_at IS NULL", queue_id)
        if row is None:
            raise NotFound(_("no queue %(id)d") % {"id": queue_id})
        if row["is_default"]:
            raise Conflict(_("the default queue cannot be deleted: every route ends there"))
        await conn.execute("UPDATE queues SET deleted_at = now() WHERE id = $1", queue_id)
        await audit.record(conn, user_id, "queue", queue_id, "delete", audit.deleted({"name": row["name"]}))
