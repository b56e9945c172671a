"""TEMPORARY (the nodesweb branch brings the real one): a node's word."""
from __future__ import annotations

import asyncpg

CHANNEL = "pbxcrm_nodes"
HEARTBEAT_SECONDS = 5


async def say(conn: asyncpg.Connection, name: str, ari_url: str, connected: bool, calls_now: int) -> None:
    await conn.execute(
        """INSERT INTO pbx_nodes AS n (name, ari_url, connected, seen_at, calls_now, up_since, down_since)
           VALUES ($1, $2, $3, now(), $4, CASE WHEN $3 THEN now() END, CASE WHEN NOT $3 THEN now() END)
           ON CONFLICT (name) DO UPDATE SET ari_url = $2, connected = $3, seen_at = now(), calls_now = $4,
               up_since = CASE WHEN $3 AND NOT n.connected THEN now() ELSE n.up_since END,
               down_since = CASE WHEN NOT $3 AND n.connected THEN now() ELSE n.down_since END""",
        name, ari_url, connected, calls_now)
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, name)
