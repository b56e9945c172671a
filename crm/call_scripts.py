"""Call scripts (H5, issue 20): what an operator says on a call, per queue and per tag. The screen pop
shows the script of the queue the call came through and those of the caller's counterparty's tags."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.errors import NotFound, ValidationError
from crm.i18n import _

SCRIPT_MAX = 4000
TARGETS = ("queue", "tag")
_TABLE = {"queue": "queues", "tag": "tags"}


async def all_scripts(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """Every queue and tag with its script ("" for none), for the admin's page."""
    return {
        "queue": await conn.fetch("SELECT id, name, call_script FROM queues WHERE deleted_at IS NULL ORDER BY name"),
        "tag": await conn.fetch("SELECT id, name, call_script FROM tags ORDER BY name"),
    }


async def scripts_by_id(conn: asyncpg.Connection, target: str) -> dict[int, str]:
    """Each queue's or tag's script by its id, for the queue's and the tag's own edit forms."""
    if target not in TARGETS:
        raise NotFound(_("no such page"))
    return {r["id"]: r["call_script"] for r in await conn.fetch(f"SELECT id, call_script FROM {_TABLE[target]}")}


async def set_script(conn: asyncpg.Connection, user_id: int, target: str, target_id: int, text: str, *,
                     address: str | None = None) -> None:
    text = text.replace("\r\n", "\n").strip()
    if target not in TARGETS:
        raise NotFound(_("no such page"))
    if len(text) > SCRIPT_MAX:
        raise ValidationError({"call_script": _("at most %(count)s characters") % {"count": SCRIPT_MAX}})
    async with conn.transaction():
        before = await conn.fetchval(f"SELECT call_script FROM {_TABLE[target]} WHERE id = $1 FOR UPDATE", target_id)
        if before is None:
            raise NotFound(_("no such page"))
        if before == text:
            return
        await conn.execute(f"UPDATE {_TABLE[target]} SET call_script = $2 WHERE id = $1", target_id, text)
        await audit.record(conn, user_id, target, target_id, "call script", {"call_script": [before, text]},
                           address=address)


async def scripts_for(conn: asyncpg.Connection, queue_id: int | None, counterparty_id: int | None) -> list[dict]:
    """The scripts for a call through this queue from this counterparty: the queue's, then its tags'."""
    rows = await conn.fetch(
        """SELECT 'queue' AS source, name, call_script FROM queues WHERE id = $1 AND call_script <> ''
           UNION ALL
           (SELECT 'tag', t.name, t.call_script FROM tags t
            JOIN counterparty_tags ct ON ct.tag_id = t.id AND ct.counterparty_id = $2
            WHERE t.call_script <> '' ORDER BY lower(t.name))""", queue_id, counterparty_id)
    return [{"source": r["source"], "name": r["name"], "text": r["call_script"]} for r in rows]
