"""The nodes' words in pbx_nodes (issue 26): a node's app says it lives (say), the web reads them all."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg

from crm.nodes import CHANNEL, NAME_PATTERN
from crm.nodes.state import POLICY, Facts, NodeState, Policy, node_states

_NAME = re.compile(NAME_PATTERN)

# up_since is set when the node becomes connected, down_since when it becomes disconnected. A word
# after a silence (the app restarted, or its database link came back) starts afresh: what the row said
# before is stale, so the state it reports now begins now. A first word starts it too.
_SAY = """
INSERT INTO pbx_nodes AS n (name, ari_url, connected, seen_at, up_since, down_since, calls_now)
VALUES ($1, $2, $3, now(), CASE WHEN $3 THEN now() END, CASE WHEN NOT $3 THEN now() END, $4)
ON CONFLICT (name) DO UPDATE SET
    ari_url = EXCLUDED.ari_url,
    connected = EXCLUDED.connected,
    seen_at = now(),
    up_since = CASE WHEN EXCLUDED.connected
                     AND (NOT n.connected OR n.up_since IS NULL OR n.seen_at < now() - $5::interval)
                    THEN now() ELSE n.up_since END,
    down_since = CASE WHEN NOT EXCLUDED.connected
                       AND (n.connected OR n.down_since IS NULL OR n.seen_at < now() - $5::interval)
                      THEN now() ELSE n.down_since END,
    calls_now = EXCLUDED.calls_now
RETURNING n.name, n.ari_url, n.connected, n.seen_at, n.up_since, n.down_since, n.calls_now
"""


def _facts(row: asyncpg.Record) -> Facts:
    return Facts(name=row["name"], ari_url=row["ari_url"], connected=row["connected"], seen_at=row["seen_at"],
                 up_since=row["up_since"], down_since=row["down_since"], calls_now=row["calls_now"])


async def say(conn: asyncpg.Connection, name: str, ari_url: str, connected: bool, calls_now: int, *,
              policy: Policy = POLICY) -> Facts:
    """The node's word that it lives: whether its Asterisk answers, and its calls now. NOTIFYs CHANNEL
    with the node's name when the write commits (the wallboards look again)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a node's name is {NAME_PATTERN}, not {name!r}")
    async with conn.transaction():
        row = await conn.fetchrow(_SAY, name, ari_url, connected, max(0, calls_now), policy.silent_after)
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, name)
    assert row is not None
    return _facts(row)


async def list_nodes(conn: asyncpg.Connection) -> list[Facts]:
    rows = await conn.fetch("SELECT name, ari_url, connected, seen_at, up_since, down_since, calls_now "
                            "FROM pbx_nodes ORDER BY name")
    return [_facts(r) for r in rows]


async def current(conn: asyncpg.Connection, now: dt.datetime | None = None,
                  policy: Policy = POLICY) -> list[NodeState]:
    """Every node's state now (on the database's clock, as the words' times)."""
    rows = await list_nodes(conn)
    if not rows:
        return []
    now = now or await conn.fetchval("SELECT now()")
    assert now is not None
    return node_states(rows, now, policy)


async def first_up(conn: asyncpg.Connection, policy: Policy = POLICY) -> str | None:
    """The first node by name whose Asterisk answers and whose word is fresh: the one that runs what must
    run once for all the nodes (the campaign dialer, ari_app/campaigns/). None when none is up."""
    return await conn.fetchval(
        "SELECT name FROM pbx_nodes WHERE connected AND seen_at > now() - $1::interval ORDER BY name LIMIT 1",
        policy.silent_after)
