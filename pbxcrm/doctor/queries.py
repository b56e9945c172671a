"""The doctor's reads of the CRM's database: migrations, users' phones, trunks in use, CEL."""

from __future__ import annotations

import asyncpg

from crm.dialing.technology import dials, phone_dial
from pbxcrm.doctor.facts import CelFacts, UserPhone


async def applied_migrations(conn: asyncpg.Connection) -> frozenset[int]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return frozenset()
    return frozenset(r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations"))


async def user_phones(conn: asyncpg.Connection) -> list[UserPhone]:
    """Every active user with an extension, and where their phones are rung: one row per phone (the
    desk's, the browser's webrtc-<extension> when their phone mode has it, issue 19)."""
    rows = await conn.fetch("""SELECT login, extension, dial, phone_mode FROM users
                               WHERE deleted_at IS NULL AND NOT is_blocked AND extension IS NOT NULL
                               ORDER BY extension""")
    return [UserPhone(r["login"], r["extension"], part) for r in rows
            for part in dials(phone_dial(r["extension"], r["dial"], r["phone_mode"]))]


async def trunks_in_use(conn: asyncpg.Connection) -> dict[str, list[tuple[str, str]]]:
    """Trunks that dial rules and lines name: trunk -> what names it, [("rule", "810."), ("line", "Office")]."""
    rows = await conn.fetch("""SELECT trunk, 'rule' AS kind, pattern AS name FROM dial_rules WHERE trunk IS NOT NULL
                               UNION ALL
                               SELECT trunk, 'line', name FROM lines WHERE deleted_at IS NULL
                               ORDER BY 1, 2, 3""")
    out: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        out.setdefault(r["trunk"], []).append((r["kind"], r["name"]))
    return out


async def cel(conn: asyncpg.Connection, cel_conn: asyncpg.Connection, table: str) -> CelFacts | None:
    """The newest CEL row (in `table`, on `cel_conn`: settings.cel_database_url, else the CRM's own)
    and the newest logged call, or None when there is no such table. `table` is checked by
    crm/settings.py (a table name, maybe with its schema)."""
    if not table or await cel_conn.fetchval("SELECT to_regclass($1)", table) is None:
        return None
    newest_event = await cel_conn.fetchval(
        f"SELECT extract(epoch FROM eventtime)::float8 FROM {table} ORDER BY eventtime DESC LIMIT 1")
    row = await conn.fetchrow("""SELECT extract(epoch FROM now())::float8 AS now,
                                        (SELECT extract(epoch FROM started_at)::float8 FROM calls
                                         ORDER BY started_at DESC LIMIT 1) AS newest_call""")
    return CelFacts(table, newest_event, row["newest_call"], row["now"])
