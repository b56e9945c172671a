"""Counterparty statuses kept by the admin (issue 20, A4): add, rename, reorder, archive, and
delete one no card has. Built-ins have a code translated by the catalogue (crm/labels.py
COUNTERPARTY_STATUS) until the admin renames them; the admin's own are named as typed."""

from __future__ import annotations

import asyncpg

from crm import audit
from crm.agents.state import moved
from crm.errors import Conflict, NotFound, ValidationError
from crm.i18n import _
from crm.labels import label

DEFAULT = "active"  # a new card's status: never archived nor deleted
NAME_MAX = 40


def _words(row) -> str:
    return row["name"] or label("counterparty_status", row["code"])


async def list_statuses(conn: asyncpg.Connection, *, with_uses: bool = False) -> list[dict]:
    """Every status in the admin's order, archived ones too, each with its words in the reader's language."""
    uses = "(SELECT count(*) FROM counterparties c WHERE c.status = s.code)" if with_uses else "0"
    rows = await conn.fetch(f"SELECT id, code, name, archived, {uses} AS uses FROM counterparty_statuses s "
                            "ORDER BY position, id")
    return [{**dict(r), "words": _words(r)} for r in rows]


async def names(conn: asyncpg.Connection) -> dict[str, str]:
    """code -> words, for lists, cards and exports."""
    return {r["code"]: r["words"] for r in await list_statuses(conn)}


async def check(conn: asyncpg.Connection, code: str, current: str | None = None) -> None:
    """A card may take a live status, or keep the archived one it has."""
    archived = await conn.fetchval("SELECT archived FROM counterparty_statuses WHERE code = $1", code)
    if archived is None or (archived and code != current):
        live = [r["code"] for r in await list_statuses(conn) if not r["archived"]]
        # Named by their codes, as the API takes them.
        raise ValidationError({"status": _("must be one of %(values)s") % {"values": ", ".join(live)}})


async def by_words(conn: asyncpg.Connection) -> dict[str, str]:
    """Lower-cased code or words -> code, for imports (a live status by either)."""
    out: dict[str, str] = {}
    for r in await list_statuses(conn):
        if not r["archived"]:
            out[r["code"].lower()] = out[r["words"].lower()] = r["code"]
    return out


def _clean(name: str) -> str:
    name = name.strip()
    if not 0 < len(name) <= NAME_MAX:
        raise ValidationError({"name": _("a status is 1 to %(num)d characters") % {"num": NAME_MAX}})
    return name


async def _row(conn: asyncpg.Connection, status_id: int):
    row = await conn.fetchrow("SELECT id, code, name, archived FROM counterparty_statuses WHERE id = $1 FOR UPDATE",
                              status_id)
    if row is None:
        raise NotFound(_("no such status"))
    return row


async def add(conn: asyncpg.Connection, user_id: int, name: str) -> int:
    name = _clean(name)
    async with conn.transaction():
        if name.lower() in {r["words"].lower() for r in await list_statuses(conn)}:
            raise Conflict(_("a status called %(name)s exists already") % {"name": repr(name)})
        status_id = await conn.fetchval(
            """WITH n AS (SELECT nextval(pg_get_serial_sequence('counterparty_statuses', 'id')) AS id)
               INSERT INTO counterparty_statuses (id, code, name, position)
               SELECT n.id, 's' || n.id, $1, (SELECT coalesce(max(position), 0) + 1 FROM counterparty_statuses)
               FROM n RETURNING id""", name)
        await audit.record(conn, user_id, "counterparty_status", status_id, "create", {"name": [None, name]})
    return status_id


async def rename(conn: asyncpg.Connection, user_id: int, status_id: int, name: str) -> None:
    name = _clean(name)
    async with conn.transaction():
        row = await _row(conn, status_id)
        if name.lower() in {r["words"].lower() for r in await list_statuses(conn) if r["id"] != status_id}:
            raise Conflict(_("a status called %(name)s exists already") % {"name": repr(name)})
        if name != _words(row):
            await conn.execute("UPDATE counterparty_statuses SET name = $2 WHERE id = $1", status_id, name)
            await audit.record(conn, user_id, "counterparty_status", status_id, "update",
                               {"name": [_words(row), name]})


async def archive(conn: asyncpg.Connection, user_id: int, status_id: int, archived: bool) -> None:
    async with conn.transaction():
        row = await _row(conn, status_id)
        if row["code"] == DEFAULT and archived:
            raise Conflict(_("new cards take the status %(name)s: it cannot be archived") % {"name": _words(row)})
        if row["archived"] != archived:
            await conn.execute("UPDATE counterparty_statuses SET archived = $2 WHERE id = $1", status_id, archived)
            await audit.record(conn, user_id, "counterparty_status", status_id, "update",
                               {"archived": [row["archived"], archived]})


async def delete(conn: asyncpg.Connection, user_id: int, status_id: int) -> None:
    """Only a status no card has (archive one in use instead)."""
    async with conn.transaction():
        row = await _row(conn, status_id)
        uses = await conn.fetchval("SELECT count(*) FROM counterparties WHERE status = $1", row["code"])
        if row["code"] == DEFAULT or uses:
            raise Conflict(_("the status %(name)s is in use: archive it instead") % {"name": _words(row)})
        await conn.execute("DELETE FROM counterparty_statuses WHERE id = $1", status_id)
        await audit.record(conn, user_id, "counterparty_status", status_id, "delete", {"name": [_words(row), None]})


async def move(conn: asyncpg.Connection, user_id: int, status_id: int, steps: int) -> None:
    async with conn.transaction():
        rows = await conn.fetch("SELECT id, position FROM counterparty_statuses ORDER BY position, id FOR UPDATE")
        before = {r["id"]: r["position"] for r in rows}
        if status_id not in before:
            raise NotFound(_("no such status"))
        for position, moved_id in enumerate(moved([r["id"] for r in rows], status_id, steps), 1):
            if before[moved_id] != position:
                await conn.execute("UPDATE counterparty_statuses SET position = $2 WHERE id = $1", moved_id, position)
                await audit.record(conn, user_id, "counterparty_status", moved_id, "move",
                                   {"position": [before[moved_id], position]})
