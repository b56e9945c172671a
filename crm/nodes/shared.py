"""The SQL of what the PBX nodes share besides their word (issue 26): every node's phones with their
states and holds (phone_presence), and the round robin queues' turns (queue_turns). Each write NOTIFYs
SHARED_CHANNEL with what changed, as JSON, so the other nodes' apps know it within milliseconds."""

from __future__ import annotations

import json

import asyncpg

SHARED_CHANNEL = "pbxcrm_node_shared"


async def _notify(conn: asyncpg.Connection, payload: dict) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", SHARED_CHANNEL, json.dumps(payload))


async def replace_phones(conn: asyncpg.Connection, node: str, states: dict[str, str]) -> None:
    """A node's phones as its Asterisk lists them now: the ones it lost go, the others are (re)written."""
    async with conn.transaction():
        await conn.execute("DELETE FROM phone_presence WHERE node = $1 AND NOT device = ANY($2::text[])",
                           node, list(states))
        await conn.execute(
            """INSERT INTO phone_presence (device, node, state)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
               ON CONFLICT (device) DO UPDATE SET node = EXCLUDED.node, state = EXCLUDED.state, updated_at = now()""",
            list(states), [node] * len(states), list(states.values()))
        await _notify(conn, {"node": node, "phones": "reload"})


async def set_state(conn: asyncpg.Connection, node: str, device: str, state: str) -> None:
    await conn.execute(
        """INSERT INTO phone_presence (device, node, state) VALUES ($1, $2, $3)
           ON CONFLICT (device) DO UPDATE SET node = EXCLUDED.node, state = EXCLUDED.state, updated_at = now()""",
        device, node, state)
    await _notify(conn, {"node": node, "device": device, "state": state})


async def set_held(conn: asyncpg.Connection, node: str, device: str, held: bool) -> None:
    """`node`'s call holds the phone now, or gave it back (only its own hold is taken off)."""
    if held:
        await conn.execute("UPDATE phone_presence SET held_by = $2, held_at = now() WHERE device = $1", device, node)
    else:
        await conn.execute(
            "UPDATE phone_presence SET held_by = NULL, held_at = NULL WHERE device = $1 AND held_by = $2", device, node)
    await _notify(conn, {"node": node, "device": device, "held": held})


async def release_all(conn: asyncpg.Connection, node: str) -> None:
    """A node (re)starting or stepping down holds nothing: its calls' holds died with them."""
    await conn.execute("UPDATE phone_presence SET held_by = NULL, held_at = NULL WHERE held_by = $1", node)
    await _notify(conn, {"node": node, "phones": "reload"})


async def phones(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT device, node, state, held_by FROM phone_presence")


async def set_turn(conn: asyncpg.Connection, node: str, queue_key: int, turn: int) -> None:
    """A round robin queue's turn: never back (two nodes' writes cross; the later turn stays)."""
    await conn.execute(
        """INSERT INTO queue_turns (queue_key, turn) VALUES ($1, $2)
           ON CONFLICT (queue_key) DO UPDATE SET turn = GREATEST(queue_turns.turn, EXCLUDED.turn)""",
        queue_key, turn)
    await _notify(conn, {"node": node, "queue": queue_key, "turn": turn})


async def turns(conn: asyncpg.Connection) -> dict[int, int]:
    return {r["queue_key"]: r["turn"] for r in await conn.fetch("SELECT queue_key, turn FROM queue_turns")}
